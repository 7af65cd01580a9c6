"""Memorisation: how near a picture is to its nearest training picture.

Pictures are compared as 16 x 16 colour thumbnails (box-filtered, so a copy shifted by a pixel
or two stays close, at any picture size), and a picture counts as memorised when it is nearer
to a training picture than the training pictures are to each other: below the 5th percentile
of their nearest-neighbour distances, the threshold ``ganpage eval`` uses
(``metrics.MEMORISATION_PERCENTILE``), here measured on the training set itself.
Thumbnails rather than classifier features: a copy is a fact about pixels, and a good
classifier puts every well-drawn picture of a class near its training pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganpage.data.dataset import load_training_set
from ganpage.metrics import MEMORISATION_PERCENTILE, nearest_distances, thumbnails


@dataclass
class TrainingReference:
    """The training pictures as curation compares against them."""

    root: Path
    features: np.ndarray  # (N, 768) thumbnails
    threshold: float  # memorised below this distance
    pictures: np.ndarray  # uint8 (N, H, W, 3), for the frame threshold

    def nearest(self, pictures: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) -> (N,) distance to the nearest training picture."""
        return nearest_distances(thumbnails(pictures), self.features)


def training_reference(data: str | Path) -> TrainingReference:
    """Read a data set (``ganpage data ...``) and calibrate the memorisation threshold on it."""
    dataset = load_training_set(data)
    pictures = dataset.images.transpose(0, 2, 3, 1)
    features = thumbnails(pictures)
    spacing = nearest_distances(features, features, exclude_self=True)
    threshold = float(np.percentile(spacing, MEMORISATION_PERCENTILE))
    return TrainingReference(Path(data), features, threshold, np.ascontiguousarray(pictures))
