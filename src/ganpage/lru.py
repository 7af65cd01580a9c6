"""A thread-safe cache of bytes by key, the least recently used out first past a bound: in
bytes (the server's rendered pages, ``web/page_cache.py``) or in items (the live server's
drawn pictures, ``live/engine.py``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable


class LRUBytes:
    """Key -> bytes. Past ``max_bytes`` the oldest go (the newest stays, however big); past
    ``max_items`` too (0 keeps nothing). Safe across threads: a server's refresh thread
    forgets entries while requests read."""

    def __init__(self, max_bytes: int | None = None, max_items: int | None = None):
        self.max_bytes, self.max_items = max_bytes, max_items
        self.size = 0  # bytes held
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: Hashable, data: bytes) -> None:
        if self.max_items == 0:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size += len(data) - (len(old) if old is not None else 0)
            self._items[key] = data
            while len(self._items) > 1 and self._over():
                self.size -= len(self._items.popitem(last=False)[1])

    def forget(self, keys: Collection[Hashable] | None) -> None:
        """Drop the entries of ``keys`` (None: every entry)."""
        with self._lock:
            if keys is None:
                self._items.clear()
                self.size = 0
                return
            for key in keys:
                data = self._items.pop(key, None)
                self.size -= len(data) if data is not None else 0

    def _over(self) -> bool:
        return ((self.max_bytes is not None and self.size > self.max_bytes)
                or (self.max_items is not None and len(self._items) > self.max_items))

    def __len__(self) -> int:
        return len(self._items)
