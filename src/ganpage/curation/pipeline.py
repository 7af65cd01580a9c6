"""One curation run: score what needs it, derive flags, decide by the rules, apply (or, dry,
only say what would change). A re-run with nothing new since the last one reads nothing
(``curation/stamp.py``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ganpage.curation.duplicates import GROUP_KEY
from ganpage.curation.onnx_classifier import faster
from ganpage.curation.rules import Change, Rules, apply, changes, decide
from ganpage.curation.scoring import (
    Scorers,
    ScoringResult,
    derive_flags,
    needs_scores,
    score_gallery,
)
from ganpage.curation.stamp import Findings, settings_digest, unchanged_since_stamp
from ganpage.gallery import Gallery, ImageRecord


@dataclass
class CurationRun:
    records: list[ImageRecord]  # as they are after the run (or would be, when dry); [] when
    # nothing had changed since the last run (``unchanged``)
    scoring: ScoringResult
    groups: list[list[str]]  # near-duplicate groups of ids
    verdict: dict[str, tuple[str, str]]  # id -> (status, rule)
    changes: list[Change]
    changed: int  # pictures whose status was written (0 when dry)
    findings: Findings  # near-duplicate groups and flags, counted
    unchanged: bool = False  # True: nothing new since the last run's stamp, nothing read


def curate_gallery(gallery: Gallery, scorers: Scorers, rules: Rules, dry_run: bool = False,
                   batch_size: int = 256, show_progress: bool = True,
                   use_onnx: bool = True, reuse_stamp: bool = True) -> CurationRun:
    """Score, flag, decide and (unless ``dry_run``) write; a second run changes nothing.
    ``use_onnx``: let onnxruntime run the classifier where that is faster (onnx_classifier).
    ``reuse_stamp``: when nothing changed since the last run with these settings
    (``curation/stamp.py``), read nothing and return its findings."""
    settings = settings_digest(rules, scorers)
    if reuse_stamp and (findings := unchanged_since_stamp(gallery, settings)) is not None:
        return CurationRun([], ScoringResult(), [], {}, [], 0, findings, unchanged=True)
    since = gallery.last_change()
    records = gallery.records()
    todo = needs_scores(records, scorers)
    if todo and scorers.classifier is not None and use_onnx:
        scorers = replace(scorers, classifier=faster(scorers.classifier, len(todo)))
    scoring = score_gallery(gallery, records, scorers, batch_size, save=not dry_run,
                            show_progress=show_progress)
    before = {r.id: (list(r.flags), r.scores.get(GROUP_KEY)) for r in records}
    groups = derive_flags(records, scorers, rules.duplicate_bits)
    if not dry_run:  # the flags and stored duplicate groups that changed
        gallery.save_scores((r.id, r.scores, r.flags) for r in records
                            if (r.flags, r.scores.get(GROUP_KEY)) != before[r.id])
    scored = [r for r in records if "dhash" in r.scores]  # unreadable files stay undecided
    verdict = decide(scored, groups, rules)
    found = changes(scored, verdict)
    changed = 0 if dry_run else apply(gallery, found)
    _as_decided(records, found)
    findings = Findings.of(records, groups)
    if not dry_run and not needs_scores(records, scorers):  # a file to read again: no stamp
        gallery.save_curation_stamp(settings, findings.to_json(), since, changed)
    return CurationRun(records, scoring, groups, verdict, found, changed, findings)


def _as_decided(records: list[ImageRecord], found: list[Change]) -> None:
    """The records as the changes leave them (written, or only shown by a dry run)."""
    by_id = {c.image_id: c for c in found}
    for record in records:
        change = by_id.get(record.id)
        if change is not None:
            record.status, record.decided_by = change.status, f"rule:{change.rule}"
