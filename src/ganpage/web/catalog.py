"""What the site can show: an in-memory snapshot of the gallery, reloaded when the index changes.

Requests never touch the disk for page data: the snapshot maps ids and slugs to records and
picks "a random category, then a random picture of it" as the original site did.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ganpage.gallery import Gallery, ImageRecord


@dataclass
class CategoryView:
    slug: str
    name: str
    records: list[ImageRecord] = field(default_factory=list)


@dataclass
class Snapshot:
    """The showable pictures at one moment, grouped by category (sorted by name)."""

    by_id: dict[str, ImageRecord]
    categories: dict[str, CategoryView]
    category_list: list[CategoryView]
    model_cards: dict[str, str]
    pending_count: int
    version: int

    @classmethod
    def load(cls, gallery: Gallery, statuses: Sequence[str], version: int) -> Snapshot:
        records = gallery.records(statuses)
        categories: dict[str, CategoryView] = {}
        for record in records:
            view = categories.setdefault(record.category,
                                         CategoryView(record.category, record.category_name))
            view.records.append(record)
        ordered = sorted(categories.values(), key=lambda v: v.name.lower())
        pending = gallery.count_by_status()["pending"] if "pending" not in statuses else 0
        return cls({r.id: r for r in records}, categories, ordered, gallery.model_cards(),
                   pending, version)


class Catalog:
    """Thread-safe holder of the current snapshot; checks the index for changes at most every
    ``refresh_seconds`` (a cheap ``PRAGMA data_version``)."""

    def __init__(self, gallery: Gallery, statuses: Sequence[str], refresh_seconds: float = 2.0):
        self.gallery = gallery
        self.statuses = tuple(statuses)
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._random = random.Random()
        self._checked_at = time.monotonic()
        self.snapshot = Snapshot.load(gallery, self.statuses, gallery.change_counter())

    def current(self) -> Snapshot:
        """The snapshot, reloaded first if the index changed since the last look."""
        now = time.monotonic()
        if now - self._checked_at >= self.refresh_seconds:
            with self._lock:
                self._checked_at = now
                version = self.gallery.change_counter()
                if version != self.snapshot.version:
                    self.snapshot = Snapshot.load(self.gallery, self.statuses, version)
        return self.snapshot

    def random_record(self) -> ImageRecord | None:
        """A random category, then a random picture of it (None for an empty gallery)."""
        snapshot = self.current()
        if not snapshot.category_list:
            return None
        category = self._random.choice(snapshot.category_list)
        return self._random.choice(category.records)
