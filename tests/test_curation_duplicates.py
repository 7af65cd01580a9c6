"""Near-duplicates (curation/duplicates.py): hashes, pairs and groups, within and across
categories."""

import numpy as np

from ganpage.curation import duplicates
from ganpage.curation.duplicates import (
    MAX_DISTANCE,
    duplicate_groups,
    duplicate_pairs,
    picture_hash,
)
from helpers.curation import shapes, shifted


def test_identical_and_slightly_changed_pictures_hash_alike_different_ones_do_not():
    base = shapes(1, 0)
    brighter = np.clip(base.astype(int) + 6, 0, 255).astype(np.uint8)
    hashes = [picture_hash(p) for p in (base, base.copy(), brighter, shifted(base, 1),
                                        shapes(2, 0), shapes(3, 1))]
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
    assert duplicate_groups(hashes) == [[0, 1, 2, 3]]


def test_pairs_are_found_across_chunks_and_counted_in_bits(monkeypatch):
    monkeypatch.setattr(duplicates, "_CELLS", 4)  # compare fewer than all rows at once
    a = "0" * 64
    near = f"{(1 << MAX_DISTANCE) - 1:064x}"  # MAX_DISTANCE bits differ: still a pair
    far = f"{(1 << (MAX_DISTANCE + 1)) - 1:064x}"  # one more: not
    hashes = [a, far, near] + [f"{((1 << 256) - 1) ^ i:064x}" for i in range(3)]
    pairs = duplicate_pairs(hashes)
    assert (0, 2) in pairs and (0, 1) not in pairs
    assert (1, 2) in pairs  # far and near differ in one bit
    groups = duplicate_groups(hashes)
    assert groups[0] == [0, 1, 2] and groups[1] == [3, 4, 5]


def test_no_pictures_no_groups():
    assert duplicate_groups([]) == []
