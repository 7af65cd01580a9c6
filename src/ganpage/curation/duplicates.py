"""Near-duplicate pictures inside a gallery, within and across categories.

Each picture gets a 256-bit difference hash (``data/decode.py``'s dHash on a 16 x 17 grey
thumbnail, stored as 64 hex digits in its scores as ``dhash``); two pictures are near
duplicates when their hashes differ in at most ``MAX_DISTANCE`` bits, and a group is every
picture linked to another by such pairs. 256 bits rather than 64: at 8 x 9 every yellow round
face of emoji64 hashed alike.

``update_groups`` finds the groups with the candidate-pair index (``duplicate_index.py``) and
keeps each picture's group in its scores (``duplicate_group``), so a re-run compares only the
pictures that have none against the rest, and one with nothing new compares nothing.
``duplicate_pairs``/``duplicate_groups`` compare every pair (tests, benchmarks).
``feature_hashes`` (a SimHash of classifier features) is measured by the benchmarks only: it
matches people better pair by pair, but its groups chain whole categories together
(docs/duplicates-calibration), so curate does not use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from ganpage.curation.duplicate_index import DuplicateIndex, IndexConfig, hex_to_words
from ganpage.data.decode import difference_hash

HASH_SIZE = 16
HASH_BITS = HASH_SIZE * HASH_SIZE
# bits of 256 (``--duplicate-bits``). Measured on emoji64 at truncation 0.7: seeds 0 and 1 of
# each of its 682 categories are a median 31 bits apart (54% within 32) and pairs up to 36 bits
# look the same at a glance; no picture of another category came nearer than 45 bits, and
# those pairs differ in colour, which a grey hash does not see. 32 keeps that margin.
MAX_DISTANCE = 32
_CELLS = 1 << 22  # hash pairs compared at once (4 words each: 128 MB)


def picture_hash(picture: np.ndarray) -> str:
    """uint8 (H, W, 3) -> its 256-bit dHash as 64 hex digits."""
    return f"{difference_hash(Image.fromarray(picture), HASH_SIZE):064x}"


# the classifier-feature hash (``feature_hash``): SimHash, the signs of the penultimate features
# times a fixed seeded Gaussian projection. Two feature vectors an angle a apart differ in each
# bit with probability a / pi, so the Hamming distance estimates the classifier's cosine, the
# measure that best matched two blind judges (docs/duplicates-calibration).
FEATURE_HASH_BITS = 256
FEATURE_HASH_SEED = 31  # changing it changes every stored feature_hash: never without a rescore


def feature_projection(dimensions: int, bits: int = FEATURE_HASH_BITS,
                       seed: int = FEATURE_HASH_SEED) -> np.ndarray:
    """(dimensions, bits) float64 standard normal, the same for a seed on every machine."""
    return np.random.default_rng([seed, dimensions]).standard_normal((dimensions, bits))


def feature_hashes(features: np.ndarray, seed: int = FEATURE_HASH_SEED) -> list[str]:
    """(N, D) classifier features -> each one's 256-bit SimHash as 64 hex digits."""
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    signs = (features @ feature_projection(features.shape[1], seed=seed)) > 0  # (N, 256)
    packed = np.packbits(signs, axis=1)  # (N, 32) bytes, most significant bit first
    return [row.tobytes().hex() for row in packed]


