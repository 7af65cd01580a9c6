"""A candidate-pair index for binary picture hashes: banded bit sampling (locality-sensitive
hashing for Hamming distance) finds the pairs likely within ``max_distance`` bits, each is then
checked exactly, and groups are kept in a union-find, so a re-run compares only new hashes.

Two hashes d bits apart of B agree on a band of k sampled bits with probability
(1 - d/B)^k, and on at least one of L bands with 1 - (1 - (1 - d/B)^k)^L (``band_recall``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WORD_BITS = 64
KEY_CHUNK = 1 << 15  # hashes turned into band keys at once: 32 MB of float32 bits


@dataclass(frozen=True)
class IndexConfig:
    bits: int = 256  # hash length (a multiple of 64)
    max_distance: int = 32  # pairs this many bits apart or fewer are duplicates
    bands: int = 64  # L
    bits_per_band: int = 20  # k; more bits -> fewer, surer candidates per band
    seed: int = 0  # which bits each band samples

    def __post_init__(self) -> None:
        if self.bits % WORD_BITS or not 0 < self.bits_per_band <= min(self.bits, 24):
            raise ValueError(f"bits must be a multiple of 64 and bits_per_band in 1..24, got "
                             f"{self.bits} and {self.bits_per_band}")


def band_recall(distance: int | np.ndarray, config: IndexConfig = IndexConfig()) -> np.ndarray:
    """Probability that two hashes ``distance`` bits apart share a band (are candidates)."""
    agree = (1.0 - np.asarray(distance, dtype=np.float64) / config.bits) ** config.bits_per_band
    return 1.0 - (1.0 - agree) ** config.bands


def hex_to_words(hashes: Sequence[str], bits: int = 256) -> np.ndarray:
    """Hex digests (``bits``/4 digits each) -> (N, bits/64) uint64, most significant first."""
    digits, count = bits // 4, bits // WORD_BITS
    if any(len(h) != digits for h in hashes):
        raise ValueError(f"a hash is not {digits} hex digits long")
    raw = bytes.fromhex("".join(hashes))  # ValueError on a digit that is not hex
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(hashes), count)


def hamming_rows(words: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Bits apart of rows i and j of (N, W) uint64 words, pair by pair -> (P,) int."""
    return np.bitwise_count(words[i] ^ words[j]).sum(axis=1, dtype=np.int64)


