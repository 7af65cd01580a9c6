"""One-pass, seeded, exactly uniform sampling of K lines from a huge URL list (plain or gzip).

Reservoir sampling with Li's Algorithm L ("Reservoir-sampling algorithms of time complexity
O(n(1 + log(N/n)))", ACM TOMS 1994): after the reservoir fills, it draws how many lines to skip
rather than one random number per line, so the pass costs little more than reading the file in
large chunks and splitting it into lines.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ganpage.rng import StableRandom

CHUNK_BYTES = 16 * 1024 * 1024
WNID_LINE = re.compile(r"^(n\d{8})_\d+\s+(\S+)\s*$")
URL_LINE = re.compile(r"^(https?://\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class UrlEntry:
    """One sampled line: its 0-based number in the list, its URL and its class (or '')."""

    line: int
    url: str
    wnid: str


def iter_lines(path: Path) -> Iterator[list[bytes]]:
    """The file's lines in large batches (gzip detected by its magic bytes)."""
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    with opener(path, "rb") as stream:
        rest = b""
        while chunk := stream.read(CHUNK_BYTES):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            yield [rest]


def _lines_to_skip(rng: StableRandom, log_weight: float) -> int:
    """Algorithm L's geometric skip, floor(log(u) / log(1 - w)), with w = exp(log_weight) kept
    in log space: 1 - w is -expm1(log_weight), which never rounds to 0 as 1 - w can for large k.
    """
    return math.floor(math.log(rng.uniform()) / math.log(-math.expm1(log_weight)))


def reservoir_sample(path: Path, k: int, seed: int) -> tuple[list[tuple[int, bytes]], int]:
    """A uniform sample of ``k`` (line number, line) pairs in file order, and the line count."""
    if k < 1:
        raise ValueError("the sample size must be at least 1")
    rng = StableRandom(seed)
    reservoir: list[tuple[int, bytes]] = []
    log_weight = math.log(rng.uniform()) / k
    next_pick = k + _lines_to_skip(rng, log_weight)
    start = 0  # line number of the batch's first line
    for lines in iter_lines(path):
        end = start + len(lines)
        if len(reservoir) < k:
            take = min(k - len(reservoir), len(lines))
            reservoir.extend((start + i, lines[i]) for i in range(take))
        while next_pick < end:
            if next_pick >= start and next_pick >= k:
                reservoir[rng.below(k)] = (next_pick, lines[next_pick - start])
                log_weight += math.log(rng.uniform()) / k
            next_pick += _lines_to_skip(rng, log_weight) + 1
        start = end
    return sorted(reservoir), start


def parse_line(number: int, raw: bytes) -> UrlEntry | None:
    """``<wnid>_<n> <url>`` or a bare URL; None for anything else (counted as a bad line)."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if match := WNID_LINE.match(text):
        return UrlEntry(number, match.group(2), match.group(1))
    if match := URL_LINE.match(text):
        return UrlEntry(number, match.group(1), "")
    return None
