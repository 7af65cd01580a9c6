"""Near-duplicate search by the LSH index (curation/duplicate_index.py) against its peer, the
brute-force comparison of every pair (curation/duplicates.py), in one run: recall of pairs and
of flagged pictures, candidates checked per picture, and seconds; and curate's duplicate step
(curation/duplicates.py's ``update_groups``, groups kept in the scores) on a first run, a
re-run with nothing new and one with the last 1% new, against brute force's every-run cost.

Hashes: the 256-bit grey dHash of real emoji64 pictures (galleries made as in
benchmarks/duplicates_calibration.py), and synthetic sets of 10k and 100k hashes with their
bit correlations: each synthetic hash stacks bands of rows (a dHash row is a row of the
picture) from three real hashes, flips 3% of bits, and a tenth of them get a near copy 0-48 bits
away, so there are collapsed categories, near copies and the real bias toward 0 bits.
Usage: python benchmarks/duplicate_index.py GALLERY... [--sizes 10000 100000] [--seed 0]
           [--curate-sizes 1000000]
``--curate-sizes``: curate's step alone (no brute force, no index comparison) on that many
synthetic hashes: a first run on 99%, a re-run with the last 1% new, a re-run with nothing new.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.curation.duplicate_index import (
    DuplicateIndex,
    IndexConfig,
    band_recall,
    hex_to_words,
)
from ganpage.curation.duplicates import duplicate_pairs, picture_hash, update_groups
from ganpage.gallery import Gallery

ROWS, ROW_BITS = 16, 16
BRUTE_ROWS = 2000  # above this many hashes, brute force checks a sample of rows


def gallery_hashes(galleries: list[Path]) -> list[str]:
    hashes, seen = [], set()
    for root in galleries:
        with Gallery.open(root) as gallery:
            for record in gallery.records():
                if record.id not in seen:
                    seen.add(record.id)
                    picture = np.asarray(Image.open(gallery.path_of(record)).convert("RGB"))
                    hashes.append(picture_hash(picture))
    return hashes


def to_bits(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(words.astype(">u8").view(np.uint8), axis=1)  # (N, 256)


def to_words(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)  # (N, 4)


def synthetic(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(P, 4) real hashes -> (n, 4) synthetic ones with their row structure (see above)."""
    bits = to_bits(pool).reshape(len(pool), ROWS, ROW_BITS)
    originals = int(n / 1.1)
    cuts = np.sort(rng.integers(1, ROWS, (originals, 2)), axis=1)  # 3 bands of rows
    sources = rng.integers(0, len(pool), (originals, 3))
    row = np.arange(ROWS)[None, :]
    band = (row >= cuts[:, :1]).astype(int) + (row >= cuts[:, 1:]).astype(int)  # (n, 16)
    chosen = np.take_along_axis(sources, band, axis=1)  # (n, 16) which pool hash per row
    out = bits[chosen, row].reshape(originals, ROWS * ROW_BITS)
    out ^= (rng.random(out.shape) < 0.03).astype(np.uint8)
    copies = out[rng.choice(originals, n - originals, replace=False)].copy()
    for copy, flips in zip(copies, rng.integers(0, 49, len(copies)), strict=True):
        copy[rng.choice(ROWS * ROW_BITS, flips, replace=False)] ^= 1
    return to_words(np.concatenate([out, copies])[rng.permutation(n)])


def as_hex(words: np.ndarray) -> list[str]:
    return ["".join(f"{w:016x}" for w in row) for row in words.tolist()]


def brute_pairs(words: np.ndarray, rows: np.ndarray, max_distance: int) -> set[tuple[int, int]]:
    """Every pair (i < j) within ``max_distance`` with i or j in ``rows``: the peer's code
    (duplicates.duplicate_pairs) for every row, else its block comparison for those rows."""
    if len(rows) == len(words):
        return set(duplicate_pairs(as_hex(words), max_distance))
    pairs = set()
    for start in range(0, len(rows), 64):
        block = rows[start:start + 64]
        distances = np.bitwise_count(words[block][:, None, :] ^ words[None, :, :]).sum(axis=2)
        for r, c in zip(*np.nonzero(distances <= max_distance), strict=True):
            i, j = int(block[r]), int(c)
            if i != j:
                pairs.add((min(i, j), max(i, j)))
    return pairs


@dataclass
class Record:  # what update_groups reads of a gallery's ImageRecord
    id: str
    scores: dict


