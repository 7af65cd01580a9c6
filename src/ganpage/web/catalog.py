"""What the site can show: an in-memory snapshot of the gallery, reloaded when the index changes.

Requests never touch the disk for page data: the snapshot maps ids and slugs to records and
picks "a random category, then a random picture of it" as the original site did. A picture
whose file is found missing or damaged is hidden, in every worker of the server when they share
a folder (``HiddenFile``).
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord

HIDDEN_FILE = "damaged-pictures.txt"  # in the server's shared folder (web/shared_folder.py)


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

    @classmethod
    def empty(cls) -> Snapshot:
        """Nothing to show: the snapshot of a site without a gallery (live pictures only)."""
        return cls({}, {}, [], {}, 0, 0)

    def without(self, image_ids: set[str]) -> Snapshot:
        """A copy without ``image_ids`` (this one itself if it has none of them)."""
        if not image_ids & self.by_id.keys():
            return self
        categories = {slug: CategoryView(view.slug, view.name, list(view.records))
                      for slug, view in self.categories.items()}
        copy = Snapshot(dict(self.by_id), categories,
                        [categories[view.slug] for view in self.category_list],
                        self.model_cards, self.pending_count, self.version)
        for image_id in image_ids:
            copy.remove(image_id)
        return copy

    def remove(self, image_id: str) -> None:
        """Take one picture out (and its category, if it was the last one)."""
        record = self.by_id.pop(image_id, None)
        if record is None:
            return
        view = self.categories[record.category]
        view.records = [r for r in view.records if r.id != image_id]
        if not view.records:
            del self.categories[record.category]
            self.category_list = [v for v in self.category_list if v.slug != record.category]


class Catalog:
    """Holder of the current snapshot. At most every ``refresh_seconds`` a look at the index (a
    cheap ``PRAGMA data_version``, then a reload if it changed) starts on a background thread,
    so a locked or slow index never holds up the event loop: requests meanwhile get the
    snapshot they had. Without a gallery (``None``: a live-only site) it stays empty."""

    def __init__(self, gallery: Gallery | None, statuses: Sequence[str],
                 refresh_seconds: float = 2.0, hidden_file: Path | None = None):
        self.gallery = gallery
        self.statuses = tuple(statuses)
        self.refresh_seconds = refresh_seconds
        self.hidden: set[str] = set()  # ids whose files went bad under the running server
        self.hidden_file = HiddenFile(hidden_file) if hidden_file is not None else None
        self.refresh_error: str | None = None  # why the last look at the index failed
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._random = random.Random()
        self._checked_at = time.monotonic()
        self.snapshot = (Snapshot.empty() if gallery is None
                         else Snapshot.load(gallery, self.statuses, gallery.change_counter()))

    def current(self) -> Snapshot:
        """The snapshot; starts a look for changes in the background when one is due."""
        if (self.gallery is not None
                and time.monotonic() - self._checked_at >= self.refresh_seconds):
            self._start_refresh()
        return self.snapshot

    def _start_refresh(self) -> None:
        if not self._refreshing.acquire(blocking=False):
            return  # one look at a time
        self._checked_at = time.monotonic()
        threading.Thread(target=self._refresh_then_release, name="catalog-refresh",
                         daemon=True).start()

    def _refresh_then_release(self) -> None:
        try:
            self.refresh()
        finally:
            self._checked_at = time.monotonic()
            self._refreshing.release()

    def refresh(self) -> None:
        """Reload the snapshot now if the index changed (blocking: call it off the event loop)."""
        try:
            if self.hidden_file is not None:  # what the other workers found damaged
                self._hide_found_elsewhere(self.hidden_file.new_ids())
            version = self.gallery.change_counter()
            if version != self.snapshot.version:
                snapshot = Snapshot.load(self.gallery, self.statuses, version)
                with self._lock:  # held briefly: hide() is called on the event loop
                    for image_id in self.hidden & snapshot.by_id.keys():
                        snapshot.remove(image_id)
                    self.snapshot = snapshot
            self.refresh_error = None
        except (sqlite3.Error, GanpageError) as error:
            # keep showing what was there; /readyz says why it is not ready
            self.refresh_error = f"cannot read the gallery index ({error})"

    def hide(self, image_id: str) -> None:
        """Stop showing a picture (its file is missing or damaged), now and after reloads, in
        this worker and, within ``refresh_seconds``, in the others that share ``hidden_file``."""
        self._hide_here(image_id)
        if self.hidden_file is not None:
            self.hidden_file.add(image_id)

    def _hide_found_elsewhere(self, image_ids: list[str]) -> None:
        """Hide ids on this (refresh) thread: requests on the event loop may be reading the
        snapshot, so a copy without them replaces it rather than the snapshot changing."""
        if not image_ids:
            return
        with self._lock:
            self.hidden.update(image_ids)
            self.snapshot = self.snapshot.without(set(image_ids))

    def _hide_here(self, image_id: str) -> None:
        with self._lock:
            self.hidden.add(image_id)
            self.snapshot.remove(image_id)

    def random_record(self) -> ImageRecord | None:
        """A random category, then a random picture of it (None for an empty gallery)."""
        snapshot = self.current()
        if not snapshot.category_list:
            return None
        category = self._random.choice(snapshot.category_list)
        return self._random.choice(category.records)


class HiddenFile:
    """The ids of pictures found damaged, one per line, appended by every worker of a server
    (``web/shared_folder.py``); each reads what the others added since its last look. A line
    of at most a few dozen bytes written with O_APPEND lands whole (POSIX), so no lock."""

    def __init__(self, path: Path):
        self.path = path
        self._read_up_to = 0

    def add(self, image_id: str) -> None:
        """Tell the other workers; if the file cannot be written (the disk is full, say),
        they find the picture damaged themselves when they next serve it."""
        with contextlib.suppress(OSError):
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, f"{image_id}\n".encode())
            finally:
                os.close(descriptor)

    def new_ids(self) -> list[str]:
        """The ids added since the last call (none if the file is not there or unreadable)."""
        try:
            with open(self.path, "rb") as file:
                file.seek(self._read_up_to)
                added = file.read()
        except OSError:
            return []
        whole = added[:added.rfind(b"\n") + 1]  # a line being written waits for the next look
        self._read_up_to += len(whole)
        return whole.decode("ascii", "replace").split()
