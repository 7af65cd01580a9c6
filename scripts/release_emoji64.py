"""Release the built-in emoji64 model from a training run: fill the model card with the run's
figures, export the EMA generator into the package, and write its sample grid.

Usage: python scripts/release_emoji64.py runs/00000-emoji64-64 EVAL-1.0.json EVAL-0.65.json
(each EVAL file from `ganpage eval MODEL ... --truncation T --json EVAL-T.json` on the model as
exported first; the first one fills the card's main table, all of them its truncation table.)
"""

from __future__ import annotations

import json
import shutil
import sys
from itertools import pairwise
from pathlib import Path

from ganpage.export import export_run
from ganpage.models import load_generator
from ganpage.train import TrainConfig, grid_labels, latest_checkpoint, load_checkpoint

ROOT = Path(__file__).parents[1]
TARGET = ROOT / "src" / "ganpage" / "resources" / "models" / "emoji64"


SESSION_GAP_S = 300  # log rows further apart than this belong to different sessions


def training_hours(rows: list[dict]) -> float:
    """Wall-clock hours spent training, leaving out the gaps between resumed sessions."""
    times = [r["time"] for r in rows]
    return sum(b - a for a, b in pairwise(times) if b - a < SESSION_GAP_S) / 3600


def truncation_table(evaluations: list[dict]) -> str:
    """Markdown rows: CAS, CAS ratio, memorisation and FID at each evaluated truncation."""
    lines = ["| truncation | CAS | CAS / held-out | memorisation | classifier FID |",
             "|---|---|---|---|---|"]
    lines += [f"| {e['truncation']:.2f} | {e['cas']:.2%} | {e['cas_ratio']:.1%} | "
              f"{e['memorisation_rate']:.2%} | {e['fid']:.1f} |" for e in evaluations]
    return "\n".join(lines)


def main(run: Path, evaluations: list[Path]) -> None:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    hours = training_hours(rows)
    rate = sum(r["images_per_s"] for r in rows[-20:]) / len(rows[-20:])
    template = (ROOT / "docs" / "emoji64-card.md").read_text()
    export_run(run, TARGET, "emoji64", card="placeholder")
    generator = load_generator(TARGET)
    params = sum(p.numel() for p in generator.net.parameters()) / 1e6
    all_metrics = [json.loads(path.read_text()) for path in evaluations]
    metrics = all_metrics[0]
    kimg = load_checkpoint(latest_checkpoint(run))["images_seen"] / 1000  # what is exported
    card = template.format(kimg=f"{kimg:.0f}", g_params=params,
                           images_per_s=rate, hours=hours, pictures=metrics["pictures"],
                           held_out=metrics["held_out_accuracy"], cas=metrics["cas"],
                           cas_ratio=metrics["cas_ratio"],
                           memorisation=metrics["memorisation_rate"], fid=metrics["fid"],
                           truncations=truncation_table(all_metrics))
    export_run(run, TARGET, "emoji64", card=card)
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    labels = grid_labels(generator.categories, config.grid_classes)
    from ganpage.train import save_grid

    save_grid(TARGET / "samples.png", generator.net, generator.categories, config,
              generator.image_size)
    shutil.copyfile(TARGET / "samples.png", ROOT / "docs" / "emoji64-samples.png")
    print(f"released {TARGET} ({kimg:.0f} kimg, {len(labels)} grid rows)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]])
