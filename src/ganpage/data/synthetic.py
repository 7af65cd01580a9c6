"""A data set of random pictures: for rehearsals (``scripts/gpu_run.py --smoke``), speed
benchmarks and tests, where what the pictures show does not matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.data.dataset import DatasetWriter


def write_noise_dataset(root: Path, classes: int = 2, per_class: int = 6, size: int = 32,
                        seed: int = 0) -> Path:
    """``classes`` classes ("Class 0", ...) of ``per_class`` uniform-noise pictures each, distinct
    enough to survive near-duplicate removal; returns ``root``."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(root, size)
    for c in range(classes):
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            writer.add(Image.fromarray(pixels), f"Class {c}", f"img{i}", source="synthetic")
    writer.finish()
    return root
