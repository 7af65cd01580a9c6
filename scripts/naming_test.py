"""A blind naming test of a model (issue 4's third goal: a person names most pictures' X).

Writes OUT/grid.png, with numbered rows of generated pictures of randomly drawn classes and no
names, and OUT/answers.json, which holds the row -> class key. Look at the grid, write down
what each row shows, and only then open the answers. With --best-of K, each row shows the
pictures that the data set's classifier scores highest of K seeds, as curation would pick them.
With --real DATA, each row shows the class's real training pictures instead (a random --seeds
of them): the control that says how well a person can name these classes at this size at all.
With --best N, rows are drawn from the N categories the model draws best by its shipped
category_scores.json (as ``ganpage demo`` and ``generate --best-categories`` pick them).
With --exclude FILE (repeatable), rows are drawn only from classes the tester has not seen
named before: FILE is an earlier draw's answers.json or a JSON object {class name: where it was
seen}, such as docs/naming-test-seen.json.
Usage: python scripts/naming_test.py emoji64 --out /tmp/naming [--rows 20] [--seeds 6]
           [--truncation 0.65] [--draw 1] [--best-of 24 --classifier classifiers/emoji64]
           [--real data/emoji64] [--best 100] [--exclude docs/naming-test-seen.json]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganpage.classify import bundled_classifier, check_same_classes, load_classifier
from ganpage.curate import best_categories
from ganpage.data.dataset import TrainingSet, load_training_set
from ganpage.models import load_generator

NUMBER_WIDTH = 40
UNSEEN_SEEDS = 2_000_000  # not the seeds the sample grids or ganpage eval use


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--truncation", type=float, default=0.65)
    parser.add_argument("--draw", type=int, default=1, help="which random draw of classes")
    parser.add_argument("--best-of", type=int, default=0,
                        help="show the classifier's top --seeds of this many seeds per row")
    parser.add_argument("--classifier", type=Path, help="default: the model's bundled one")
    parser.add_argument("--real", type=Path, help="show this data set's real pictures instead")
    parser.add_argument("--best", type=int, help="draw rows from the model's N best categories")
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="classes the tester has seen: answers.json or {name: where}")
    args = parser.parse_args()
    generator = load_generator(args.model)
    reals = load_training_set(args.real) if args.real else None
    if reals is not None and [c.name for c in reals.categories] != [
            c.name for c in generator.categories]:
        parser.error(f"{args.real} does not have the classes of {args.model}")
    classifier = None
    if args.best_of:
        classifier = load_classifier(args.classifier or bundled_classifier(args.model))
        check_same_classes(classifier, generator.categories)
    categories = best_categories(generator, args.best) if args.best else list(
        generator.categories)
    seen = set().union(*(seen_names(path) for path in args.exclude))
    unknown = seen - {category.name for category in generator.categories}
    if unknown:
        parser.error(f"--exclude names classes {args.model} does not have: {sorted(unknown)[:5]}")
    categories = [category for category in categories if category.name not in seen]
    if len(categories) < args.rows:
        parser.error(f"only {len(categories)} classes are left to draw {args.rows} rows from")
    chosen = random.Random(args.draw).sample(categories, args.rows)
    size = generator.image_size
    grid = Image.new("RGB", (NUMBER_WIDTH + args.seeds * size, args.rows * size), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=16)
    seeds = [UNSEEN_SEEDS + args.draw * 1000 + i for i in range(max(args.seeds, args.best_of))]
    for row, category in enumerate(chosen):
        if reals is not None:
            pictures = real_pictures(reals, category.id, args.seeds, random.Random(args.draw))
        else:
            pictures = generator.sample([category.id] * len(seeds), seeds, args.truncation)
        if classifier is not None:
            scores = classifier.probability_of(pictures, np.full(len(pictures), category.id))
            pictures = pictures[np.argsort(-scores, kind="stable")]
        pictures = pictures[:args.seeds]
        draw.text((4, row * size + size // 2 - 8), f"{row + 1}", fill="black", font=font)
        for column, picture in enumerate(pictures):
            grid.paste(Image.fromarray(picture), (NUMBER_WIDTH + column * size, row * size))
    args.out.mkdir(parents=True, exist_ok=True)
    grid.save(args.out / "grid.png")
    answers = [{"row": row + 1, "name": c.name, "id": c.id} for row, c in enumerate(chosen)]
    (args.out / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")
    print(f"{args.out / 'grid.png'}: {args.rows} rows from {len(categories)} classes; "
          f"the key is in {args.out / 'answers.json'}")


def seen_names(path: Path) -> set[str]:
    """Class names in an earlier draw's answers.json or in a {name: where seen} object."""
    document = json.loads(path.read_text())
    if isinstance(document, list):
        return {row["name"] for row in document}
    return set(document)


def real_pictures(reals: TrainingSet, class_id: int, count: int,
                  rng: random.Random) -> np.ndarray:
    """Up to ``count`` of the class's training pictures, in a random order, as (N, H, W, 3)."""
    indices = np.flatnonzero(reals.labels == class_id).tolist()
    chosen = rng.sample(indices, min(count, len(indices)))
    return reals.images[chosen].transpose(0, 2, 3, 1)


if __name__ == "__main__":
    main()
