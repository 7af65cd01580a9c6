"""Picture quality (curation/quality.py): blank, flat and near-empty pictures, framed ones."""

import numpy as np

from ganpage.curation.quality import (
    darkest_side,
    frame_threshold,
    ink,
    is_blank,
    quality_scores,
)
from helpers.curation import shapes


def test_one_colour_and_a_speck_on_white_are_blank_a_drawing_is_not():
    white = np.full((64, 64, 3), 255, np.uint8)
    grey = np.full((64, 64, 3), 128, np.uint8)
    speck = white.copy()
    speck[30:34, 30:34] = 0  # 16 of 4096 pixels
    noise = np.random.default_rng(0).integers(120, 136, (64, 64, 3), dtype=np.uint8)
    drawing = shapes(1, 0)
    scores = quality_scores(np.stack([white, grey, speck, noise, drawing]))
    assert [is_blank(s) for s in scores] == [True, True, True, True, False]
    assert scores[4]["ink"] > 0.1 and scores[4]["spread"] > 20


def test_ink_is_measured_against_the_background_whatever_its_colour():
    dark = np.zeros((32, 32, 3), np.uint8)
    dark[8:24, 8:24] = 200  # a quarter of the picture
    assert abs(ink(dark[None])[0] - 0.25) < 1e-6


def test_a_dark_strip_along_one_side_is_framed_against_the_training_pictures():
    real = np.stack([shapes(i, i % 3) for i in range(20)])
    framed = real[0].copy()
    framed[:, -2:] = 60  # a grey strip on the right
    threshold = frame_threshold(real)
    assert darkest_side(framed[None])[0] < threshold
    assert (darkest_side(real) < threshold).sum() <= 1  # the 5th percentile of 20
