"""lru.py: bytes by key, the least recently used out first past a bound in bytes or items."""

from __future__ import annotations

from ganpage.lru import LRUBytes


def test_past_its_bytes_the_least_recently_used_goes_first():
    cache = LRUBytes(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recently used
    cache.put("c", b"1234")
    assert cache.get("b") is None and cache.get("a") and cache.get("c") and cache.size == 8
    cache.put("a", b"123456")  # replaced: its old bytes no longer count
    assert cache.size == 10 and len(cache) == 2
    cache.forget({"a", "nothing"})
    assert cache.size == 4 and cache.get("a") is None
    cache.forget(None)
    assert cache.size == 0 and len(cache) == 0


def test_the_newest_stays_even_past_the_bytes():
    cache = LRUBytes(max_bytes=3)
    cache.put("a", b"12")
    cache.put("big", b"123456")
    assert cache.get("a") is None and cache.get("big") == b"123456" and cache.size == 6


def test_past_its_items_the_least_recently_used_goes_first():
    cache = LRUBytes(max_items=2)
    cache.put("a", b"A")
    cache.put("b", b"B")
    assert cache.get("a") == b"A"  # now "b" is the oldest
    cache.put("c", b"C")
    assert cache.get("b") is None and cache.get("a") == b"A" and cache.get("c") == b"C"
    assert len(cache) == 2 and cache.size == 2


def test_zero_items_keeps_nothing():
    cache = LRUBytes(max_items=0)
    cache.put("a", b"A")
    assert cache.get("a") is None and len(cache) == 0