class DuplicateIndex:
    """Hashes added in batches; ``add`` returns the new near-duplicate pairs (each involving at
    least one new hash) and ``groups`` the union-find groups of everything added so far."""

    def __init__(self, config: IndexConfig = IndexConfig()):
        self.config = config
        rng = np.random.default_rng(config.seed)
        # (L, k) bit positions per band, each band without repeats
        self._positions = np.stack([rng.choice(config.bits, config.bits_per_band, replace=False)
                                    for _ in range(config.bands)])
        # (bits, L): 2^b where band L samples that bit as its b-th
        self._weights = np.zeros((config.bits, config.bands), dtype=np.float32)
        for band, positions in enumerate(self._positions):
            self._weights[positions, band] = 2.0 ** np.arange(config.bits_per_band)
        self._words = np.zeros((0, config.bits // WORD_BITS), dtype=np.uint64)  # (N, W)
        self._sorted_keys = np.zeros((config.bands, 0), dtype=np.uint64)  # (L, R) per band
        self._sorted_rows = np.zeros((config.bands, 0), dtype=np.int64)  # (L, R) their rows
        self._exact: dict[bytes, int] = {}  # a hash -> the first row that had it
        self._parent = np.zeros(0, dtype=np.int64)
        self.candidates_checked = 0  # pairs verified exactly, for benchmarks

    def __len__(self) -> int:
        return len(self._words)

    def restore(self, words: np.ndarray, roots: np.ndarray) -> None:
        """Index (M, W) hashes searched on an earlier run, with each row's group root (a row
        of these, its own root), without comparing them again: an index rebuilt from what a
        gallery stored, so that ``add`` then compares only the new hashes against them."""
        if len(self):
            raise ValueError("restore fills an empty index only")
        words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, self._words.shape[1])
        roots = np.asarray(roots, dtype=np.int64).reshape(len(words))
        if len(roots) and (roots[roots] != roots).any():
            raise ValueError("every row's root must be its own root")
        self._words, self._parent = words, roots.copy()
        _, fresh = self._exact_pairs(words, np.arange(len(words)))  # their pairs: in the roots
        keys = self._band_keys(words[fresh])  # (L, R)
        order = np.argsort(keys, axis=1, kind="stable")
        self._sorted_keys = np.take_along_axis(keys, order, axis=1)
        self._sorted_rows = fresh[order]

    def _band_keys(self, words: np.ndarray) -> np.ndarray:
        """(M, W) uint64 -> (L, M) uint64: each band's sampled bits packed into one word, as
        one matrix product per chunk: 0/1 bits (C, bits) @ (bits, L) powers of two (float32
        is exact here: every key is an integer below 2^k <= 2^24)."""
        keys = np.empty((self.config.bands, len(words)), dtype=np.uint64)
        for start in range(0, len(words), KEY_CHUNK):
            chunk = words[start:start + KEY_CHUNK].astype(">u8").view(np.uint8)
            bits = np.unpackbits(chunk, axis=1).astype(np.float32)  # (C, bits) 0/1
            keys[:, start:start + KEY_CHUNK] = (bits @ self._weights).T.astype(np.uint64)
        return keys

    def add(self, words: np.ndarray) -> np.ndarray:
        """Index (M, W) uint64 hashes as rows len(self).. ; -> (P, 2) int64 pairs (i < j) at
        most ``max_distance`` bits apart with j a new row (identical hashes included)."""
        words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, self._words.shape[1])
        start = len(self._words)
        rows = np.arange(start, start + len(words))
        self._words = np.concatenate([self._words, words])
        self._parent = np.concatenate([self._parent, rows])
        pairs, fresh = self._exact_pairs(words, rows)
        candidates = self._candidates(self._band_keys(words[fresh - start]), fresh)
        if len(candidates):
            self.candidates_checked += len(candidates)
            near = hamming_rows(self._words, candidates[:, 0], candidates[:, 1])
            pairs.append(candidates[near <= self.config.max_distance])
        found = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
        self._union(found)
        return found

    def _exact_pairs(self, words: np.ndarray, rows: np.ndarray
                     ) -> tuple[list[np.ndarray], np.ndarray]:
        """Pairs of a new hash with the first earlier copy of it, and the rows of hashes not
        seen before: a copy shares every neighbour of its first, so only that is indexed (a
        thousand blank pictures would otherwise fill one bucket with half a million pairs)."""
        pairs, fresh = [], []
        for row, key in zip(rows.tolist(), map(bytes, words), strict=True):
            first = self._exact.setdefault(key, row)
            if first == row:
                fresh.append(row)
            else:
                pairs.append((first, row))
        as_array = [np.array(pairs, dtype=np.int64).reshape(-1, 2)] if pairs else []
        return as_array, np.array(fresh, dtype=np.int64)

    def _candidates(self, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """New rows' band keys (L, M) -> unique (P, 2) pairs sharing a band, and the new rows
        merged into each band's sorted table."""
        found = []
        merged_keys, merged_rows = [], []
        for band in range(self.config.bands):
            old_keys, old_rows = self._sorted_keys[band], self._sorted_rows[band]
            order = np.argsort(keys[band], kind="stable")
            new_keys, new_rows = keys[band][order], rows[order]
            # new against old: the run of equal old keys for each new key
            lo = np.searchsorted(old_keys, new_keys, side="left")
            hi = np.searchsorted(old_keys, new_keys, side="right")
            found.append(_expand(new_rows, lo, hi, old_rows))
            # new against new: within each run of equal new keys, each with those before it
            run_start = np.searchsorted(new_keys, new_keys, side="left")
            found.append(_expand(new_rows, run_start, np.arange(len(new_keys)), new_rows))
            at = np.searchsorted(old_keys, new_keys, side="right")
            merged_keys.append(np.insert(old_keys, at, new_keys))
            merged_rows.append(np.insert(old_rows, at, new_rows))
        self._sorted_keys = np.stack(merged_keys) if merged_keys else self._sorted_keys
        self._sorted_rows = np.stack(merged_rows) if merged_rows else self._sorted_rows
        pairs = np.concatenate(found)
        if not len(pairs):
            return pairs
        pairs.sort(axis=1)
        # unique rows as one int64 each (i * N + j sorts as (i, j) does), by a sort:
        # np.unique(axis=0) sorts a structured view and 1-D np.unique hashes, both ~5x slower
        count = np.int64(len(self._words))
        flat = pairs[:, 0] * count + pairs[:, 1]
        flat.sort()
        unique = flat[np.concatenate([[True], flat[1:] != flat[:-1]])]
        return np.stack([unique // count, unique % count], axis=1)

    def _root(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    def _union(self, pairs: np.ndarray) -> None:
        for i, j in pairs.tolist():
            a, b = self._root(i), self._root(j)
            if a != b:
                self._parent[max(a, b)] = min(a, b)

    def roots(self) -> np.ndarray:
        """(N,) int64: each row's group root (the row itself when alone)."""
        return np.array([self._root(i) for i in range(len(self))], dtype=np.int64)

    def groups(self) -> list[list[int]]:
        """Groups of two or more rows linked by near-duplicate pairs, each sorted."""
        roots = self.roots()
        order = np.argsort(roots, kind="stable")
        _, starts, counts = np.unique(roots[order], return_index=True, return_counts=True)
        return sorted(order[s:s + c].tolist() for s, c in zip(starts, counts, strict=True)
                      if c > 1)


def _expand(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Pairs (rows[m], table[t]) for every t in [lo[m], hi[m]) -> (P, 2) int64."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if not total:
        return np.zeros((0, 2), dtype=np.int64)
    left = np.repeat(rows, counts)
    # positions lo[m], lo[m]+1, ... for each m, without a Python loop
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.stack([left, table[np.repeat(lo, counts) + offsets]], axis=1)


def duplicate_groups(hashes: Sequence[str], config: IndexConfig = IndexConfig()
                     ) -> list[list[int]]:
    """Groups of two or more of ``hashes`` (hex) linked by pairs the index finds."""
    index = DuplicateIndex(config)
    index.add(hex_to_words(hashes, config.bits))
    return index.groups()
