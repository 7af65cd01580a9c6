"""What the review page shows: ``ReviewFilter`` (category, status, flag, a score range and
the page, built only from checked query values) and ``ReviewView``, one page of the filtered
pictures grouped by category."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

from ganpage.gallery import STATUSES, ImageRecord
from ganpage.web.conventions import SLUG

PER_PAGE = 120  # pictures on one page of the review
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # flag and score names in a filter
NO_FLAG = "none"  # the flag filter's value for "pictures without any flag"


def numeric_scores(record: ImageRecord) -> dict[str, float]:
    """The record's numeric scores, one level of nesting spelt ``outer.inner``."""
    scores: dict[str, float] = {}
    for name, value in record.scores.items():
        inner = value if isinstance(value, dict) else {"": value}
        for key, number in inner.items():
            if isinstance(number, int | float) and not isinstance(number, bool):
                scores[f"{name}.{key}" if key else name] = float(number)
    return scores


@dataclass(frozen=True)
class ReviewFilter:
    """What the review page shows: filters by category, status, flag and a score range, and
    the page. Built only from checked query values; ``query()`` spells it back."""

    category: str = ""
    status: str = ""
    flag: str = ""  # a flag name, or NO_FLAG for pictures without any
    score: str = ""  # a score name: shown pictures have it (within min..max), lowest first
    min: float | None = None
    max: float | None = None
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ReviewFilter:
        """The filter a query asks for; a 400 naming the first bad value."""
        values: dict[str, object] = {}
        checks = {"category": SLUG, "flag": NAME, "score": NAME}
        for name, pattern in checks.items():
            if params.get(name):
                values[name] = _matching(name, params[name], pattern)
        if params.get("status"):
            if params["status"] not in STATUSES:
                raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}")
            values["status"] = params["status"]
        for bound in ("min", "max"):
            if params.get(bound):
                values[bound] = _number(bound, params[bound])
        if params.get("page"):
            raw = params["page"]
            if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) < 1:
                raise HTTPException(400, "page must be a whole number from 1")
            values["page"] = int(raw)
        return cls(**values)  # type: ignore[arg-type]

    def keeps(self, record: ImageRecord) -> bool:
        if self.category and record.category != self.category:
            return False
        if self.status and record.status != self.status:
            return False
        if self.flag and (record.flags if self.flag == NO_FLAG else self.flag not in record.flags):
            return False
        if self.score:
            value = numeric_scores(record).get(self.score)
            if value is None or (self.min is not None and value < self.min):
                return False
            if self.max is not None and value > self.max:
                return False
        return True

    def query(self, **changes: object) -> str:
        """The query string of this filter (with ``changes``), defaults left out."""
        chosen = replace(self, **changes)  # type: ignore[arg-type]
        pairs = [(f.name, getattr(chosen, f.name)) for f in fields(chosen)]
        return urlencode([(k, v) for k, v in pairs
                          if v not in ("", None) and (k, v) != ("page", 1)])


def _matching(name: str, value: str, pattern: re.Pattern) -> str:
    if not pattern.fullmatch(value):
        raise HTTPException(400, f"{name} {value[:40]!r} is not a valid {name} name")
    return value


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or len(raw) > 32:
        raise HTTPException(400, f"{name} must be a number, like 0.5")
    return value


@dataclass
class ReviewView:
    """One page of the review: the filtered pictures grouped by category, and the choices the
    filter form offers."""

    groups: list[tuple[str, str, int, list[ImageRecord]]]  # (slug, name, matching, shown)
    total: int
    more: bool
    counts: dict[str, int]
    categories: list[tuple[str, str]]
    flags: list[str]
    score_names: list[str]

    @classmethod
    def of(cls, records: list[ImageRecord], chosen: ReviewFilter) -> ReviewView:
        kept = [r for r in records if chosen.keeps(r)]
        if chosen.score:
            kept.sort(key=lambda r: numeric_scores(r)[chosen.score])
        kept.sort(key=lambda r: r.category_name.lower())  # stable: score order within each
        per_category: dict[str, int] = {}
        for record in kept:
            per_category[record.category] = per_category.get(record.category, 0) + 1
        start = (chosen.page - 1) * PER_PAGE
        groups: dict[str, tuple[str, str, int, list[ImageRecord]]] = {}
        for record in kept[start:start + PER_PAGE]:
            group = groups.setdefault(record.category, (
                record.category, record.category_name, per_category[record.category], []))
            group[3].append(record)
        counts = {status: sum(r.status == status for r in records) for status in STATUSES}
        names = {r.category: r.category_name for r in records}
        return cls(list(groups.values()), len(kept), len(kept) > start + PER_PAGE, counts,
                   sorted(names.items(), key=lambda item: item[1].lower()),
                   sorted({f for r in records for f in r.flags}),
                   sorted({s for r in records for s in numeric_scores(r)}))
