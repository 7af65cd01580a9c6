"""How many bits a SimHash of the classifier's features needs, and what the candidate-pair
index would cost at its radius (issue 31, phase 3).

For a judged key (``pairs.json`` and its ``answers-judge*.txt``): precision/recall of the SimHash
Hamming distance at 256, 512 and 1024 bits for five projection seeds, at the threshold mapped
from ``classifier_cos``'s (angle = acos(1 - cos distance), bits apart = angle / pi * bits), and
the sweep's picks. Then, over every pair of the galleries, the share of pairs within that radius
and the share the index would check (the mean ``band_recall``) for a few band settings. Last,
what union-find groups at a few radii do to each gallery: at most how many pictures the
duplicate rule keeps (one per group plus the ungrouped), beside today's grey dHash <= 32, and
how many a rule that does not chain would keep ("leader": in gallery order, a picture is kept
unless it is within the radius of one already kept).

Usage: python benchmarks/duplicates_simhash.py docs/duplicates-calibration/v2/pairs.json \
           --model /tmp/v2-model /tmp/v2-gallery-065 /tmp/v2-gallery-07
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import duplicates_calibration as calibration
import duplicates_score as scoring
import numpy as np
import torch

from ganpage.curation.duplicate_index import IndexConfig, band_recall
from ganpage.curation.duplicates import (
    FEATURE_HASH_SEED,
    MAX_DISTANCE,
    duplicate_groups,
    feature_hashes,
    feature_projection,
    picture_hash,
)

BITS = (256, 512, 1024)
SEEDS = (FEATURE_HASH_SEED, 1, 2, 3, 4)
BANDS = ((20, 64), (24, 96), (24, 192))  # (bits per band, bands)
RADII = (26, 34, 47)  # 256-bit SimHash radii for the gallery groups


def signs(features: np.ndarray, bits: int, seed: int) -> np.ndarray:
    return (features @ feature_projection(features.shape[1], bits, seed)) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key", type=Path)
    parser.add_argument("galleries", nargs="+", type=Path)
    parser.add_argument("--model", default="emoji64")
    parser.add_argument("--cos", type=float, nargs="+", default=[0.0498, 0.0838],
                        help="classifier_cos thresholds to map to bits")
    args = parser.parse_args()
    torch.set_num_threads(1)
    key = json.loads(args.key.read_text())
    judges = [scoring.read_answers(p) for p in sorted(args.key.parent.glob("answers-judge*"))]
    agreed, split = scoring.consensus(judges)
    labels = {**agreed, **{n: True for n in split}}  # split as same
    pictures = calibration.load_pictures(args.galleries)
    at = {(p.category, p.seed, p.truncation): n for n, p in enumerate(pictures)}
    features = calibration.classifier_features(pictures, args.model)
    numbers = sorted(labels, key=int)
    same = np.array([labels[n] for n in numbers])
    pairs = np.array([[at[(key["pairs"][n][s]["category"], key["pairs"][n][s]["seed"],
                           key["pairs"][n][s]["truncation"])] for s in ("left", "right")]
                      for n in numbers])
    print(f"{len(numbers)} judged pairs, {int(same.sum())} same (split as same)")
    for bits in BITS:
        for seed in SEEDS:
            s = signs(features, bits, seed)
            values = (s[pairs[:, 0]] != s[pairs[:, 1]]).sum(1).astype(float)
            picks = scoring.best(scoring.sweep(values, same))
            cells = []
            for cos in args.cos:
                t = round(math.acos(1 - cos) / math.pi * bits)
                called = values <= t
                hits = int((called & same).sum())
                p, r = hits / max(1, int(called.sum())), hits / int(same.sum())
                cells.append(f"cos {cos} -> {t}: P {p:.3f} R {r:.3f} F1 {2*p*r/(p+r):.3f}")
            for name, pick in picks.items():
                cells.append(f"{name} {pick['threshold']:g}: P {pick['precision']:.3f} "
                             f"R {pick['recall']:.3f} F1 {pick['f1']:.3f}" if pick else
                             f"{name} none")
            print(f"{bits} bits, seed {seed}: " + "; ".join(cells))
    # every pair of the galleries: how many are within the radius, how many the index checks
    for bits in BITS:
        s = signs(features, bits, FEATURE_HASH_SEED).astype(np.float32) * 2 - 1
        distance = ((bits - s @ s.T) / 2).round().astype(np.int64)
        upper = distance[np.triu_indices(len(s), 1)]
        t = round(math.acos(1 - args.cos[0]) / math.pi * bits)
        line = [f"{bits} bits, radius {t}: {len(upper)} pairs, {np.mean(upper <= t):.4f} "
                f"within, median {int(np.median(upper))}"]
        for k, bands in BANDS:
            config = IndexConfig(bits=bits, max_distance=t, bands=bands,
                                 bits_per_band=k)
            line.append(f"k={k} L={bands}: recall at radius {float(band_recall(t, config)):.5f}"
                        f", checked {float(band_recall(upper, config).mean()):.4f} of pairs")
            print("; ".join(line))
            line = ["   "]
    for gallery in args.galleries:
        kept_by_groups(gallery, args.model)


def leaders(hashes: list[str], radius: int) -> int:
    """Pictures kept when each is dropped only for one already kept within ``radius``."""
    bits = np.unpackbits(np.array([list(bytes.fromhex(h)) for h in hashes], np.uint8), axis=1)
    kept: list[int] = []
    for i in range(len(bits)):
        if not kept or (bits[kept] != bits[i]).sum(1).min() > radius:
            kept.append(i)
    return len(kept)


def kept_by_groups(gallery: Path, model: str) -> None:
    """Brute-force groups of one gallery by dHash and by the 256-bit SimHash."""
    pictures = calibration.load_pictures([gallery])
    simhash = feature_hashes(calibration.classifier_features(pictures, model))
    rules = [("dhash", [picture_hash(p.pixels) for p in pictures], MAX_DISTANCE)]
    rules += [("simhash", simhash, radius) for radius in RADII]
    cells = []
    for name, hashes, radius in rules:
        groups = duplicate_groups(hashes, radius)
        kept = len(pictures) - sum(len(g) - 1 for g in groups)
        across = sum(len({pictures[i].category for i in g}) > 1 for g in groups)
        cells.append(f"{name} <= {radius}: {kept} kept, {len(groups)} groups, largest "
                     f"{max((len(g) for g in groups), default=0)}, {across} across categories, "
                     f"leader keeps {leaders(hashes, radius)}")
    print(f"{gallery} ({len(pictures)} pictures): " + "; ".join(cells))


if __name__ == "__main__":
    main()
