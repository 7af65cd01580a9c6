"""Curation by the data set's classifier: how well a model draws each category.

A category's score is the classifier's mean probability that the model's pictures of it show
it (seeds 0..N-1 at one truncation). A model folder ships the scores in
``category_scores.json`` (``ganpage export-model --classifier`` or ``ganpage rank-categories``
write it), so ``ganpage generate --best-categories N`` and the demo can show the categories
that a visitor will recognise, as the hand-curated sites did with their 60 best categories.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ganpage.atomic import atomic_write_text
from ganpage.categories import Category
from ganpage.classifiers.loaded import LoadedClassifier, check_same_classes
from ganpage.errors import GanpageError
from ganpage.models.generator import Generator
from ganpage.models.loading import CATEGORY_SCORES
from ganpage.progress import progress_bar

SCORE_SEEDS = 8  # seeds of one class differ little; 8 vs 8 other seeds rank classes alike
SCORE_TRUNCATION = 0.65  # the middle of the demo's 0.5:0.8


def score_categories(generator: Generator, classifier: LoadedClassifier,
                     seeds: int = SCORE_SEEDS, truncation: float = SCORE_TRUNCATION,
                     batch_size: int = 64, show_progress: bool = True) -> dict[int, float]:
    """Class id -> the classifier's mean probability of that class over seeds 0..seeds-1."""
    check_same_classes(classifier, generator.categories)
    if seeds < 1:
        raise GanpageError(f"--seeds must be at least 1, got {seeds}")
    totals = np.zeros(len(generator.categories))
    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(totals) * seeds, unit="img", stats="",
                            visible=show_progress)
        for labels, pictures in generator.sample_every_class(seeds, truncation, batch_size):
            np.add.at(totals, labels, classifier.probability_of(pictures, labels))
            bar.advance(task, len(labels))
    return {category.id: round(float(totals[category.id] / seeds), 4)
            for category in generator.categories}


def write_category_scores(folder: Path, generator: Generator, scores: dict[int, float],
                          classifier: LoadedClassifier, seeds: int = SCORE_SEEDS,
                          truncation: float = SCORE_TRUNCATION) -> Path:
    """Save the scores into a model folder, keyed by slug, with how they were measured."""
    document = {
        "method": {"score": "mean classifier probability of the category",
                   "classifier": classifier.model_id, "seeds": seeds,
                   "truncation": truncation},
        "scores": {category.slug: scores[category.id] for category in generator.categories},
    }
    path = folder / CATEGORY_SCORES
    atomic_write_text(path, json.dumps(document, indent=1) + "\n")
    return path


def best_categories(generator: Generator, count: int) -> list[Category]:
    """The ``count`` categories with the highest shipped scores, in class-id order."""
    if not generator.category_scores:
        raise GanpageError(
            f"model {generator.model_id!r} ships no {CATEGORY_SCORES}; make it with "
            "`ganpage rank-categories MODEL_FOLDER --classifier CLASSIFIER`")
    if not 0 < count <= len(generator.categories):
        raise GanpageError(f"--best-categories must be between 1 and "
                           f"{len(generator.categories)}, got {count}")
    ranked = ranking(generator)[:count]
    return sorted(ranked, key=lambda category: category.id)


def ranking(generator: Generator) -> list[Category]:
    """All categories, best drawn first (ties by class id)."""
    scores = generator.category_scores
    return sorted(generator.categories, key=lambda c: (-scores.get(c.id, 0.0), c.id))
