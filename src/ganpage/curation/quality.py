"""Picture quality without a classifier: blank, flat or near-empty pictures, and framed ones
(a dark or grey strip along one side, which emoji64 drew on about a quarter of its seeds).

Values per picture (all 0-255 brightness or shares, so they read the same at any size):
``spread`` is the standard deviation of the grey values, ``ink`` the share of pixels that
differ from the background (the median colour of the outermost pixels), ``darkest_side`` the
mean brightness of the darkest 2-pixel side strip.
"""

from __future__ import annotations

import numpy as np

STRIP = 2  # pixels of each side strip
REAL_PERCENTILE = 5.0  # a frame is darker than this percentile of training pictures' sides
FLAT_SPREAD = 2.0  # grey standard deviation below which a picture is one flat colour
INK_DIFFERENCE = 32  # a pixel is ink when a channel differs this much from the background
EMPTY_INK = 0.01  # under 1% ink: the picture is background with a speck


def darkest_side(pictures: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N,) mean brightness of the darkest 2-pixel side strip."""
    sides = [pictures[:, :STRIP], pictures[:, -STRIP:], pictures[:, :, :STRIP],
             pictures[:, :, -STRIP:]]  # only the strips are converted, not whole pictures
    return np.min([side.mean(axis=(1, 2, 3), dtype=np.float32) for side in sides], axis=0)


def spread(pictures: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N,) standard deviation of the grey values."""
    return pictures.astype(np.float32).mean(axis=3).std(axis=(1, 2))


def ink(pictures: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N,) share of pixels unlike the background colour."""
    border = np.concatenate([pictures[:, 0], pictures[:, -1], pictures[:, :, 0],
                             pictures[:, :, -1]], axis=1)  # (N, 2H + 2W, 3)
    background = np.median(border, axis=1).astype(np.int16)  # (N, 3)
    # |x - background| > INK_DIFFERENCE as two uint8 comparisons: no int16 copy of the pictures
    high = np.clip(background + INK_DIFFERENCE, 0, 255).astype(np.uint8)[:, None, None, :]
    low = np.clip(background - INK_DIFFERENCE, 0, 255).astype(np.uint8)[:, None, None, :]
    differs = ((pictures > high) | (pictures < low)).any(axis=3)  # (N, H, W)
    return differs.mean(axis=(1, 2))


def quality_scores(pictures: np.ndarray) -> list[dict[str, float]]:
    """The quality scores of each picture, as stored in the gallery index."""
    values = zip(spread(pictures), ink(pictures), darkest_side(pictures), strict=True)
    return [{"spread": round(float(s), 3), "ink": round(float(i), 4),
             "darkest_side": round(float(d), 2)} for s, i, d in values]


def is_blank(scores: dict) -> bool:
    """Blank, flat or near-empty: one colour, or background with a speck on it."""
    return scores["spread"] < FLAT_SPREAD or scores["ink"] < EMPTY_INK


def frame_threshold(real_pictures: np.ndarray) -> float:
    """The darkest side below which a picture counts as framed: the 5th percentile of the
    training pictures' (so 5% of real pictures count: some emoji fill their square)."""
    return float(np.percentile(darkest_side(real_pictures), REAL_PERCENTILE))
