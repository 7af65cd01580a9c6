"""Does a class-conditional generator draw one version of each class, or a mix of them?

For every class, generate --seeds pictures and find the real training picture of that class
each one is nearest to (in the data set classifier's features); read that picture's source
(the emoji set, for `ganpage data emoji`) from the manifest. Prints the share of classes whose
seeds all land nearest one source, beside the share expected if each seed picked one of the
class's real pictures at random, and how often each source is the nearest one.
Usage: python scripts/style_modes.py MODEL --data data/emoji64 [--seeds 4] [--truncation 1.0]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from ganpage.classifiers.loaded import check_same_classes
from ganpage.classifiers.trained import bundled_classifier, load_classifier
from ganpage.data.dataset import MANIFEST, load_training_set
from ganpage.models import load_generator

UNSEEN_SEEDS = 5_000_000
CLASSES_PER_BATCH = 64


def sources_of(data: Path) -> np.ndarray:
    rows = [json.loads(line) for line in (data / MANIFEST).read_text().splitlines() if line]
    return np.array([row.get("source", "unknown") for row in rows])


def chance_all_same(sources: np.ndarray, seeds: int) -> float:
    """Probability that ``seeds`` picks of the class's real pictures share one source."""
    counts = np.array(list(Counter(sources).values()), dtype=float)
    return float(((counts / counts.sum()) ** seeds).sum())


def features_of_samples(generator, classifier, classes: list[int], seeds: list[int],
                        truncation: float) -> np.ndarray:
    """Classifier features of every class's seeds, (classes, seeds, F), generated in batches."""
    features = []
    for start in range(0, len(classes), CLASSES_PER_BATCH):
        chunk = classes[start:start + CLASSES_PER_BATCH]
        labels = [label for label in chunk for _ in seeds]
        _, chunk_features = classifier.predict(
            generator.sample(labels, seeds * len(chunk), truncation))
        features.append(chunk_features.reshape(len(chunk), len(seeds), -1))
    return np.concatenate(features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--classifier", type=Path, help="default: the model's bundled one")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--truncation", type=float, default=1.0)
    args = parser.parse_args()
    generator = load_generator(args.model)
    classifier = load_classifier(args.classifier or bundled_classifier(args.model))
    check_same_classes(classifier, generator.categories)
    dataset = load_training_set(args.data)
    sources = sources_of(args.data)
    _, real_features = classifier.predict(dataset.images.transpose(0, 2, 3, 1))
    seeds = [UNSEEN_SEEDS + i for i in range(args.seeds)]
    same, expected, nearest = 0, 0.0, Counter()
    classes = [c.id for c in generator.categories if (dataset.labels == c.id).sum() >= 2]
    all_fake_features = features_of_samples(generator, classifier, classes, seeds, args.truncation)
    for label, fake_features in zip(classes, all_fake_features, strict=True):
        members = np.flatnonzero(dataset.labels == label)
        distances = np.linalg.norm(fake_features[:, None] - real_features[members][None], axis=-1)
        picked = sources[members][distances.argmin(axis=1)]
        nearest.update(picked)
        same += len(set(picked)) == 1
        expected += chance_all_same(sources[members], args.seeds)
    print(f"{len(classes)} classes with 2+ real pictures, {args.seeds} seeds each at truncation "
          f"{args.truncation}: all seeds nearest one source in {same / len(classes):.1%} "
          f"(at random: {expected / len(classes):.1%})")
    real_share = Counter(sources[np.isin(dataset.labels, classes)])
    total_nearest, total_real = sum(nearest.values()), sum(real_share.values())
    print("| source | nearest to generated | share of real pictures |\n|---|---|---|")
    for source, count in real_share.most_common():
        print(f"| {source} | {nearest[source] / total_nearest:.1%} | "
              f"{count / total_real:.1%} |")


if __name__ == "__main__":
    main()
