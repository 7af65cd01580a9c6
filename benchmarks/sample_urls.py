"""Reservoir sampling of 35,000 lines from a generated 14,197,122-line ImageNet-style URL list,
beside the seed's algorithm (numpy `in` test per line, run on a prefix and extrapolated).

Goal (issue 3): the whole list in under 15 s on the 2-core machine.
Usage: python benchmarks/sample_urls.py [--lines 14197122] [--prefix 200000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from ganpage.data.sampling import reservoir_sample

FULL_LINES = 14_197_122
SAMPLE = 35_000


def write_list(path: Path, lines: int) -> None:
    """Lines shaped like fall11_urls.txt: '<wnid>_<n> http://farmN.static.flickr.com/...jpg'."""
    rng = random.Random(0)
    with open(path, "w") as out:
        block = []
        for i in range(lines):
            block.append(f"n{rng.randrange(10**8):08d}_{i % 1300} http://farm{i % 9 + 1}.static."
                         f"flickr.com/{rng.randrange(9999)}/{rng.randrange(10**10)}_"
                         f"{rng.getrandbits(40):010x}.jpg\n")
            if len(block) == 100_000:
                out.write("".join(block))
                block.clear()
        out.write("".join(block))


def seed_algorithm(path: Path, total_lines: int, prefix_lines: int) -> float:
    """The seed's loop (blog post part 1), stopped after ``prefix_lines``; returns seconds."""
    image_ids = np.random.choice(range(total_lines), SAMPLE, replace=False)
    urls = []
    started = time.perf_counter()
    with open(path, "rb") as input_file:
        image_id = 0
        line = input_file.readline()
        while line and len(urls) < SAMPLE and image_id < prefix_lines:
            if image_id in image_ids:
                urls.append(line.decode("utf8").strip().split(maxsplit=1)[-1])
            image_id += 1
            line = input_file.readline()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=FULL_LINES)
    parser.add_argument("--prefix", type=int, default=200_000)
    parser.add_argument("--list", type=Path, help="use this list instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.list or Path(scratch) / "urls.txt"
        if args.list is None:
            started = time.perf_counter()
            write_list(path, args.lines)
            print(f"generated {args.lines:,} lines ({path.stat().st_size / 1e6:,.0f} MB) in "
                  f"{time.perf_counter() - started:.0f} s")
        size_mb = path.stat().st_size / 1e6
        started = time.perf_counter()
        sample, total = reservoir_sample(path, SAMPLE, seed=0)
        ours = time.perf_counter() - started
        seed_prefix = seed_algorithm(path, total, args.prefix)
    seed_full = seed_prefix * total / args.prefix
    print(f"ganpage reservoir sample: {len(sample):,} of {total:,} lines in {ours:.2f} s "
          f"({size_mb / ours:,.0f} MB/s)  goal < 15 s")
    print(f"seed's loop: {args.prefix:,} lines in {seed_prefix:.2f} s -> {seed_full:,.0f} s "
          f"extrapolated for {total:,} lines")
    print(f"speed-up: {seed_full / ours:,.0f}x")


if __name__ == "__main__":
    main()
