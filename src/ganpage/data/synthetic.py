"""A data set of random pictures: for rehearsals (``scripts/gpu_run.py --smoke``), speed
benchmarks and tests, where what the pictures show does not matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.data.dataset import DatasetWriter


def write_noise_dataset(root: Path, classes: int = 2, per_class: int = 6, size: int = 32,
                        seed: int = 0, styles: int = 1) -> Path:
    """``classes`` classes ("Class 0", ...) of ``per_class`` uniform-noise pictures each, distinct
    enough to survive near-duplicate removal; returns ``root``. The manifest's ``source`` of
    picture i is "synthetic", or with ``styles`` > 1 "style <i mod styles>" (a style label)."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(root, size)
    for c in range(classes):
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            source = f"style {i % styles}" if styles > 1 else "synthetic"
            writer.add(Image.fromarray(pixels), f"Class {c}", f"img{i}", source=source)
    writer.finish()
    return root
