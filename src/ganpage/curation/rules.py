"""Curation rules: which pictures a site shows, decided from their scores and flags.

In order: pictures flagged ``blank``, ``memorised``, ``unsure`` (or any flag in ``reject``) are
rejected;
then whole categories whose median class probability is below ``min_category_median``; then
pictures below ``min_class_score``; then, best first (pictures a person approved, then by class
probability), each picture is kept unless its near-duplicate group already kept one or its
category already kept its ``top_k``. The kept are approved. Each decision is recorded as
``rule:<name>``; a person's decision (review page, ``gallery approve``) is never changed.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass, fields, replace
from pathlib import Path
from statistics import median

from ganpage.curation.duplicates import HASH_BITS, MAX_DISTANCE
from ganpage.errors import GanpageError
from ganpage.gallery import PEOPLE, Gallery, ImageRecord

SCORE = "class_probability"
# unsure: `ganpage label` named the picture with a top-1 probability below its threshold
DEFAULT_REJECT = ("duplicate", "memorised", "blank", "unsure")
KEPT = "passed"  # the rule name of an approval


@dataclass(frozen=True)
class Rules:
    min_class_score: float | None = None
    top_k: int | None = None
    min_category_median: float | None = None
    reject: tuple[str, ...] = DEFAULT_REJECT  # flags whose pictures are rejected
    duplicate_bits: int = MAX_DISTANCE  # hashes this many bits apart or fewer are duplicates

    def __post_init__(self) -> None:
        for name in ("min_class_score", "min_category_median"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise GanpageError(f"{name} must be between 0 and 1, got {value}")
        if not 0 <= self.duplicate_bits <= HASH_BITS:
            raise GanpageError(f"duplicate_bits must be between 0 and {HASH_BITS}, got "
                               f"{self.duplicate_bits}")
        if self.top_k is not None and self.top_k < 1:
            raise GanpageError(f"top_k must be at least 1, got {self.top_k}")
        unknown = sorted(set(self.reject) - {"duplicate", "memorised", "blank", "framed",
                                             "unsure"})
        if unknown:
            raise GanpageError(f"reject: unknown flag {unknown[0]!r}; use duplicate, "
                               "memorised, blank, framed or unsure")

    def needs_scores(self) -> bool:
        return any(v is not None for v in (self.min_class_score, self.top_k,
                                           self.min_category_median))

    def overridden(self, **values: object) -> Rules:
        """These rules with the options that were given (not None) put in."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def read_rules(path: Path) -> Rules:
    """Rules from a TOML file: the keys are the fields of ``Rules``, all optional."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GanpageError(f"cannot read --rules {path} ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise GanpageError(f"--rules {path} is not TOML ({error})") from None
    known = {f.name: f for f in fields(Rules)}
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise GanpageError(f"--rules {path}: unknown key {unknown[0]!r}; use "
                           f"{', '.join(known)}")
    expected = {"min_class_score": (int, float), "min_category_median": (int, float),
                "top_k": int, "reject": list, "duplicate_bits": int}
    for key, value in document.items():
        if not isinstance(value, expected[key]) or isinstance(value, bool):
            raise GanpageError(f"--rules {path}: {key} = {value!r} has the wrong type")
    if "reject" in document:
        document["reject"] = tuple(document["reject"])
    return Rules(**document)


def decide(records: list[ImageRecord], groups: list[list[str]], rules: Rules
           ) -> dict[str, tuple[str, str]]:
    """Picture id -> (status, rule name) for every picture; a picture a person decided keeps
    its status, with ``review`` or ``manual`` as its reason."""
    if rules.needs_scores() and any(SCORE not in r.scores for r in records):
        raise GanpageError("the class-score rules need a classifier's scores; pass "
                           "--classifier, or drop --min-class-score, --top-k and "
                           "--min-category-median")
    verdict = {r.id: (r.status, r.decided_by) for r in records if r.decided_by in PEOPLE}
    for record in records:
        flagged = [f for f in rules.reject if f in record.flags and f != "duplicate"]
        if flagged:
            _reject(verdict, [record], flagged[0])
    if rules.min_category_median is not None:
        for members in _by_category(records).values():
            if median(r.scores[SCORE] for r in members) < rules.min_category_median:
                _reject(verdict, members, "category-median")
    if rules.min_class_score is not None:
        _reject(verdict, [r for r in records if r.scores[SCORE] < rules.min_class_score],
                "min-class-score")
    _keep_the_best(records, groups if "duplicate" in rules.reject else [], rules.top_k,
                   verdict)
    return verdict


def _keep_the_best(records: list[ImageRecord], groups: list[list[str]], top_k: int | None,
                   verdict: dict[str, tuple[str, str]]) -> None:
    """Best first (pictures a person approved, then by class probability), keep a picture
    unless its duplicate group already kept one or its category already kept ``top_k``."""
    group_of = {image: n for n, group in enumerate(groups) for image in group}
    kept_groups: set[int] = set()
    kept_per_category: dict[str, int] = defaultdict(int)
    alive = [r for r in records if r.id not in verdict or _by_person(r, "approved")]
    for record in sorted(alive, key=_priority):
        group = group_of.get(record.id)
        if not _by_person(record, "approved"):
            if group in kept_groups:
                verdict[record.id] = ("rejected", "duplicate")
                continue
            if top_k is not None and kept_per_category[record.category] >= top_k:
                verdict[record.id] = ("rejected", "top-k")
                continue
            verdict[record.id] = ("approved", KEPT)
        kept_per_category[record.category] += 1
        if group is not None:
            kept_groups.add(group)


def _by_category(records: list[ImageRecord]) -> dict[str, list[ImageRecord]]:
    groups: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        groups[record.category].append(record)
    return groups


def _reject(verdict: dict, records: list[ImageRecord], rule: str) -> None:
    for record in records:
        verdict.setdefault(record.id, ("rejected", rule))


def _by_person(record: ImageRecord, status: str) -> bool:
    return record.decided_by in PEOPLE and record.status == status


def _priority(record: ImageRecord) -> tuple:
    """Best first: approved by a person, then the highest class probability, then the id."""
    return (not _by_person(record, "approved"), -record.scores.get(SCORE, 0.0), record.id)


@dataclass(frozen=True)
class Change:
    """A status a rule would set: the picture's id and category, its status and decider
    before, and after."""

    image_id: str
    category: str
    was: str
    was_decided_by: str
    status: str
    rule: str

    def line(self) -> str:
        before = self.was + (f" ({self.was_decided_by})" if self.was_decided_by else "")
        return f"{self.image_id} {self.category}: {before} -> {self.status} (rule:{self.rule})"


def changes(records: list[ImageRecord], verdict: dict[str, tuple[str, str]]) -> list[Change]:
    """What applying the verdict would change: people's decisions and what already stands
    are left out, so a second run changes nothing."""
    found = []
    for record in records:
        status, rule = verdict[record.id]
        if record.decided_by in PEOPLE:
            continue
        if (record.status, record.decided_by) != (status, f"rule:{rule}"):
            found.append(Change(record.id, record.category, record.status,
                                record.decided_by, status, rule))
    return found


def apply(gallery: Gallery, found: list[Change]) -> int:
    """Write the changes (one set_status per status and rule); returns how many changed."""
    batches: dict[tuple[str, str], list[str]] = defaultdict(list)
    for change in found:
        batches[(change.status, change.rule)].append(change.image_id)
    return sum(gallery.set_status(status, ids, decided_by=f"rule:{rule}")
               for (status, rule), ids in sorted(batches.items()))
