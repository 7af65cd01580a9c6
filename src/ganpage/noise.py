"""Seeded latent noise that Python, the static site and the browser reproduce bit for bit.

A permalink is (model, category, seed, truncation). The noise for a seed comes from this module,
never from a framework's global RNG, so any runtime that implements the three steps below gets
the same latent vector:

1. Uniforms: mulberry32 (Tommy Ettinger's public-domain 32-bit generator), state = seed mod 2**32.
   Each draw: ``state += 0x6D2B79F5``; ``t = imul(state ^ state >>> 15, state | 1)``;
   ``t ^= t + imul(t ^ t >>> 7, t | 61)``; ``u = (t ^ t >>> 14) / 2**32`` in [0, 1).
2. Normals: Box-Muller on two consecutive uniforms, cosine branch only:
   ``n = sqrt(-2 ln(1 - u1)) * cos(2 pi u2)`` (``1 - u1`` keeps the logarithm finite).
3. Truncated normals (BigGAN's truncation trick): entry i of the vector is the first normal of
   the stream with ``|n| <= 2``; rejected normals are skipped. The latent is that vector times
   ``truncation`` (float64 arithmetic, cast to float32 at the end).

Every latent dimension is drawn in order 0..z_dim-1 from one stream per seed.

4. Style (for models trained with a style label, ``num_styles`` > 0): the next uniform ``u`` of
   the same stream, after the latent's last accepted normal, picks style ``floor(u * num_styles)``
   (exact in float64, so every runtime picks the same one). Truncation does not change it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MULBERRY_INCREMENT = np.uint32(0x6D2B79F5)
MAX_SEED = 2**32 - 1  # a seed is a mulberry32 state: seed and seed + 2**32 draw the same noise
TRUNCATION_BOUND = 2.0


class Mulberry32:
    """Vectorised mulberry32: one independent 32-bit stream per seed."""

    def __init__(self, seeds: Sequence[int] | np.ndarray):
        self.state = np.asarray([int(s) % 2**32 for s in np.ravel(seeds)], dtype=np.uint32)

    def uniform(self, active: np.ndarray | None = None) -> np.ndarray:
        """Advance the streams (all, or those where ``active``) and return floats in [0, 1)."""
        state = self.state if active is None else self.state[active]
        state = state + MULBERRY_INCREMENT
        t = (state ^ (state >> np.uint32(15))) * (state | np.uint32(1))
        t ^= t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))
        out = (t ^ (t >> np.uint32(14))).astype(np.float64) / 2.0**32
        if active is None:
            self.state = state
        else:
            self.state[active] = state
        return out

    def normal(self, active: np.ndarray | None = None) -> np.ndarray:
        """Standard normals by the cosine branch of Box-Muller (two uniforms each)."""
        u1 = self.uniform(active)
        u2 = self.uniform(active)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def uniforms(seed: int, count: int) -> np.ndarray:
    """The first ``count`` uniforms of a seed's stream, shape (count,), float64 in [0, 1)."""
    rng = Mulberry32([seed])
    return np.concatenate([rng.uniform() for _ in range(count)]) if count else np.zeros(0)


def truncated_noise(seeds: Sequence[int], z_dim: int, truncation: float = 1.0) -> np.ndarray:
    """Latents for ``seeds``: (B, z_dim) float32, entries in [-2, 2] * truncation."""
    if not 0.0 < truncation <= 1.0:
        raise ValueError(f"truncation must be in (0, 1], got {truncation}")
    z, _ = _unit_latents(seeds, z_dim)
    return (z * truncation).astype(np.float32)


def style_ids(seeds: Sequence[int], z_dim: int, num_styles: int) -> np.ndarray:
    """The style each seed draws (step 4 of the module docstring): (B,) int64 in
    [0, num_styles)."""
    return noise_and_styles(seeds, z_dim, 1.0, num_styles)[1]


def noise_and_styles(seeds: Sequence[int], z_dim: int, truncation: float,
                     num_styles: int) -> tuple[np.ndarray, np.ndarray]:
    """``truncated_noise`` and ``style_ids`` of the same seeds from one pass over their
    streams: (B, z_dim) float32 and (B,) int64."""
    if not 0.0 < truncation <= 1.0:
        raise ValueError(f"truncation must be in (0, 1], got {truncation}")
    if num_styles < 1:
        raise ValueError(f"num_styles must be at least 1, got {num_styles}")
    z, rng = _unit_latents(seeds, z_dim)
    styles = np.floor(rng.uniform() * num_styles).astype(np.int64)
    return (z * truncation).astype(np.float32), styles


def _unit_latents(seeds: Sequence[int], z_dim: int) -> tuple[np.ndarray, Mulberry32]:
    """Steps 1-3 at truncation 1: (B, z_dim) float64, and the streams just after them."""
    rng = Mulberry32(seeds)
    z = np.empty((len(rng.state), z_dim), dtype=np.float64)
    for i in range(z_dim):
        column = rng.normal()
        rejected = np.abs(column) > TRUNCATION_BOUND
        while rejected.any():
            column[rejected] = rng.normal(rejected)
            rejected = np.abs(column) > TRUNCATION_BOUND
        z[:, i] = column
    return z, rng
