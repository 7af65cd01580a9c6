"""The LSH candidate-pair index (curation/duplicate_index.py) against brute force, in batches."""

import numpy as np
import pytest

from ganpage.curation.duplicate_index import (
    DuplicateIndex,
    IndexConfig,
    band_recall,
    duplicate_groups,
    hex_to_words,
)
from ganpage.curation.duplicates import duplicate_groups as brute_groups
from ganpage.curation.duplicates import duplicate_pairs


def hashes_with_copies(count: int, seed: int) -> np.ndarray:
    """(2 * count + 3, 4) uint64: random hashes, a copy of each 0-40 bits away, 3 exact copies."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, (count, 4), dtype=np.uint64)
    flips = np.zeros((count, 256), dtype=np.uint8)
    for row in flips:
        row[rng.choice(256, rng.integers(0, 41), replace=False)] = 1
    copies = base ^ np.packbits(flips, axis=1).view(">u8").astype(np.uint64)
    return np.concatenate([base, copies, base[:3]])


def as_hex(words: np.ndarray) -> list[str]:
    return ["".join(f"{w:016x}" for w in row) for row in words.tolist()]


def test_hex_round_trip():
    words = hashes_with_copies(5, 0)
    assert (hex_to_words(as_hex(words)) == words).all()


def test_groups_match_brute_force_whatever_the_batches():
    words = hashes_with_copies(200, 1)
    expected = brute_groups(as_hex(words))
    assert expected  # the set holds duplicates
    whole = DuplicateIndex()
    whole.add(words)
    assert whole.groups() == expected
    batched = DuplicateIndex()
    for start in range(0, len(words), 37):  # re-runs: each batch against those before it
        batched.add(words[start:start + 37])
    assert batched.groups() == expected
    assert duplicate_groups(as_hex(words)) == expected


def test_add_returns_only_pairs_with_a_new_hash_and_every_pair_is_within_the_distance():
    words = hashes_with_copies(100, 2)
    index = DuplicateIndex()
    first = index.add(words[:150])
    later = index.add(words[150:])
    truth = set(duplicate_pairs(as_hex(words)))
    assert set(map(tuple, first.tolist())) <= truth
    assert set(map(tuple, later.tolist())) <= truth
    assert (later[:, 1] >= 150).all() and (later[:, 0] < later[:, 1]).all()
    assert (first < 150).all()


def test_exact_copies_pair_with_the_first_copy_and_stay_out_of_the_buckets():
    word = np.full((1, 4), 7, dtype=np.uint64)
    index = DuplicateIndex()
    pairs = index.add(np.repeat(word, 500, axis=0))
    assert len(pairs) == 499 and (pairs[:, 0] == 0).all()
    assert index.candidates_checked == 0
    assert index.groups() == [list(range(500))]


def test_the_distance_bound_is_inclusive():
    config = IndexConfig(max_distance=32)
    near = np.array([[0, 0, 0, 0], [(1 << 32) - 1, 0, 0, 0]], dtype=np.uint64)
    far = np.array([[0, 0, 0, 0], [(1 << 33) - 1, 0, 0, 0]], dtype=np.uint64)
    # a fixed seed: this pair shares a band (the test checks verification, not luck)
    assert DuplicateIndex(config).add(near).tolist() == [[0, 1]]
    assert DuplicateIndex(config).add(far).tolist() == []


def test_band_recall_formula_and_config_checks():
    config = IndexConfig(bands=64, bits_per_band=20)
    assert band_recall(0, config) == pytest.approx(1.0)
    assert band_recall(32, config) > 0.98
    assert band_recall(128, config) < 1e-3
    with pytest.raises(ValueError):
        IndexConfig(bits=100)


def test_empty_adds():
    index = DuplicateIndex()
    assert index.add(np.zeros((0, 4), dtype=np.uint64)).shape == (0, 2)
    assert index.groups() == [] and len(index) == 0
