"""live/pool.py: fresh pictures per category, each given out once, the emptiest refilled first."""

from __future__ import annotations

from ganpage.categories import CategorySet
from ganpage.live.pool import FreshPool
from ganpage.recipe import Recipe

CATEGORIES = CategorySet.from_names(["Hamster", "Bagel", "Mailbox"])


def test_a_picture_is_given_out_once_and_refills_go_to_the_emptiest_categories():
    pool = FreshPool(len(CATEGORIES), size=2)
    assert pool.take() is None
    assert sorted(pool.wanted(10)) == [0, 1, 2]
    for seed, label in enumerate([0, 0, 1]):
        pool.put(Recipe(CATEGORIES[label], seed), b"%d" % seed)
    pool.put(Recipe(CATEGORIES[0], 9), b"9")  # full: not kept
    assert len(pool) == 3 and pool.wanted(10) == [2]
    taken = [pool.take() for _ in range(3)]
    assert sorted(picture for _, picture in taken) == [b"0", b"1", b"2"]
    assert pool.take() is None and len(pool) == 0
