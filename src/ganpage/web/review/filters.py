"""What the review page shows: ``ReviewFilter`` (category, status, flag, a score range and
the page, built only from checked query values) and ``ReviewView``, one page of the filtered
pictures grouped by category, read from the index's listings (``Gallery.selected_*``) so
that a view costs about the same in a gallery of any size, and ``Census``, what the filter
form offers (categories, flags, score names) and the counts of each status."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

from ganpage.gallery import STATUSES, Gallery, ImageRecord
from ganpage.listings import Selection
from ganpage.web.conventions import SLUG

PER_PAGE = 120  # pictures on one page of the review
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # flag and score names in a filter
NO_FLAG = "none"  # the flag filter's value for "pictures without any flag"
SCORE_SAMPLE = 1000  # the form offers the score names of this many oldest and newest pictures
SCORED_KEPT = 16  # score filters whose counts a census keeps (paging reads them once)


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

    def selection(self) -> Selection:
        """The pictures this filter keeps, as the index's listings take them."""
        return Selection(category=self.category, status=self.status,
                         flag="" if self.flag == NO_FLAG else self.flag,
                         unflagged=self.flag == NO_FLAG, score=self.score, min=self.min,
                         max=self.max)

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


@dataclass(frozen=True)
class Census:
    """What the whole gallery holds, as the review's form shows it: pictures per (category,
    category name, status, flags), the categories by name, every flag, and the score names of
    a sample of ``SCORE_SAMPLE`` oldest and newest pictures (the whole gallery's when smaller);
    and the counts of the last ``SCORED_KEPT`` score filters. Read from indexes, not from every
    picture; ``ReviewDesk`` reads it again after another connection's change."""

    pictures: list[tuple[str, str, str, list[str], int]]  # (slug, name, status, flags, n)
    categories: list[tuple[str, str]]  # (slug, name), by name
    flags: list[str]
    score_names: list[str]
    scored: dict[Selection, dict[tuple[str, str], int]] = field(default_factory=dict,
                                                                compare=False)

    @classmethod
    def of(cls, gallery: Gallery) -> Census:
        parsed: dict[str, list[str]] = {}  # a few distinct flag lists among all pictures
        pictures = [(slug, name, status, parsed.setdefault(flags, _flag_list(flags)), n)
                    for slug, name, status, flags, n
                    in gallery.count_by_category_status_and_flags()]
        names: dict[str, set[str]] = {}
        for slug, name, *_ in pictures:
            names.setdefault(slug, set()).add(name)
        chosen = {slug: next(iter(found)) if len(found) == 1
                  else gallery.newest_category_name(slug) or min(found)
                  for slug, found in names.items()}
        return cls(pictures, _by_name(gallery, chosen),
                   sorted({f for flags in parsed.values() for f in flags}),
                   gallery.score_names(SCORE_SAMPLE))

    @property
    def score_names_sampled(self) -> bool:
        """True when the score names come from a sample, not from every picture."""
        return sum(n for *_, n in self.pictures) > 2 * SCORE_SAMPLE

    def counts(self) -> dict[str, int]:
        """Pictures of each status in the whole gallery."""
        counts = {status: 0 for status in STATUSES}
        for _, _, status, _, pictures in self.pictures:
            counts[status] += pictures
        return counts

    def selected(self, gallery: Gallery, chosen: Selection) -> dict[tuple[str, str], int]:
        """(slug, name) -> pictures that ``chosen`` keeps: counted here unless it names a
        score; then by the index, once for each page of that filter."""
        if chosen.score:
            if chosen not in self.scored:
                if len(self.scored) >= SCORED_KEPT:
                    self.scored.pop(next(iter(self.scored)))
                self.scored[chosen] = {(slug, name): n for slug, name, n
                                       in gallery.selected_counts(chosen)}
            return self.scored[chosen]
        counts: dict[tuple[str, str], int] = {}
        for slug, name, status, flags, pictures in self.pictures:
            if (chosen.category in ("", slug) and chosen.status in ("", status)
                    and chosen.keeps_flags(flags)):
                counts[(slug, name)] = counts.get((slug, name), 0) + pictures
        return counts

    def moved(self, before: list[ImageRecord], after: list[ImageRecord]) -> Census:
        """This census once pictures changed from ``before`` to ``after`` (a decision or its
        undo: no category, name or flag changes, so the choices stay)."""
        counts = {(slug, name, status, tuple(flags)): n
                  for slug, name, status, flags, n in self.pictures}
        for records, sign in ((before, -1), (after, 1)):
            for record in records:
                key = (record.category, record.category_name, record.status,
                       tuple(record.flags))
                counts[key] = counts.get(key, 0) + sign
        return replace(self, scored={}, pictures=[(slug, name, status, list(flags), n) for
                                                  (slug, name, status, flags), n
                                                  in counts.items() if n])


