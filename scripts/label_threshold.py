"""Accuracy against coverage of ``ganpage label``'s confidence threshold, measured end to end.

A model's pictures (seeds 0..N-1 of every class) are written as PNG files named by their class,
labelled by ``label_folder`` with threshold 0 (the same decode, resize and classifier path as
the command), and the top-1 names compared with the classes that drew them. For each threshold:
the share of pictures kept (top-1 probability >= threshold) and how many of those are right.
Usage: python scripts/label_threshold.py [--model emoji64] [--classifier SPEC] [--seeds 4]
           [--truncation 0.7] [--size 64]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.classifiers import open_classifier
from ganpage.gallery import Gallery
from ganpage.label import label_folder
from ganpage.models import load_generator

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def write_pictures(model: str, folder: Path, seeds: int, truncation: float) -> int:
    """``<label>-<seed>.png`` for every class and seed; returns how many."""
    generator = load_generator(model)
    count = 0
    for category in generator.categories:
        pixels = generator.sample([category.id] * seeds, list(range(seeds)), truncation)
        for seed in range(seeds):
            Image.fromarray(pixels[seed]).save(folder / f"{category.id}-{seed}.png")
            count += 1
    return count


def table(truth: np.ndarray, predicted: np.ndarray, probability: np.ndarray) -> list[str]:
    lines = ["threshold  kept (coverage)  accuracy of kept  accuracy of the rest"]
    for threshold in THRESHOLDS:
        kept = probability >= threshold
        right = predicted == truth
        rest = f"{right[~kept].mean():.3f}" if (~kept).any() else "-"
        lines.append(f"{threshold:9.1f}  {kept.sum():5d} ({kept.mean():.3f})    "
                     f"{right[kept].mean() if kept.any() else float('nan'):.3f}"
                     f"             {rest}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="emoji64")
    parser.add_argument("--classifier", default=None, help="default: the model's own")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--truncation", type=float, default=0.7)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    classifier = open_classifier(args.classifier, args.model)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "pictures"
        folder.mkdir()
        count = write_pictures(args.model, folder, args.seeds, args.truncation)
        with Gallery.open(Path(work) / "gallery", create=True) as gallery:
            report = label_folder(folder, gallery, classifier, threshold=0.0, size=args.size,
                                  image_format="png", show_progress=False)
            records = gallery.records()
    truth = np.array([int(r.source.split("-")[0]) for r in records])
    predicted = np.array([r.label for r in records])
    probability = np.array([r.scores["class_probability"] for r in records])
    print(f"{args.model}: {count} pictures ({args.seeds} seeds x classes, truncation "
          f"{args.truncation}), named by {classifier.model_id}; {report.summary()}")
    print("\n".join(table(truth, predicted, probability)))


if __name__ == "__main__":
    main()