def curate_step(words: np.ndarray, max_distance: int) -> dict:
    """CPU seconds of update_groups: first run, re-run with nothing new, with the last 1% new."""
    records = [Record(f"pic-{n:07d}", {"dhash": h}) for n, h in enumerate(as_hex(words))]
    result = {}
    for name, part in (("first_run_s", records), ("rerun_nothing_new_s", records)):
        started = time.process_time()
        update = update_groups(part, max_distance)
        result[name] = round(time.process_time() - started, 3)
        result[name.replace("_s", "_candidates")] = update.candidates
    fresh = [Record(r.id, {"dhash": r.scores["dhash"]}) for r in records]
    update_groups(fresh[:len(fresh) * 99 // 100], max_distance)
    started = time.process_time()
    update = update_groups(fresh, max_distance)
    result["rerun_1pct_new_s"] = round(time.process_time() - started, 3)
    result["rerun_1pct_new_candidates"] = update.candidates
    return result


def curate_at_scale(words: np.ndarray, max_distance: int) -> dict:
    """update_groups on 99%, then all (the last 1% new), then all again (nothing new): CPU
    seconds and candidates, one first run only (at 1M it is the long part)."""
    records = [Record(f"pic-{n:07d}", {"dhash": h}) for n, h in enumerate(as_hex(words))]
    result = {"hashes": len(words)}
    for name, part in (("first_run_99pct", records[:len(records) * 99 // 100]),
                       ("rerun_1pct_new", records), ("rerun_nothing_new", records)):
        started = time.process_time()
        update = update_groups(part, max_distance)
        result[name] = {"s": round(time.process_time() - started, 2),
                        "candidates": update.candidates, "compared": update.compared,
                        "groups": len(update.groups), "load_average": os.getloadavg()}
    return result


def compare(words: np.ndarray, config: IndexConfig, brute: bool = True) -> dict:
    """Index vs brute force on one set of hashes, and a re-run adding the last 1% alone."""
    result: dict = {"hashes": len(words)}
    started = time.process_time()
    index = DuplicateIndex(config)
    found = index.add(words)
    groups = index.groups()
    result["index_s"] = round(time.process_time() - started, 2)
    result["candidates_per_picture"] = round(index.candidates_checked / len(words), 1)
    result["pairs_found"] = len(found)
    rerun = DuplicateIndex(config)
    rerun.add(words[:len(words) * 99 // 100])
    started = time.process_time()
    rerun.add(words[len(words) * 99 // 100:])
    result["add_last_1pct_s"] = round(time.process_time() - started, 3)
    result["curate"] = curate_step(words, config.max_distance)
    if brute:
        # rows checked by brute force: all, or a seeded sample whose time is scaled up (the
        # peer compares every row with every row, so its time is linear in the rows checked)
        rows = np.arange(len(words))
        if len(words) > BRUTE_ROWS:
            rows = np.sort(np.random.default_rng(len(words)).choice(len(words), BRUTE_ROWS,
                                                                    replace=False))
        started = time.process_time()
        truth = brute_pairs(words, rows, config.max_distance)
        result["brute_s"] = round((time.process_time() - started) * len(words) / len(rows), 2)
        result["brute_rows_checked"] = len(rows)
        checked = set(rows.tolist())
        found_set = {p for p in map(tuple, found.tolist()) if p[0] in checked or p[1] in checked}
        # an exact copy is paired with the first copy only, so score pairs between distinct hashes
        distinct = {p for p in truth if not (words[p[0]] == words[p[1]]).all()}
        result["pairs_true"] = len(truth)
        result["pair_recall"] = round(len(distinct & found_set) / max(1, len(distinct)), 4)
        flagged_true = {i for p in truth for i in p} & checked
        flagged = {i for g in groups for i in g} & checked
        result["flagged_true"] = len(flagged_true)
        result["flagged_recall"] = round(len(flagged & flagged_true) / max(1, len(flagged_true)),
                                         4)
        result["false_flags"] = len(flagged - flagged_true)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("galleries", nargs="+", type=Path)
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--curate-sizes", nargs="*", type=int, default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bands", type=int, default=IndexConfig.bands)
    parser.add_argument("--bits-per-band", type=int, default=IndexConfig.bits_per_band)
    parser.add_argument("--max-distance", type=int, default=IndexConfig.max_distance)
    args = parser.parse_args()
    config = IndexConfig(bands=args.bands, bits_per_band=args.bits_per_band,
                         max_distance=args.max_distance, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    report: dict = {"config": config.__dict__, "load_average": os.getloadavg(),
                    "band_recall": {d: round(float(band_recall(d, config)), 4)
                                    for d in (8, 16, 24, 32, 40, 48)}}
    for gallery in args.galleries:  # each alone, as curate sees it
        report[str(gallery)] = compare(hex_to_words(gallery_hashes([gallery])), config)
        print(json.dumps(report[str(gallery)]), flush=True)
    real = hex_to_words(gallery_hashes(args.galleries))  # the synthetic sets' pool
    for size in args.sizes:
        report[f"synthetic_{size}"] = compare(synthetic(real, size, rng), config)
        print(json.dumps(report[f"synthetic_{size}"]), flush=True)
    for size in args.curate_sizes:
        report[f"curate_{size}"] = curate_at_scale(synthetic(real, size, rng), config.max_distance)
        print(json.dumps(report[f"curate_{size}"]), flush=True)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
