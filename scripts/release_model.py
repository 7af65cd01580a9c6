"""Release a built-in model (emoji32, emoji64) from a training run: fill the model card with
the run's figures (and card.json, the figures the README and the about page share), export the EMA
generator into the package (with its classifier and category scores), write the credits of
every emoji set its data set has pictures from (the about page's attributions; NOTICE is
edited by hand to match), and write its sample grid and the grid of the categories the demo
shows.

Usage: python scripts/release_model.py NAME RUN CLASSIFIER EVAL-1.0.json [EVAL-0.65.json ...]
e.g. emoji32 runs/emoji-v2 runs/ab/classifier eval-1.0.json eval-0.65.json. The card's
template is docs/NAME-card.md; the model goes to ganpage/resources/models/NAME. The classifier
(from `ganpage train-classifier`) ships inside the model. Each EVAL file comes from
`ganpage eval MODEL --data ... --classifier ... --truncation T --json EVAL-T.json` on the
model as exported first (`ganpage export-model RUN --out M --classifier CLASSIFIER`); the first
fills the card's main table, all fill its truncation table.
"""

from __future__ import annotations

import json
import shutil
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
from frame_check import framed  # scripts/ is on sys.path when run as a script
from PIL import Image, ImageDraw, ImageFont

from ganpage.atomic import atomic_write_text, atomic_write_with
from ganpage.category_scores import ranking
from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.data.dataset import load_training_set
from ganpage.data.emoji import model_attribution
from ganpage.defaults import DEMO_CATEGORIES
from ganpage.export import export_run
from ganpage.models import load_generator
from ganpage.reporting import grid_labels
from ganpage.train_config import TrainConfig

ROOT = Path(__file__).parents[1]
MODELS = ROOT / "src" / "ganpage" / "resources" / "models"
ATTRIBUTIONS = ROOT / "src" / "ganpage" / "resources" / "attributions"
# The figures that the card, the README and the about page share (web/about.py; checked by
# tests/test_web_about.py): this script writes those it measures and keeps the others (the
# data sets' names, the blind test's result), which are edited by hand.
CARD_DATA = "card.json"


SESSION_GAP_S = 300  # log rows further apart than this belong to different sessions


def training_hours(rows: list[dict]) -> float:
    """Wall-clock hours spent training, leaving out the gaps between resumed sessions."""
    times = [r["time"] for r in rows]
    return sum(b - a for a, b in pairwise(times) if b - a < SESSION_GAP_S) / 3600


def truncation_table(evaluations: list[dict]) -> str:
    """Markdown rows: CAS, CAS ratio, memorisation, FID, within-class diversity and coverage at
    each evaluated truncation."""
    lines = ["| truncation | CAS | CAS / held-out | memorisation (features, pixels) | "
             "classifier FID | within-class diversity (features, pixels) | coverage |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {e['truncation']:.2f} | {e['cas']:.2%} | {e['cas_ratio']:.1%} | "
              f"{e['memorisation_rate']:.2%}, {_share(e.get('pixel_memorisation_rate'))} | "
              f"{e['fid']:.1f} | {e['within_class_diversity']:.2f}, "
              f"{_ratio(e.get('pixel_within_class_diversity'))} | {e['coverage']:.1%} |"
              for e in evaluations]
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"  # evaluations before pixel scores lack it


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


GRID_TRUNCATION = 0.65  # the middle of the demo site's 0.5:0.8
LABEL_WIDTH = 150


