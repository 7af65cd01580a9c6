"""Scoring a gallery: every picture that lacks a score the run can compute gets all of them, in
batches of one picture size, saved batch by batch (so a killed run resumes where it stopped);
then every picture's curation flags are derived again from the stored scores, and its
near-duplicate group from the stored groups plus the pictures new since (``update_groups``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganpage.curation.agreement import class_agreement, classifier_labels
from ganpage.curation.duplicates import MAX_DISTANCE, picture_hash, update_groups
from ganpage.curation.memorisation import TrainingReference
from ganpage.curation.quality import frame_threshold, is_blank, quality_scores
from ganpage.gallery import Gallery, ImageRecord
from ganpage.progress import progress_bar

QUALITY_KEYS = frozenset({"spread", "ink", "darkest_side", "dhash"})
AGREEMENT_KEYS = frozenset({"class_probability", "class_rank"})
MEMORISATION_KEY = "training_distance"
CURATION_FLAGS = frozenset({"blank", "framed", "memorised", "duplicate"})


@dataclass
class Scorers:
    """What this run can measure: a classifier and the training set are optional."""

    classifier: object | None = None  # LoadedClassifier-like: categories, probabilities()
    reference: TrainingReference | None = None
    frame_threshold: float | None = None

    @classmethod
    def build(cls, classifier: object | None, reference: TrainingReference | None) -> Scorers:
        threshold = None if reference is None else frame_threshold(reference.pictures)
        return cls(classifier, reference, threshold)

    def keys(self) -> frozenset[str]:
        keys = set(QUALITY_KEYS)
        if self.classifier is not None:
            keys |= AGREEMENT_KEYS
        if self.reference is not None:
            keys.add(MEMORISATION_KEY)
        return frozenset(keys)


@dataclass
class ScoringResult:
    scored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> pictures


def needs_scores(records: list[ImageRecord], scorers: Scorers) -> list[ImageRecord]:
    """The pictures lacking any score this run can compute."""
    keys = scorers.keys()
    return [r for r in records if not keys <= r.scores.keys()]


def score_gallery(gallery: Gallery, records: list[ImageRecord], scorers: Scorers,
                  batch_size: int = 256, save: bool = True, show_progress: bool = True
                  ) -> ScoringResult:
    """Score the pictures that need it, updating ``records`` in place; with ``save`` write each
    batch's scores to the index as it is done."""
    todo = needs_scores(records, scorers)
    result = ScoringResult()
    labels = (classifier_labels(scorers.classifier, {r.category for r in todo})
              if scorers.classifier is not None and todo else {})
    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(todo), unit="img", stats="",
                            visible=show_progress)
        for batch, pictures in _batches(gallery, todo, batch_size, result):
            for record, scores in zip(batch, _score_batch(pictures, batch, scorers, labels),
                                      strict=True):
                record.scores = {**record.scores, **scores}
            if save:
                gallery.save_scores((r.id, r.scores, r.flags) for r in batch)
            result.scored += len(batch)
            bar.advance(task, len(batch))
    return result


def _score_batch(pictures: np.ndarray, batch: list[ImageRecord], scorers: Scorers,
                 labels: dict[str, int]) -> list[dict]:
    """The scores of one batch of same-size pictures (N, H, W, 3)."""
    scores = quality_scores(pictures)
    for entry, picture in zip(scores, pictures, strict=True):
        entry["dhash"] = picture_hash(picture)
    if scorers.classifier is not None:
        ids = np.array([labels[r.category] for r in batch])
        probability, rank = class_agreement(scorers.classifier, pictures, ids)
        for entry, p, k in zip(scores, probability, rank, strict=True):
            entry.update(class_probability=round(float(p), 4), class_rank=int(k))
    if scorers.reference is not None:
        for entry, distance in zip(scores, scorers.reference.nearest(pictures), strict=True):
            entry[MEMORISATION_KEY] = round(float(distance), 4)
    return scores


def _batches(gallery: Gallery, records: list[ImageRecord], batch_size: int,
             result: ScoringResult) -> Iterator[tuple[list[ImageRecord], np.ndarray]]:
    """(records, uint8 pictures (N, H, W, 3)) in batches of one size; unreadable files are
    counted in ``result.skipped`` and left unscored."""
    by_size = sorted(records, key=lambda r: (r.width, r.height, r.created_at, r.id))
    for _, group in groupby(by_size, key=lambda r: (r.width, r.height)):
        members = list(group)
        for start in range(0, len(members), batch_size):
            batch, pictures = [], []
            for record in members[start:start + batch_size]:
                picture = _read_picture(gallery, record, result)
                if picture is not None:
                    batch.append(record)
                    pictures.append(picture)
            if batch:
                yield batch, np.stack(pictures)


def _read_picture(gallery: Gallery, record: ImageRecord, result: ScoringResult
                  ) -> np.ndarray | None:
    try:
        with Image.open(gallery.path_of(record)) as image:
            picture = np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        reason = "missing file"
    except (OSError, UnidentifiedImageError):
        reason = "unreadable file"
    else:
        if picture.shape[:2] == (record.height, record.width):
            return picture
        reason = "size unlike its row"
    result.skipped[reason] = result.skipped.get(reason, 0) + 1
    return None


def derive_flags(records: list[ImageRecord], scorers: Scorers,
                 duplicate_bits: int = MAX_DISTANCE) -> list[list[str]]:
    """Duplicate groups (lists of ids); sets each record's curation flags from its scores and
    its ``duplicate_group`` score (only pictures without one are compared, against all).

    A flag whose evidence this run cannot weigh (``framed`` and ``memorised`` without the
    training set) is left as it was; flags curation does not own (``unsure``) are kept.
    """
    scored = [r for r in records if "dhash" in r.scores]
    groups = [[scored[i].id for i in group]
              for group in update_groups(scored, duplicate_bits).groups]
    set_flags(records, scorers, {image for group in groups for image in group})
    return groups


def set_flags(records: list[ImageRecord], scorers: Scorers, duplicated: set[str]) -> None:
    """Each record's curation flags from its scores and whether its id is ``duplicated``."""
    for record in records:
        flags = set(record.flags)
        _set(flags, "duplicate", record.id in duplicated)
        if record.scores.keys() >= QUALITY_KEYS:
            _set(flags, "blank", is_blank(record.scores))
            if scorers.frame_threshold is not None:
                _set(flags, "framed", record.scores["darkest_side"] < scorers.frame_threshold)
        if scorers.reference is not None and MEMORISATION_KEY in record.scores:
            _set(flags, "memorised",
                 record.scores[MEMORISATION_KEY] <= scorers.reference.threshold)
        record.flags = sorted(flags)


def _set(flags: set[str], flag: str, on: bool) -> None:
    if on:
        flags.add(flag)
    else:
        flags.discard(flag)