def _by_name(gallery: Gallery, names: dict[str, str]) -> list[tuple[str, str]]:
    """(slug, name) by name, case-insensitive; slugs whose names differ only in case by their
    oldest picture (in a gallery made by one model, none do)."""
    lowered: dict[str, int] = {}
    for name in names.values():
        lowered[name.lower()] = lowered.get(name.lower(), 0) + 1
    return sorted(names.items(), key=lambda item: (
        item[1].lower(), gallery.oldest_in_category(item[0]) if lowered[item[1].lower()] > 1
        else ("", "")))


def _flag_list(text: str) -> list[str]:
    flags = json.loads(text)
    return [f for f in flags if isinstance(f, str)] if isinstance(flags, list) else []


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
    score_names_sampled: bool = False  # the form says so

    @classmethod
    def of(cls, gallery: Gallery, chosen: ReviewFilter, census: Census) -> ReviewView:
        """The page ``chosen`` asks for: pictures by category name (case-insensitive), then
        by the chosen score, lowest first, then oldest first."""
        selection = chosen.selection()
        pairs = census.selected(gallery, selection)
        per_category: dict[str, int] = {}
        for (slug, _), pictures in pairs.items():
            per_category[slug] = per_category.get(slug, 0) + pictures
        start = (chosen.page - 1) * PER_PAGE
        shown = _page_records(gallery, selection, _name_blocks(pairs), start, start + PER_PAGE)
        groups: dict[str, tuple[str, str, int, list[ImageRecord]]] = {}
        for record in shown:
            group = groups.setdefault(record.category, (
                record.category, record.category_name, per_category[record.category], []))
            group[3].append(record)
        total = sum(pairs.values())
        return cls(list(groups.values()), total, total > start + PER_PAGE, census.counts(),
                   census.categories, census.flags, census.score_names,
                   census.score_names_sampled)


def _name_blocks(pairs: dict[tuple[str, str], int]) -> list[tuple[list[str], int]]:
    """The category names in the page's order, those equal but for case together: (names,
    pictures of them)."""
    blocks: dict[str, tuple[set[str], list[int]]] = {}
    for (_, name), pictures in pairs.items():
        names, count = blocks.setdefault(name.lower(), (set(), [0]))
        names.add(name)
        count[0] += pictures
    return [(sorted(blocks[key][0]), blocks[key][1][0]) for key in sorted(blocks)]


def _page_records(gallery: Gallery, selection: Selection, blocks: list[tuple[list[str], int]],
                  start: int, end: int) -> list[ImageRecord]:
    """The pictures from ``start`` to ``end`` of the whole ordered listing, read block by block
    (only the blocks the page overlaps)."""
    shown: list[ImageRecord] = []
    position = 0
    for names, pictures in blocks:
        first, last = max(start, position), min(end, position + pictures)
        if first < last:
            shown += gallery.selected_records(selection, names, first - position, last - first)
        position += pictures
        if position >= end:
            break
    return shown