def labelled_grid(generator, dataset, labels: list[int], seeds: int) -> Image.Image:
    """One row per class: its name, one real training picture, then ``seeds`` generated ones."""
    size = generator.image_size
    grid = Image.new("RGB", (LABEL_WIDTH + (seeds + 1) * size + 8, len(labels) * size), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=13)
    for row, label in enumerate(labels):
        real = dataset.images[np.flatnonzero(dataset.labels == label)[0]].transpose(1, 2, 0)
        fakes = generator.sample([label] * seeds, range(seeds), GRID_TRUNCATION)
        y = row * size
        draw.text((4, y + size // 2), generator.categories[label].name[:22], fill="black",
                  font=font, anchor="lm")
        grid.paste(Image.fromarray(real), (LABEL_WIDTH, y))
        for column, fake in enumerate(fakes):
            grid.paste(Image.fromarray(fake), (LABEL_WIDTH + 8 + (column + 1) * size, y))
    return grid


def demo_grid(generator, count: int, columns: int = 10) -> Image.Image:
    """The ``count`` best-drawn categories, best first: seed 0 of each with its name below."""
    size, caption, tile = generator.image_size, 14, generator.image_size + 32
    categories = ranking(generator)[:count]
    pictures = generator.sample([c.id for c in categories], [0] * count, GRID_TRUNCATION)
    rows = -(-count // columns)
    grid = Image.new("RGB", (columns * tile, rows * (size + caption + 4)), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=10)
    for index, (category, picture) in enumerate(zip(categories, pictures, strict=True)):
        x, y = (index % columns) * tile, (index // columns) * (size + caption + 4)
        grid.paste(Image.fromarray(picture), (x + 16, y))
        draw.text((x + tile // 2, y + size + caption // 2), category.name[:18], fill="black",
                  font=font, anchor="mm")
    return grid


def main(name: str, run: Path, classifier: Path, evaluations: list[Path]) -> None:
    target, template = MODELS / name, (ROOT / "docs" / f"{name}-card.md").read_text()
    kimg = load_checkpoint(latest_checkpoint(run))["images_seen"] / 1000  # what is exported
    rows = [row for row in map(json.loads, (run / "log.jsonl").read_text().splitlines())
            if row["kimg"] <= kimg]  # a log may run past the exported checkpoint
    hours = training_hours(rows)
    rate = sum(r["images_per_s"] for r in rows[-20:]) / len(rows[-20:])
    figures = json.loads((target / CARD_DATA).read_text()) if (target / CARD_DATA).is_file() \
        else {}
    export_run(run, target, name, classifier=classifier)  # the card is written below
    generator = load_generator(target)
    params = sum(p.numel() for p in generator.net.parameters()) / 1e6
    all_metrics = [json.loads(path.read_text()) for path in evaluations]
    metrics = all_metrics[0]
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    dataset = load_training_set(config.data)
    is_framed = framed(generator, dataset.images.transpose(0, 2, 3, 1),
                       truncation=GRID_TRUNCATION)[0]
    card = template.format(kimg=f"{kimg:.0f}", g_params=params,
                           images_per_s=rate, hours=hours, pictures=metrics["pictures"],
                           held_out=metrics["held_out_accuracy"], cas=metrics["cas"],
                           cas_ratio=metrics["cas_ratio"],
                           memorisation=metrics["memorisation_rate"], fid=metrics["fid"],
                           pixel_memorisation=_share(metrics.get("pixel_memorisation_rate")),
                           diversity=metrics["within_class_diversity"],
                           pixel_diversity=_ratio(metrics.get("pixel_within_class_diversity")),
                           density=metrics["density"], coverage=metrics["coverage"],
                           truncations=truncation_table(all_metrics),
                           grid_truncation=GRID_TRUNCATION,
                           framed=f"{is_framed.mean():.1%}")
    atomic_write_text(target / "README.md", card)
    figures.update(things=len(generator.categories), image_size=generator.image_size,
                   training_pictures=len(dataset.labels), kimg=round(kimg),
                   training_hours=round(hours, 1))
    atomic_write_text(target / CARD_DATA, json.dumps(figures, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(ATTRIBUTIONS / f"{name}.md", model_attribution(Path(config.data), name))
    labels = grid_labels(generator.categories, config.grid_classes)
    grid = labelled_grid(generator, dataset, labels, config.grid_seeds)
    atomic_write_with(target / "samples.png", lambda temporary: grid.save(temporary, "PNG"))
    shutil.copyfile(target / "samples.png", ROOT / "docs" / f"{name}-samples.png")
    best = demo_grid(generator, min(DEMO_CATEGORIES, len(generator.categories)))
    atomic_write_with(ROOT / "docs" / f"{name}-demo-categories.png",
                      lambda temporary: best.save(temporary, "PNG"))
    print(f"released {target} ({kimg:.0f} kimg, {len(labels)} grid rows)")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), [Path(arg) for arg in sys.argv[4:]])
