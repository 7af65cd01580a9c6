"""What the last curate run saw, so that a re-run with nothing new reads one row, not the
gallery.

A run that ends with nothing left to score stamps the gallery (``Gallery.save_curation_stamp``)
with where the index's change log stood, a digest of everything its decisions depend on
besides the pictures' rows (the rules, which scores it can compute, the classifier and the
memorisation and frame thresholds) and what it found. A later run whose settings have the same
digest, on a gallery whose change log has not moved since, would read every row to decide
exactly what stands: it prints the stamp's findings instead. Any change to the pictures (new
ones, a person's decision, a merge) moves the log; scores and flags are written by curate
alone.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from ganpage.curation.rules import Rules
from ganpage.curation.scoring import Scorers
from ganpage.gallery import CurationStamp, Gallery, ImageRecord

# bump when the code that derives flags or decides changes what it decides from the same rows
DECISION_CODE_VERSION = 1


@dataclass(frozen=True)
class Findings:
    """What a run found, as the command reports it."""

    groups: int  # near-duplicate groups
    flags: dict[str, int]  # flag -> pictures

    @classmethod
    def of(cls, records: list[ImageRecord], groups: list[list[str]]) -> Findings:
        return cls(len(groups), dict(Counter(f for r in records for f in r.flags)))

    @classmethod
    def counted(cls, groups: int, stored: Counter, before: Iterable[list[str]],
                after: Iterable[list[str]]) -> Findings:
        """The flags stored in the index with some pictures' flags changed from ``before`` to
        ``after`` (a run that decided part of the gallery)."""
        counts = Counter(stored)
        counts.subtract(flag for flags in before for flag in flags)
        counts.update(flag for flags in after for flag in flags)
        return cls(groups, {flag: n for flag, n in counts.items() if n > 0})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Findings | None:
        """None when the stored text is not findings (then the run reads everything)."""
        try:
            document = json.loads(text)
            findings = cls(int(document["groups"]),
                           {str(k): int(v) for k, v in document["flags"].items()})
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return findings


def settings_digest(rules: Rules, scorers: Scorers) -> str:
    """sha256 of what a run's decisions depend on besides the rows: equal digests on an
    unchanged gallery decide the same."""
    reference = scorers.reference
    settings = {
        "version": DECISION_CODE_VERSION,
        "rules": asdict(rules),
        "scores": sorted(scorers.keys()),
        "classifier": getattr(scorers.classifier, "model_id", None),
        "memorised_below": None if reference is None else repr(float(reference.threshold)),
        "training_pictures": None if reference is None else len(reference.features),
        "framed_below": (None if scorers.frame_threshold is None
                         else repr(float(scorers.frame_threshold))),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def previous_run(gallery: Gallery, settings: str) -> tuple[CurationStamp, Findings] | None:
    """The last run's stamp and findings when it ran with these settings; else None."""
    stamp = gallery.curation_stamp()
    if stamp is None or stamp.settings != settings:
        return None
    findings = Findings.from_json(stamp.summary)
    return None if findings is None else (stamp, findings)


def stored_flag_counts(gallery: Gallery) -> Counter:
    """Flag -> pictures, as the index holds them now (one walk of an index)."""
    counts: Counter = Counter()
    for *_, flags, pictures in gallery.count_by_category_status_and_flags():
        for flag in json.loads(flags):
            counts[flag] += pictures
    return counts