def duplicate_pairs(hashes: Sequence[str], max_distance: int = MAX_DISTANCE
                    ) -> list[tuple[int, int]]:
    """Index pairs (i < j) of hashes at most ``max_distance`` bits apart."""
    words = hex_to_words(hashes, HASH_BITS)
    pairs: list[tuple[int, int]] = []
    rows_at_once = max(1, _CELLS // max(1, len(words)))
    for start in range(0, len(words), rows_at_once):
        block = words[start:start + rows_at_once]  # (B, 4)
        distances = np.bitwise_count(block[:, None, :] ^ words[None, :, :]).sum(axis=2)
        rows, columns = np.nonzero(distances <= max_distance)  # (B, N) -> matches
        pairs.extend((int(r) + start, int(c)) for r, c in zip(rows, columns, strict=True)
                     if r + start < c)
    return pairs


def duplicate_groups(hashes: Sequence[str], max_distance: int = MAX_DISTANCE
                     ) -> list[list[int]]:
    """Groups of two or more indices linked by near-duplicate pairs, each sorted."""
    parent = list(range(len(hashes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in duplicate_pairs(hashes, max_distance):
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(hashes)):
        groups.setdefault(root(i), []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


# scores key: "<max_distance>:<id of the group's root picture>" (the picture's own id when it
# has no near duplicate). Groups found at another distance are found again from scratch; a
# merge into another gallery drops the key (gallery.GALLERY_RELATIVE_SCORES).
GROUP_KEY = "duplicate_group"
ADD_CHUNK = 1 << 16  # new hashes added to the index at once


class Scored(Protocol):
    id: str
    scores: dict


@dataclass
class GroupUpdate:
    groups: list[list[int]]  # positions in the records given, groups of 2+, each sorted
    compared: int = 0  # pictures without a stored group, compared against the rest
    candidates: int = 0  # candidate pairs checked exactly
    changed: list[int] = field(default_factory=list)  # positions whose stored group changed


def update_groups(records: Sequence[Scored], max_distance: int = MAX_DISTANCE) -> GroupUpdate:
    """Near-duplicate groups of ``records`` (each with a ``dhash`` score): the stored groups of
    those that have one, the new ones compared with the index against everything; each
    record's ``duplicate_group`` score is set to its group (a new dict, not changed in place).
    """
    stamp = f"{max_distance}:"
    stored = _stored_roots(records, stamp)
    old = sorted(stored)
    new = [n for n in range(len(records)) if n not in stored]
    if not new:  # nothing to compare: the stored groups are the groups
        return GroupUpdate(_groups_of(stored))
    index = DuplicateIndex(IndexConfig(max_distance=max_distance))
    words = hex_to_words([records[n].scores["dhash"] for n in old + new])
    row_of = {n: row for row, n in enumerate(old)}
    index.restore(words[:len(old)], np.array([row_of[stored[n]] for n in old], dtype=np.int64))
    for start in range(len(old), len(words), ADD_CHUNK):  # bounded memory: candidates of a
        index.add(words[start:start + ADD_CHUNK])  # chunk at once (same pairs as one add)
    order = old + new  # row -> position
    roots = {n: order[root] for n, root in zip(order, index.roots().tolist(), strict=True)}
    changed = []
    for n, root in roots.items():
        value = stamp + records[root].id
        if records[n].scores.get(GROUP_KEY) != value:
            records[n].scores = {**records[n].scores, GROUP_KEY: value}
            changed.append(n)
    return GroupUpdate(_groups_of(roots), len(new), index.candidates_checked, sorted(changed))


def _stored_roots(records: Sequence[Scored], stamp: str) -> dict[int, int]:
    """Position -> its stored group root's position, for records whose group was found at this
    distance; none at all when the stored groups do not hang together (a root missing or
    itself in another group): then everything is compared again."""
    position = {r.id: n for n, r in enumerate(records)}
    roots = {}
    for n, record in enumerate(records):
        value = record.scores.get(GROUP_KEY)
        if isinstance(value, str) and value.startswith(stamp):
            root = position.get(value[len(stamp):])
            if root is not None:
                roots[n] = root
    if any(roots.get(root) != root for root in set(roots.values())):
        return {}
    return roots


def _groups_of(roots: dict[int, int]) -> list[list[int]]:
    members: dict[int, list[int]] = {}
    for n in sorted(roots):
        members.setdefault(roots[n], []).append(n)
    return sorted(group for group in members.values() if len(group) > 1)
