"""A/B of training recipes against per-class collapse, at small scale and equal wall-clock.

Each arm trains from scratch on the same subset of a data set (default: 100 classes of the
32 px emoji set) for the same number of minutes with one CPU thread, arms running side by side
(``--parallel``) so they share the machine alike. Then each arm's EMA generator is scored with
the subset's own classifier (trained here once): CAS against held-out real accuracy,
classifier-feature FID, within-class diversity (generated / real) and memorisation, plus an
8-seed grid per arm for the eye (and for a naming test).

  python benchmarks/recipe_ab.py --data data/emoji32 --classes 100 --minutes 12 --out /tmp/ab
  python benchmarks/recipe_ab.py ... --arms control transitional   # a subset of ARMS
  python benchmarks/recipe_ab.py --data data/emoji32 --classes 128 --choose most \
      --condition-start 20 --condition-fade 60 --ema-kimg 10 --minutes 110 --out runs/ab \
      --arms r3gan-transitional r3gan-transitional-style          # class-only vs class + style

Writes OUT/results.json and OUT/results.md (one row per arm), OUT/<arm>/ (the run folder) and
OUT/grid-<arm>.png. Re-running skips arms whose run folder is finished (resumable).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.atomic import atomic_write_text
from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.classifiers.trained import load_classifier, train_classifier
from ganpage.data.dataset import MANIFEST, load_training_set
from ganpage.data.subset import write_subset
from ganpage.export import export_run
from ganpage.metrics import evaluate
from ganpage.models import load_generator
from ganpage.reporting import read_log

# the control is the recipe emoji64 v1 ended on; the others add one idea each
CLASS_AND_DIVERSITY = ["--class-loss-weight", "1", "--diversity-loss-weight", "0.2"]
ARMS: dict[str, list[str]] = {
    "control": CLASS_AND_DIVERSITY,
    "transitional": [*CLASS_AND_DIVERSITY, "--condition-start", "{start}",
                     "--condition-fade", "{fade}"],
    "transitional-projection": ["--diversity-loss-weight", "0.2", "--condition-start", "{start}",
                                "--condition-fade", "{fade}"],
    "r3gan-transitional": [*CLASS_AND_DIVERSITY, "--loss", "relativistic", "--r1-gamma", "0.1",
                           "--condition-start", "{start}", "--condition-fade", "{fade}"],
    # the same with the emoji set as a second label (train --style-label)
    "r3gan-transitional-style": [*CLASS_AND_DIVERSITY, "--loss", "relativistic", "--r1-gamma",
                                 "0.1", "--condition-start", "{start}", "--condition-fade",
                                 "{fade}", "--style-label", "source"],
}


DEMO_TRUNCATION = 0.65  # the middle of the demo's 0.5:0.8


def subset(data: Path, classes: int, out: Path, choose: str = "spread") -> Path:
    """``classes`` classes of ``data`` as a data set of their own (``ganpage data subset``),
    made once."""
    if not (out / MANIFEST).is_file():
        write_subset(data, classes, out, choose)
    return out


def arm_command(arm: str, data: Path, out: Path, args: argparse.Namespace) -> list[str]:
    options = [o.format(start=args.condition_start, fade=args.condition_fade) for o in ARMS[arm]]
    common = ["--out", str(out), "--kimg", "100000", "--minutes", str(args.minutes),
              "--threads", "1", "--g-channels", str(args.width), "--d-channels", str(args.width),
              "--batch-size", "32", "--ema-kimg", str(args.ema_kimg), "--grid-every", "1000",
              "--checkpoint-every", "1000", "--quiet"]
    return [sys.executable, "-m", "ganpage", "train", str(data), *common, *options]


def run_arms(arms: list[str], data: Path, out: Path, args: argparse.Namespace) -> None:
    """Train the arms that have no run folder yet, ``args.parallel`` at a time."""
    pending = [arm for arm in arms if not (out / arm / "done").is_file()]
    while pending:
        batch, pending = pending[:args.parallel], pending[args.parallel:]
        running = []
        for arm in batch:
            shutil.rmtree(out / arm, ignore_errors=True)
            command = arm_command(arm, data, out / arm, args)
            print(f"{arm}: {' '.join(command[3:])}", flush=True)
            running.append((arm, subprocess.Popen(command)))
        for arm, process in running:
            code = process.wait()
            if code not in (0, 130):  # 130: stopped by --minutes with a checkpoint
                raise SystemExit(f"arm {arm} failed with exit code {code}")
            (out / arm / "done").write_text("")


def score_arm(arm: str, out: Path, classifier: Path, dataset, per_class: int) -> dict:
    run = next(p for p in (out / arm).iterdir() if p.is_dir())
    model = export_run(run, out / f"model-{arm}", model_id=arm)
    generator = load_generator(model, dtype="float32")
    reals = dataset.images.transpose(0, 2, 3, 1)
    scorer = load_classifier(classifier)
    result = evaluate(generator, scorer, reals, per_class, 1.0,
                      training_labels=dataset.labels).to_dict()
    at_demo = evaluate(generator, scorer, reals, per_class, DEMO_TRUNCATION,
                       training_labels=dataset.labels)
    kimg = load_checkpoint(latest_checkpoint(run))["images_seen"] / 1000
    rows = read_log(run)
    result.update(arm=arm, kimg=kimg, images_per_s=rows[-1]["images_per_s"] if rows else None,
                  within_class_diversity_at_demo=at_demo.within_class_diversity,
                  cas_at_demo=at_demo.cas)  # pixel scores: evaluate's, at truncation 1
    save_grid(generator, out / f"grid-{arm}.png")
    return result


def save_grid(generator, path: Path, rows: int = 20, seeds: int = 8) -> None:
    """``rows`` classes spread over the subset, ``seeds`` seeds each, at truncation 1."""
    labels = np.linspace(0, len(generator.categories) - 1, rows).round().astype(int)
    pictures = [np.concatenate(list(generator.sample([int(label)] * seeds, range(seeds))), 1)
                for label in labels]
    Image.fromarray(np.concatenate(pictures, 0)).save(path)


def write_table(results: list[dict], out: Path) -> None:
    header = ("| arm | kimg | CAS / held-out | FID | within-class diversity (at 0.65) | pixel "
              "diversity | memorisation (pixels) | coverage |\n"
              "|---|---|---|---|---|---|---|---|\n")
    rows = "".join(
        f"| {r['arm']} | {r['kimg']:.0f} | {r['cas']:.1%} / {r['held_out_accuracy']:.1%} "
        f"({r['cas_ratio']:.2f}) | {r['fid']:.2f} | {r['within_class_diversity']:.2f} "
        f"({r['within_class_diversity_at_demo']:.2f}) | {r['pixel_within_class_diversity']:.2f} "
        f"| {r['memorisation_rate']:.1%} ({r['pixel_memorisation_rate']:.1%}) | "
        f"{r['coverage']:.1%} |\n" for r in results)
    atomic_write_text(out / "results.md", header + rows)
    atomic_write_text(out / "results.json", json.dumps(results, indent=1) + "\n")
    print(header + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/emoji32"))
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--choose", choices=["spread", "most"], default="spread",
                        help="classes spread over the data set, or those with the most pictures")
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--condition-start", type=float, default=10)
    parser.add_argument("--condition-fade", type=float, default=30)
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--ema-kimg", type=float, default=5)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/recipe-ab"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = subset(args.data, args.classes, args.out / "data", args.choose)
    classifier = args.out / "classifier"
    if not (classifier / "config.json").is_file():
        started = time.monotonic()
        metrics = train_classifier(data, classifier, epochs=30, channels=16,
                                   show_progress=False)
        print(f"classifier: held-out {metrics['held_out_accuracy']:.1%} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
    run_arms(args.arms, data, args.out, args)
    dataset = load_training_set(data)
    write_table([score_arm(arm, args.out, classifier, dataset, args.per_class)
                 for arm in args.arms], args.out)


if __name__ == "__main__":
    main()
