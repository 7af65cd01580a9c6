"""Seeded random draws that every Python and numpy version repeats: SplitMix64, written out here.

Plans and samples must agree across machines (``--shard`` splits one plan over N of them), but
Python promises nothing about ``random.sample`` or ``randrange`` across versions, and numpy's
``Generator`` methods may change their streams too. SplitMix64 (Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014) is three lines of 64-bit arithmetic;
every draw below is derived from its outputs by a formula written in this file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
T = TypeVar("T")


class StableRandom:
    """A SplitMix64 stream from a seed in [0, 2**64) with uniform, integer and sample draws."""

    def __init__(self, seed: int):
        if not 0 <= seed <= MASK64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        self._state = seed

    def next_u64(self) -> int:
        """The next 64-bit output."""
        self._state = (self._state + GOLDEN_GAMMA) & MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self) -> float:
        """A float in the open interval (0, 1): the top 52 bits of one output plus half a step,
        over 2**52 (exact in a double, so neither 0 nor 1 and its logarithm always finite)."""
        return ((self.next_u64() >> 12) + 0.5) / 2**52

    def below(self, n: int) -> int:
        """An exactly uniform integer in [0, n), 1 <= n <= 2**64: outputs at or above the
        largest multiple of n are drawn again, the rest taken modulo n."""
        if not 1 <= n <= 1 << 64:
            raise ValueError(f"n must be in [1, 2**64], got {n}")
        limit = (1 << 64) - (1 << 64) % n
        while (value := self.next_u64()) >= limit:
            pass
        return value % n

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """``k`` distinct items in draw order: the first k steps of a Fisher-Yates shuffle
        (step i swaps position i with i + below(len - i))."""
        if not 0 <= k <= len(items):
            raise ValueError(f"cannot sample {k} of {len(items)} items")
        pool = list(items)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
