"""One curation run: score what needs it, derive flags, decide by the rules, apply (or, dry,
only say what would change). A re-run with nothing new since the last one reads nothing
(``curation/stamp.py``); one after a few changes decides again only the categories they reach
(``curation/scope.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from ganpage.curation.duplicates import GROUP_KEY, update_groups
from ganpage.curation.onnx_classifier import faster
from ganpage.curation.rules import Change, Rules, apply, changes, decide
from ganpage.curation.scope import hash_entries, linked_categories, touched_categories
from ganpage.curation.scoring import (
    Scorers,
    ScoringResult,
    derive_flags,
    needs_scores,
    score_gallery,
    set_flags,
)
from ganpage.curation.stamp import Findings, previous_run, settings_digest, stored_flag_counts
from ganpage.gallery import Gallery, ImageRecord


@dataclass
class CurationRun:
    records: list[ImageRecord]  # those decided, as they are after the run (or would be, when
    # dry): every picture, those of ``categories`` only, or [] when ``unchanged``
    scoring: ScoringResult
    groups: list[list[str]]  # every near-duplicate group, as ids ([] when unchanged)
    verdict: dict[str, tuple[str, str]]  # id -> (status, rule), of ``records``
    changes: list[Change]
    changed: int  # pictures whose status was written (0 when dry)
    findings: Findings  # near-duplicate groups and flags of the whole gallery, counted
    unchanged: bool = False  # True: nothing new since the last run's stamp, nothing read
    categories: set[str] | None = None  # the categories decided again; None: all


@dataclass(frozen=True)
class _Options:
    scorers: Scorers
    rules: Rules
    dry_run: bool
    batch_size: int
    show_progress: bool
    use_onnx: bool


def curate_gallery(gallery: Gallery, scorers: Scorers, rules: Rules, dry_run: bool = False,
                   batch_size: int = 256, show_progress: bool = True,
                   use_onnx: bool = True, reuse_stamp: bool = True) -> CurationRun:
    """Score, flag, decide and (unless ``dry_run``) write; a second run changes nothing.
    ``use_onnx``: let onnxruntime run the classifier where that is faster (onnx_classifier).
    ``reuse_stamp``: after a run with these settings (``curation/stamp.py``), read nothing when
    nothing changed since, and decide again only the categories linked to what changed
    (``curation/scope.py``); False: read and decide every picture."""
    settings = settings_digest(rules, scorers)
    previous = previous_run(gallery, settings) if reuse_stamp else None
    since = gallery.last_change()
    if previous is not None and previous[0].last_change == since:
        return CurationRun([], ScoringResult(), [], {}, [], 0, previous[1], unchanged=True)
    touched = None if previous is None else touched_categories(gallery, previous[0], since)
    options = _Options(scorers, rules, dry_run, batch_size, show_progress, use_onnx)
    run = (_whole(gallery, options) if touched is None or previous is None else
           _part(gallery, options, touched))
    if not dry_run and not needs_scores(run.records, scorers):  # a file to read again: no stamp
        gallery.save_curation_stamp(settings, run.findings.to_json(), since, run.changed)
    return run


def _whole(gallery: Gallery, options: _Options) -> CurationRun:
    """Read, score, flag and decide every picture."""
    records = gallery.records()
    scoring = _score(gallery, records, options)
    before = _before(records)
    groups = derive_flags(records, options.scorers, options.rules.duplicate_bits)
    verdict, found, changed = _decide(gallery, records, groups, before, options)
    return CurationRun(records, scoring, groups, verdict, found, changed,
                       Findings.of(records, groups))


def _part(gallery: Gallery, options: _Options, touched: set[str]) -> CurationRun:
    """Read, score, flag and decide the pictures of the categories linked to ``touched``; the
    near-duplicate search sees every picture's hash."""
    loaded = _read(gallery, touched)
    scoring = _score(gallery, list(loaded.values()), options)
    before = _before(loaded.values())
    entries = hash_entries(gallery, loaded)
    update = update_groups(entries, options.rules.duplicate_bits)
    category_of = [entry.category for entry in entries]
    categories = linked_categories(touched | {category_of[n] for n in update.changed},
                                   update.groups, category_of)
    more = _read(gallery, categories - touched)
    before |= _before(more.values())
    for n in update.changed:  # groups found for pictures read as hashes only
        if entries[n].id in more:
            record = more[entries[n].id]
            record.scores = {**record.scores, GROUP_KEY: entries[n].scores[GROUP_KEY]}
    records = list((loaded | more).values())
    groups = [[entries[n].id for n in group] for group in update.groups]
    stored = stored_flag_counts(gallery)  # before this run writes any flag
    set_flags(records, options.scorers, {image for group in groups for image in group})
    decided = {record.id for record in records}  # a group reaching them lies inside them
    verdict, found, changed = _decide(gallery, records, [g for g in groups if g[0] in decided],
                                      before, options)
    findings = Findings.counted(len(groups), stored, (flags for flags, _ in before.values()),
                                (record.flags for record in records))
    return CurationRun(records, scoring, groups, verdict, found, changed, findings,
                       categories=categories)


def _read(gallery: Gallery, categories: set[str]) -> dict[str, ImageRecord]:
    return {record.id: record for category in sorted(categories)
            for record in gallery.records(category=category)}


def _score(gallery: Gallery, records: list[ImageRecord], options: _Options) -> ScoringResult:
    todo = needs_scores(records, options.scorers)
    scorers = options.scorers
    if todo and scorers.classifier is not None and options.use_onnx:
        scorers = replace(scorers, classifier=faster(scorers.classifier, len(todo)))
    return score_gallery(gallery, records, scorers, options.batch_size,
                         save=not options.dry_run, show_progress=options.show_progress)


def _before(records: Iterable[ImageRecord]) -> dict[str, tuple[list[str], str | None]]:
    """Id -> (flags, stored near-duplicate group), to write only what a run changes."""
    return {r.id: (list(r.flags), r.scores.get(GROUP_KEY)) for r in records}


def _decide(gallery: Gallery, records: list[ImageRecord], groups: list[list[str]],
            before: dict[str, tuple[list[str], str | None]], options: _Options
            ) -> tuple[dict[str, tuple[str, str]], list[Change], int]:
    """Write the flags and groups that changed, decide by the rules and apply (unless dry):
    (verdict, changes, pictures changed)."""
    if not options.dry_run:
        gallery.save_scores((r.id, r.scores, r.flags) for r in records
                            if (r.flags, r.scores.get(GROUP_KEY)) != before[r.id])
    scored = [r for r in records if "dhash" in r.scores]  # unreadable files stay undecided
    verdict = decide(scored, groups, options.rules)
    found = changes(scored, verdict)
    changed = 0 if options.dry_run else apply(gallery, found)
    _as_decided(records, found)
    if not options.dry_run and changed != len(found):  # a person decided some meanwhile
        _as_stored(gallery, records, {change.image_id for change in found})
    return verdict, found, changed


def _as_stored(gallery: Gallery, records: list[ImageRecord], ids: set[str]) -> None:
    """The status and decider of the records of ``ids`` as the index holds them."""
    for record in records:
        if record.id in ids and (stored := gallery.get(record.id)) is not None:
            record.status, record.decided_by = stored.status, stored.decided_by


def _as_decided(records: list[ImageRecord], found: list[Change]) -> None:
    """The records as the changes leave them (written, or only shown by a dry run)."""
    by_id = {c.image_id: c for c in found}
    for record in records:
        change = by_id.get(record.id)
        if change is not None:
            record.status, record.decided_by = change.status, f"rule:{change.rule}"
