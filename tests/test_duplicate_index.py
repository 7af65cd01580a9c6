"""The LSH candidate-pair index (curation/duplicate_index.py) against brute force, in batches,
and the stored groups curate keeps with it (curation/duplicates.py's update_groups)."""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganpage.curation import duplicate_index, duplicates
from ganpage.curation.duplicate_index import (
    DuplicateIndex,
    IndexConfig,
    band_recall,
    duplicate_groups,
    hex_to_words,
)
from ganpage.curation.duplicates import duplicate_groups as brute_groups
from ganpage.curation.duplicates import duplicate_pairs, update_groups


def hashes_with_copies(count: int, seed: int, max_flips: int = 40) -> np.ndarray:
    """(2 * count + 3, 4) uint64: random hashes, a copy of each 0-``max_flips`` bits away, 3
    exact copies."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, (count, 4), dtype=np.uint64)
    flips = np.zeros((count, 256), dtype=np.uint8)
    for row in flips:
        row[rng.choice(256, rng.integers(0, max_flips + 1), replace=False)] = 1
    copies = base ^ np.packbits(flips, axis=1).view(">u8").astype(np.uint64)
    return np.concatenate([base, copies, base[:3]])


def as_hex(words: np.ndarray) -> list[str]:
    return ["".join(f"{w:016x}" for w in row) for row in words.tolist()]


@pytest.mark.parametrize("bad", ["ab", "zz" * 32, "f" * 65])
def test_a_hash_of_the_wrong_length_or_digits_is_refused(bad):
    with pytest.raises(ValueError):
        hex_to_words(["0" * 64, bad])


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


# 64 bands of 20 bits (the default): a pair 16 bits apart shares no band with probability
# (1 - (1 - 16/256)^20)^64 ~ 1e-9, so within 16 bits the index must find exactly brute force's
# pairs; planted pairs sit 0-16 bits apart, random hashes ~128 bits from everything
RADIUS = 16


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 120),
       planted=st.integers(0, 40), batch=st.integers(7, 200))
def test_property_pairs_within_the_radius_equal_brute_force(seed, count, planted, batch):
    assert 1 - band_recall(RADIUS) < 1e-8
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, (count, 4), dtype=np.uint64)
    sources = rng.integers(0, count, planted)
    flips = np.zeros((planted, 256), dtype=np.uint8)
    for row in flips:
        row[rng.choice(256, rng.integers(0, RADIUS + 1), replace=False)] = 1
    near = base[sources] ^ np.packbits(flips, axis=1).view(">u8").astype(np.uint64)
    words = rng.permutation(np.concatenate([base, near]))
    index = DuplicateIndex(IndexConfig(max_distance=RADIUS))
    found = np.concatenate([index.add(words[s:s + batch]) for s in range(0, len(words), batch)])
    expected = set(duplicate_pairs(as_hex(words), RADIUS))
    pairs = set(map(tuple, found.tolist()))
    assert pairs <= expected
    assert index.groups() == brute_groups(as_hex(words), RADIUS)
    # an exact copy pairs with its first copy only; among first copies, every pair is found
    _, first = np.unique(words, axis=0, return_index=True)
    firsts = set(first.tolist())
    assert {(i, j) for i, j in expected if i in firsts and j in firsts} <= pairs


def test_restore_then_add_equals_adding_everything():
    words = hashes_with_copies(150, 3, RADIUS)
    whole = DuplicateIndex()
    whole.add(words)
    old = DuplicateIndex()
    old.add(words[:200])
    restored = DuplicateIndex()
    restored.restore(words[:200], old.roots())
    assert restored.candidates_checked == 0
    restored.add(words[200:])
    assert restored.groups() == whole.groups() == brute_groups(as_hex(words))
    with pytest.raises(ValueError):
        DuplicateIndex().restore(words[:2], np.array([1, 0]))  # 0's root is not its own


@dataclass
class Record:
    id: str
    scores: dict


def records_of(words: np.ndarray) -> list[Record]:
    return [Record(f"pic-{n:04d}", {"dhash": h}) for n, h in enumerate(as_hex(words))]


def checked_pairs(monkeypatch) -> list[tuple[int, int]]:
    """Every candidate pair the index checks exactly, as rows, from now on."""
    checked: list[tuple[int, int]] = []
    real = duplicate_index.hamming_rows

    def spy(words, i, j):
        checked.extend(zip(i.tolist(), j.tolist(), strict=True))
        return real(words, i, j)

    monkeypatch.setattr(duplicate_index, "hamming_rows", spy)
    return checked


def test_a_rerun_with_nothing_new_does_no_pair_work(monkeypatch):
    records = records_of(hashes_with_copies(100, 4, RADIUS))
    first = update_groups(records)
    assert first.compared == len(records) and first.candidates > 0
    assert first.groups == brute_groups([r.scores["dhash"] for r in records])
    stored = [dict(r.scores) for r in records]

    def no_index(*args, **kwargs):
        raise AssertionError("a re-run with nothing new built an index")

    monkeypatch.setattr(duplicates, "DuplicateIndex", no_index)
    again = update_groups(records)
    assert (again.compared, again.candidates, again.changed) == (0, 0, [])
    assert again.groups == first.groups
    assert [r.scores for r in records] == stored


def test_a_rerun_with_10_new_pictures_checks_only_pairs_involving_them(monkeypatch):
    # 203 hashes (copies within RADIUS: brute force's groups); the last 10 new on the re-run
    words = hashes_with_copies(100, 5, RADIUS)
    records = records_of(words)
    update_groups(records[:-10])
    checked = checked_pairs(monkeypatch)
    again = update_groups(records)
    assert again.compared == 10 and again.candidates == len(checked) > 0
    # rows: the 193 stored pictures first, then the 10 new ones
    assert all(max(i, j) >= len(records) - 10 for i, j in checked)
    assert again.groups == brute_groups(as_hex(words))
    # every new picture's group is stored now; a stored picture's changes only if a new one
    # joined two groups
    assert set(again.changed) >= set(range(len(records) - 10, len(records)))


def test_groups_found_at_another_distance_are_found_again():
    words = hashes_with_copies(60, 6, RADIUS)
    records = records_of(words)
    update_groups(records, max_distance=32)
    wider = update_groups(records, max_distance=40)
    assert wider.compared == len(records)
    assert wider.groups == brute_groups(as_hex(words), 40)
    assert all(r.scores[duplicates.GROUP_KEY].startswith("40:") for r in records)


def test_new_pictures_added_in_chunks_find_the_same_groups(monkeypatch):
    words = hashes_with_copies(80, 7, RADIUS)
    monkeypatch.setattr(duplicates, "ADD_CHUNK", 7)
    assert update_groups(records_of(words)).groups == brute_groups(as_hex(words))
