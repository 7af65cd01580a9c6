"""Class agreement: how sure a classifier is that a picture shows its own category.

Scores per picture: ``class_probability`` (the classifier's softmax probability of the
picture's category) and ``class_rank`` (1 when that category is the classifier's top choice).
Categories are matched by slug, so a classifier whose classes are the gallery's in another
order still scores them right, and one that lacks a category is refused by name.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from ganpage.errors import GanpageError


def classifier_labels(classifier, slugs: Iterable[str]) -> dict[str, int]:
    """Gallery category slug -> the classifier's class id, for every slug given."""
    wanted = sorted(set(slugs))
    found = {slug: classifier.categories.by_slug(slug) for slug in wanted}
    missing = [slug for slug, category in found.items() if category is None]
    if missing:
        raise GanpageError(
            f"the classifier {getattr(classifier, 'model_id', '')!r} has no class for "
            f"{len(missing)} categories of the gallery ({', '.join(missing[:5])}); pass the "
            "--classifier of the model that made it")
    return {slug: category.id for slug, category in found.items()}


def class_agreement(classifier, pictures: np.ndarray, labels: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, H, W, 3) + the classifier's class ids (N,) -> (probability (N,), rank (N,))."""
    probabilities = torch.from_numpy(classifier.probabilities(pictures))  # (N, C)
    chosen = torch.as_tensor(labels, dtype=torch.long)[:, None]
    own = probabilities.gather(1, chosen)  # (N, 1)
    rank = (probabilities > own).sum(1) + 1
    return own.squeeze(1).numpy(), rank.numpy()
