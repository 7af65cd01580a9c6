"""Quality after the same wall-clock training: ganpage's emoji64 recipe against lucidrains'
lightweight-gan, on one data set, at 64x64, batch 32, the same threads, one after the other.

Goal (issue 4): better quality than lightweight-gan at equal time. Both are scored in the
feature space of the data set's classifier (ganpage.metrics): FID, KID and memorisation rate
for both, and CAS for ganpage (lightweight-gan is unconditional, so it has no CAS).
lightweight-gan runs through benchmarks/lightweight_gan_peer.py in its own interpreter
(--lwg-python), because its dependencies are not ganpage's; see benchmarks/README.md.
Usage: python benchmarks/quality_at_equal_time.py --data data/emoji64 --minutes 12 \
           --lwg-python /tmp/lwg/bin/python --out bench-out
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from lightweight_gan_peer import peer_command  # benchmarks/, beside this script
from PIL import Image

from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.classifiers.loaded import LoadedClassifier
from ganpage.classifiers.trained import bundled_classifier, load_classifier
from ganpage.data.dataset import load_training_set
from ganpage.export import export_run
from ganpage.metrics import distribution_scores, evaluate
from ganpage.models import load_generator
from ganpage.train import train
from ganpage.train_config import TrainConfig


def train_ganpage(data: Path, out: Path, minutes: float, batch: int, threads: int,
                  device: str) -> Path:
    """The built-in emoji64 recipe (width 16, class loss 1, mode-seeking 0.2), from scratch."""
    config = TrainConfig(data=str(data), out=str(out), total_kimg=1e6, batch_size=batch,
                         g_channels=16, d_channels=16, class_loss_weight=1.0,
                         diversity_loss_weight=0.2, grid_every_kimg=1e6,
                         checkpoint_every_kimg=1e6, threads=threads, device=device)
    return train(config, show_progress=False, stop_after_minutes=minutes)


def score_ganpage(run: Path, classifier: LoadedClassifier, training: np.ndarray,
                  per_class: int, minutes: float) -> tuple[dict, np.ndarray]:
    model = export_run(run, run.parent / "exported")
    generator = load_generator(model)
    result = evaluate(generator, classifier, training, per_class=per_class).to_dict()
    images_seen = load_checkpoint(latest_checkpoint(run))["images_seen"]
    result.update(kimg=images_seen / 1000, images_per_s=images_seen / (60 * minutes))
    labels = list(range(0, len(generator.categories), max(len(generator.categories) // 64, 1)))
    return result, generator.sample(labels[:64], [1_000_000] * 64, 1.0)


def train_lightweight_gan(python: str, data: Path, out: Path, minutes: float, batch: int,
                          threads: int, fmap_max: int, samples: int, device: str) -> dict:
    subprocess.run(peer_command(python, device, data=data, out=out, seconds=60 * minutes,
                                batch=batch, threads=threads, fmap_max=fmap_max,
                                warmup_steps=0, samples=samples), check=True)
    return json.loads((out / "result.json").read_text())


def score_lightweight_gan(out: Path, run: dict, classifier: LoadedClassifier,
                          training_features: np.ndarray, batch: int) -> dict[str, dict]:
    samples = np.load(out / "samples.npz")
    scores = {}
    for name in ("G", "GE"):
        _, features = classifier.predict(samples[name])
        scores[name] = dict(vars(distribution_scores(features, training_features)),
                            kimg=run["steps"] * batch / 1000, images_per_s=run["images_per_s"],
                            pictures=len(features))
    return scores


def save_side_by_side(path: Path, ganpage_pictures: np.ndarray, lwg_pictures: np.ndarray) -> None:
    """Two 8x8 grids, ganpage left, lightweight-gan right, 16 px apart."""
    def grid(pictures: np.ndarray) -> np.ndarray:
        rows = [np.concatenate(list(pictures[r * 8:(r + 1) * 8]), axis=1) for r in range(8)]
        return np.concatenate(rows, axis=0)
    left, right = grid(ganpage_pictures[:64]), grid(lwg_pictures[:64])
    gap = np.full((left.shape[0], 16, 3), 255, dtype=np.uint8)
    Image.fromarray(np.concatenate([left, gap, right], axis=1)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a ganpage data set folder")
    parser.add_argument("--classifier", type=Path, help="default: the one emoji64 ships")
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--device", choices=["cuda", "cpu"],
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--lwg-python", default=sys.executable,
                        help="interpreter with lightweight-gan installed")
    parser.add_argument("--lwg-fmap-max", type=int, default=64,
                        help="64 gives a D of ganpage's size (0.68M parameters); 512 is its "
                             "default")
    parser.add_argument("--out", type=Path, required=True, help="folder for runs and results")
    args = parser.parse_args()
    classifier = load_classifier(args.classifier or bundled_classifier("emoji64"))
    training = load_training_set(args.data).images.transpose(0, 2, 3, 1)
    _, training_features = classifier.predict(training)

    run = train_ganpage(args.data, args.out / "ganpage", args.minutes, args.batch, args.threads,
                        args.device)
    ganpage, ganpage_pictures = score_ganpage(run, classifier, training, args.per_class,
                                              args.minutes)
    samples = ganpage["pictures"]
    lwg_run = train_lightweight_gan(args.lwg_python, args.data, args.out / "lightweight-gan",
                                    args.minutes, args.batch, args.threads, args.lwg_fmap_max,
                                    samples, args.device)
    lwg = score_lightweight_gan(args.out / "lightweight-gan", lwg_run, classifier,
                                training_features, args.batch)
    results = {"minutes": args.minutes, "batch": args.batch, "threads": args.threads,
               "device": args.device,
               "ganpage": ganpage, "lightweight-gan": lwg, "lwg_fmap_max": args.lwg_fmap_max}
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lwg_pictures = np.load(args.out / "lightweight-gan" / "samples.npz")["G"]
    save_side_by_side(args.out / "side_by_side.png", ganpage_pictures, lwg_pictures)
    print(f"{args.minutes:g} min each on {args.device}, batch {args.batch}, {args.threads} "
          f"threads, {samples} pictures scored with the classifier (held-out accuracy "
          f"{classifier.held_out_accuracy:.1%})")
    print("| generator | kimg | images/s | FID | KID | memorisation | CAS |")
    print("|---|---|---|---|---|---|---|")
    rows = [("ganpage (G_ema)", ganpage)] + [(f"lightweight-gan ({name})", lwg[name])
                                             for name in ("G", "GE")]
    for name, row in rows:
        cas = f"{row['cas']:.1%}" if "cas" in row else "n/a"
        print(f"| {name} | {row['kimg']:.1f} | {row['images_per_s']:.1f} | {row['fid']:.2f} | "
              f"{row['kid']:.3f} | {row['memorisation_rate']:.2%} | {cas} |")


if __name__ == "__main__":
    main()
