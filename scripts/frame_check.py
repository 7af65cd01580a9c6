"""How many generated pictures have a frame no training picture has: a dark or grey strip
along one side (emoji64 drew one on about a quarter of its seeds).

For each picture, the darkest of its four 2-pixel side strips (mean brightness 0-255); a
generated picture counts as framed when that is below the 5th percentile of the training
pictures' values (so 5% of real pictures count: some emoji fill their square). Seeds 0..N-1 of
every class at one truncation. The measure is ``ganpage.curation.quality``'s, which
``ganpage curate`` flags pictures with.
Usage: python scripts/frame_check.py MODEL --data data/emoji64 [--seeds 8] [--truncation 0.65]
           [--grid out.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.curation.quality import REAL_PERCENTILE, darkest_side, frame_threshold
from ganpage.data.dataset import load_training_set
from ganpage.models import load_generator


def framed(generator, real_images: np.ndarray, seeds: int = 8, truncation: float = 0.65,
           batch_size: int = 256) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """(is framed per picture, in class-major order; the threshold; the darkest 2 pictures
    of each batch) for seeds 0..seeds-1 of every class. ``real_images``: (N, H, W, 3) uint8."""
    threshold = frame_threshold(real_images)
    values, worst = [], []
    for _, pictures in generator.sample_every_class(seeds, truncation, batch_size):
        values.append(darkest_side(pictures))
        worst.extend(pictures[np.argsort(values[-1])[:2]])
    return np.concatenate(values) < threshold, threshold, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--truncation", type=float, default=0.65)
    parser.add_argument("--grid", type=Path, help="also save the darkest-sided 32 pictures here")
    args = parser.parse_args()
    generator = load_generator(args.model)
    real = load_training_set(args.data).images.transpose(0, 2, 3, 1)
    is_framed, threshold, worst = framed(generator, real, args.seeds, args.truncation)
    per_seed = is_framed.reshape(-1, args.seeds).mean(axis=0)
    print(f"real pictures: {REAL_PERCENTILE:g}th percentile of the darkest side {threshold:.1f}")
    print(f"generated: {is_framed.mean():.1%} framed ({is_framed.sum()} of {len(is_framed)})")
    print("framed share per seed: " + " ".join(f"{s}:{v:.0%}" for s, v in enumerate(per_seed)))
    if args.grid:
        chosen = sorted(worst, key=lambda p: darkest_side(p[None])[0])[:32]
        Image.fromarray(np.concatenate(chosen, axis=1)).save(args.grid)


if __name__ == "__main__":
    main()
