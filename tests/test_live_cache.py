"""live/cache.py: a bounded cache of drawn pictures, least recently used out first."""

from __future__ import annotations

from ganpage.live.cache import PictureCache


def test_the_least_recently_used_picture_goes_first():
    cache = PictureCache(2)
    cache.put("a", b"A")
    cache.put("b", b"B")
    assert cache.get("a") == b"A"  # now "b" is the oldest
    cache.put("c", b"C")
    assert cache.get("b") is None and cache.get("a") == b"A" and cache.get("c") == b"C"
    assert len(cache) == 2


def test_size_zero_keeps_nothing():
    cache = PictureCache(0)
    cache.put("a", b"A")
    assert cache.get("a") is None
