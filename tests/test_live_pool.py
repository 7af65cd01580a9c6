"""live/pool.py: fresh pictures per category, each given out once, the emptiest refilled first."""

from __future__ import annotations

from ganpage.categories import CategorySet
from ganpage.live.pool import FreshPool
from ganpage.recipe import Recipe

CATEGORIES = CategorySet.from_names(["Hamster", "Bagel", "Mailbox"])


def fresh(label: int, seed: int) -> tuple[Recipe, bytes, bytes]:
    return Recipe(CATEGORIES[label], seed), b"%d" % seed, b"page %d" % seed


def test_a_picture_is_given_out_once_and_refills_go_to_the_emptiest_categories():
    pool = FreshPool(len(CATEGORIES), size=2)
    assert pool.take() is None
    assert sorted(pool.wanted(10)) == [0, 1, 2]
    for seed, label in enumerate([0, 0, 1]):
        pool.put(fresh(label, seed))
    pool.put(fresh(0, 9))  # full: not kept
    assert len(pool) == 3 and pool.wanted(10) == [2]
    taken = [pool.take() for _ in range(3)]
    assert sorted(picture for _, picture, _ in taken) == [b"0", b"1", b"2"]
    assert len(pool) == 0 and pool.reshown == 0


def test_a_dry_pool_shows_a_recent_picture_again():
    pool = FreshPool(len(CATEGORIES), size=1, recent=2)
    for seed in range(3):
        pool.put(fresh(seed, seed))
        assert pool.take() == fresh(seed, seed)
    again = {pool.take() for _ in range(20)}
    assert again == {fresh(1, 1), fresh(2, 2)} and pool.reshown == 20


def test_a_category_page_takes_all_of_its_pictures_and_no_other():
    pool = FreshPool(len(CATEGORIES), size=2)
    for seed, label in enumerate([1, 1, 2]):
        pool.put(fresh(label, seed))
    assert pool.take_category(1) == [fresh(1, 0), fresh(1, 1)]
    assert pool.take_category(1) == [] and pool.take_category(0) == []
    assert len(pool) == 1 and sorted(pool.wanted(10)) == [0, 1]
    assert pool.take() == fresh(2, 2)  # the only category left
