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


def test_feature_hash_is_fixed_by_its_seed_and_blind_to_scale():
    features = np.random.default_rng(0).random((3, 48))  # non-negative, like pooled ReLUs
    hashes = duplicates.feature_hashes(features)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
    assert duplicates.feature_hashes(features.copy()) == hashes
    assert duplicates.feature_hashes(features.astype(np.float32) * 7.5) == hashes
    # the projection is pinned: a stored feature_hash stays comparable with a new one
    assert hashes[0][:16] == PINNED_FEATURE_HASH_PREFIX
    assert duplicates.feature_hashes(features, seed=1) != hashes


PINNED_FEATURE_HASH_PREFIX = "4be394856c0d9689"


def test_feature_hash_distance_estimates_the_angle():
    rng = np.random.default_rng(1)
    dimensions, bits = 64, duplicates.FEATURE_HASH_BITS
    base = rng.standard_normal((200, dimensions))
    noise = rng.standard_normal((200, dimensions))
    for mix in (0.1, 0.3, 0.6):
        other = base + mix * noise
        cos = (base * other).sum(1) / np.linalg.norm(base, axis=1) / np.linalg.norm(other, axis=1)
        expected = np.arccos(np.clip(cos, -1, 1)) / np.pi * bits
        a = duplicates.feature_hashes(base)
        b = duplicates.feature_hashes(other)
        apart = np.array([bin(int(x, 16) ^ int(y, 16)).count("1")
                          for x, y in zip(a, b, strict=True)])
        assert abs(apart.mean() - expected.mean()) < 0.05 * expected.mean() + 1
