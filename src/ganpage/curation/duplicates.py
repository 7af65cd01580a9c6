"""Near-duplicate pictures inside a gallery, within and across categories.

Each picture gets a 256-bit difference hash (``data/decode.py``'s dHash on a 16 x 17 grey
thumbnail, stored as 64 hex digits in its scores as ``dhash``); two pictures are near
duplicates when their hashes differ in at most ``MAX_DISTANCE`` bits, and a group is every
picture linked to another by such pairs. 256 bits rather than 64: at 8 x 9 every yellow round
face of emoji64 hashed alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

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


def _as_words(hashes: Sequence[str]) -> np.ndarray:
    """64-hex-digit hashes -> (N, 4) uint64."""
    return np.array([[int(h[i:i + 16], 16) for i in range(0, 64, 16)] for h in hashes],
                    dtype=np.uint64).reshape(len(hashes), 4)


def duplicate_pairs(hashes: Sequence[str], max_distance: int = MAX_DISTANCE
                    ) -> list[tuple[int, int]]:
    """Index pairs (i < j) of hashes at most ``max_distance`` bits apart."""
    words = _as_words(hashes)
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
