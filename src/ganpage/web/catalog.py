"""What the site can show, read from the gallery's index as it changes, in memory that does not
grow with each picture's record: per category, the showable pictures' ids as 8-byte codes.

"A random category, then a random picture of it", as the original site did, is two draws from
those codes; a picture's record is read from the index when a page needs it. Changes come from
the index's change log (``gallery.py``, schema 3) on a background thread, a few pictures at a
time, so a decision shows within ``refresh_seconds`` whatever the gallery's size. A picture
whose file is found missing or damaged is hidden, in every worker of the server when they share
a folder (``HiddenFile``).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ganpage.errors import GanpageError
from ganpage.gallery import ChangeBatch, Gallery, GalleryError, ImageRecord
from ganpage.web.conventions import is_image_id

HIDDEN_FILE = "damaged-pictures.txt"  # in the server's shared folder (web/shared_folder.py)
READ_BATCH = 500  # ids per query when the rows of many pictures are read
STALE_PICKS = 8  # draws that may land on a picture decided since the last look, before giving up
# Pages list a category's pictures by date, then id (as ``ORDER BY created_at, id``): a date
# is kept as the number its first 19 characters' digits spell (2026-12-06T16:59:08 ->
# 20261206165908, which sorts as the text does; 0 for a text that is not such a date), and a
# 12-hex-digit id's code sorts as the id does.
SHOWN_ROWS = "SELECT id, category, category_name, created_at FROM images WHERE status IN ({})"
# every showable picture, a category a row (SQLite's scan of the (category, status) index, then
# numpy: a third of the time of a row each; group_concat takes both columns in the same order)
SHOWN_BY_CATEGORY = ("SELECT category, COUNT(*), group_concat(id, ''), "
                     "group_concat(created_at, '') FROM images WHERE status IN ({}) "
                     "GROUP BY category")
DATE_LENGTH = len("2026-12-06T16:59:08+00:00")  # gallery.now_utc's
DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # of YYYY-MM-DDTHH:MM:SS


NIBBLES = np.full(256, -1, np.int8)  # an ASCII byte -> its hex digit's value, -1 if none
NIBBLES[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
NIBBLES[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)


@dataclass(frozen=True)
class Shelf:
    """One category's showable pictures: ids as codes (``IdCodes``) and their dates, both
    ordered as the category's pages list them. Never changed in place: a change makes a new
    shelf, so a request holding this one reads it whole."""

    slug: str
    name: str
    codes: np.ndarray  # (n,) int64
    created: np.ndarray  # (n,) int64, the dates as numbers (``date_key``)

    @property
    def count(self) -> int:
        return len(self.codes)

    def without(self, codes: Collection[int]) -> Shelf:
        keep = ~np.isin(self.codes, np.fromiter(codes, np.int64, len(codes)))
        return replace(self, codes=self.codes[keep], created=self.created[keep])

    def with_added(self, added: list[tuple[int, int]]) -> Shelf:
        """The shelf with (created, code) pairs added, each at its place in the order."""
        added = sorted(added)
        created = np.array([c for c, _ in added], np.int64)
        codes = np.array([code for _, code in added], np.int64)
        low = np.searchsorted(self.created, created, "left")
        high = np.searchsorted(self.created, created, "right")
        places = [int(lo + np.searchsorted(self.codes[lo:hi], code))
                  for lo, hi, code in zip(low, high, codes, strict=True)]
        return replace(self, codes=np.insert(self.codes, places, codes),
                       created=np.insert(self.created, places, created))


def in_order(slug: str, name: str, codes: np.ndarray, created: np.ndarray) -> Shelf:
    """A shelf of the pictures by date, then id (for a 12-hex-digit id, its code's order)."""
    order = np.lexsort((codes, created))
    return Shelf(slug, name, codes[order], created[order])


def date_key(text: str) -> int:
    """A date as a number that sorts as its text does (see ``DATE_DIGITS``); 0 if not one."""
    digits = "".join(text[i] for i in DATE_DIGITS) if len(text) >= 19 else ""
    return int(digits) if digits.isascii() and digits.isdigit() else 0


def date_keys(texts: str, count: int) -> np.ndarray | None:
    """``date_key`` of ``count`` dates written one after the other, all at once; None unless
    each is ``DATE_LENGTH`` characters long."""
    raw = texts.encode()
    if len(raw) != DATE_LENGTH * count:
        return None
    digits = np.frombuffer(raw, np.uint8).reshape(count, DATE_LENGTH)[:, DATE_DIGITS]
    digits = digits.astype(np.int64) - ord("0")
    numbers = digits @ (10 ** np.arange(13, -1, -1, dtype=np.int64))
    return np.where(((digits >= 0) & (digits <= 9)).all(axis=1), numbers, 0)


class IdCodes:
    """A picture's id as an int64: its 12 hex digits (every id ganpage writes), or, for an id
    spelt otherwise (a gallery written by other tools), minus one minus its place in a list."""

    def __init__(self) -> None:
        self._odd: list[str] = []
        self._odd_codes: dict[str, int] = {}

    def code(self, image_id: str) -> int:
        if is_image_id(image_id):
            return int(image_id, 16)
        if image_id not in self._odd_codes:
            self._odd.append(image_id)
            self._odd_codes[image_id] = -len(self._odd)
        return self._odd_codes[image_id]

    def codes_of_text(self, image_ids: str, count: int) -> np.ndarray | None:
        """The codes of ``count`` ids written one after the other, all at once: (n,) int64;
        None unless each is 12 hex digits."""
        raw = image_ids.encode()
        if len(raw) != 12 * count:
            return None
        digits = NIBBLES[np.frombuffer(raw, np.uint8)].reshape(count, 12).astype(np.int64)
        if (digits < 0).any():  # a letter past f, a capital, a hyphen
            return None
        return digits @ (16 ** np.arange(11, -1, -1, dtype=np.int64))

    def image_id(self, code: int) -> str:
        return f"{code:012x}" if code >= 0 else self._odd[-code - 1]


@dataclass(frozen=True)
class Shelves:
    """Every category's shelf: by slug, and in the order the site lists them (by name)."""

    by_slug: dict[str, Shelf]
    ordered: list[Shelf]

    @classmethod
    def of(cls, shelves: Iterable[Shelf]) -> Shelves:
        """``shelves`` in the site's order: by name, ties as given (the first picture's)."""
        ordered = sorted((s for s in shelves if s.count), key=lambda s: s.name.lower())
        return cls({s.slug: s for s in ordered}, ordered)

    def count(self) -> int:
        return sum(shelf.count for shelf in self.ordered)

    def replaced(self, changed: dict[str, Shelf]) -> Shelves:
        """These shelves with ``changed`` ones put in (an empty one taken out)."""
        kept = [s for s in self.ordered if s.slug not in changed]
        for shelf in changed.values():
            if shelf.count:
                keys = [s.name.lower() for s in kept]
                kept.insert(bisect.bisect_right(keys, shelf.name.lower()), shelf)
        return Shelves({s.slug: s for s in kept}, kept)


class Catalog:
    """The showable pictures of a gallery, kept up to date. At most every ``refresh_seconds`` a
    look at the index (a cheap ``PRAGMA data_version``, then the change log's new entries) starts
    on a background thread with a connection of its own, so a locked or slow index never holds
    up the event loop: requests meanwhile get the shelves they had. Without a gallery (``None``:
    a live-only site) it stays empty."""

    def __init__(self, gallery: Gallery | None, statuses: Sequence[str],
                 refresh_seconds: float = 1.0, hidden_file: Path | None = None):
        self.gallery = gallery
        self.statuses = tuple(statuses)
        self.refresh_seconds = refresh_seconds
        self.hidden: set[str] = set()  # ids whose files went bad under the running server
        self.hidden_file = HiddenFile(hidden_file) if hidden_file is not None else None
        self.refresh_error: str | None = None  # why the last look at the index failed
        # called with the ids whose pages are stale (None: every page), on the refresh thread
        self.on_change: Callable[[Collection[str] | None], None] = lambda ids: None
        self.shelves = Shelves({}, [])
        self.model_cards: dict[str, str] = {}
        self.loaded = gallery is None
        self._codes = IdCodes()
        self._seen_change = 0  # the change log's last entry applied
        self._pending = (-1, 0)  # (_seen_change, count) of pending_count's last count
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._random = random.Random()
        self._checked_at = time.monotonic()
        self._data_version: int | None = None
        self._watcher: Gallery | None = None

    # -- reading the index ----------------------------------------------------------------------

    def load(self) -> Catalog:
        """Read the showable pictures now (blocking), if not read yet; returns the catalog."""
        if not self.loaded:
            self._index_changed()
            self._reload(self.watcher.db)
            self.loaded = True
        return self

    @property
    def watcher(self) -> Gallery:
        """The index through the refresh thread's own connection (requests use the gallery's)."""
        if self._watcher is None:
            self._watcher = Gallery.open(self.gallery.root, shared=True)
        return self._watcher

    def _index_changed(self) -> bool:
        """Whether another connection wrote to the index since the last call (always, the
        first time)."""
        version = self.watcher.change_counter()
        changed, self._data_version = version != self._data_version, version
        return changed

    def _reload(self, db: sqlite3.Connection) -> None:
        """Read every showable picture afresh (at start, or when the log was trimmed past
        where this catalog had read it)."""
        last = db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
        placeholders = ", ".join("?" * len(self.statuses))
        shelves = []
        for slug, count, ids, dates in db.execute(SHOWN_BY_CATEGORY.format(placeholders),
                                                  self.statuses):
            codes, created = self._codes.codes_of_text(ids, count), date_keys(dates, count)
            if codes is None or created is None:  # an id or date spelt otherwise
                shelf = self._read_one_by_one(db, slug)
            else:
                shelf = in_order(slug, slug, codes, created)
            # the category's name as its first picture's row spells it, as pages show it
            name = db.execute("SELECT category_name FROM images WHERE id = ?",
                              (self._codes.image_id(int(shelf.codes[0])),)).fetchone()[0]
            shelves.append(replace(shelf, name=name))
        shelves = Shelves.of(shelves)
        cards = {row[0]: row[1] for row in db.execute("SELECT id, card FROM models")}
        with self._lock:
            self.shelves, self.model_cards, self._seen_change = shelves, cards, last
            for image_id in self.hidden:
                self._take_out_here(image_id)

    def _read_one_by_one(self, db: sqlite3.Connection, slug: str) -> Shelf:
        """A category's shelf read a row at a time, in SQLite's order (an odd id's code does
        not sort as its text)."""
        rows = db.execute(SHOWN_ROWS.format(", ".join("?" * len(self.statuses)))
                          + " AND category = ? ORDER BY created_at, id",
                          [*self.statuses, slug]).fetchall()
        return Shelf(slug, slug, np.array([self._codes.code(row[0]) for row in rows], np.int64),
                     np.array([date_key(row[3]) for row in rows], np.int64))

    def _apply(self, db: sqlite3.Connection, batch: ChangeBatch) -> None:
        """Apply the change log's entries: each touched picture leaves the shelves it was on
        and goes back where its row now says, if it is still to be shown."""
        if not batch.touched:
            self._seen_change = batch.last
            return
        gone: dict[str, set[int]] = {}
        for image_id, slug in batch.touched:
            gone.setdefault(slug, set()).add(self._codes.code(image_id))
        added: dict[str, list[tuple[int, int]]] = {}
        names: dict[str, str] = {}
        ids = sorted({image_id for image_id, _ in batch.touched} - self.hidden)
        for image_id, slug, name, date in self._shown_rows(db, ids):
            added.setdefault(slug, []).append((date_key(date), self._codes.code(image_id)))
            names.setdefault(slug, name)
        with self._lock:
            changed = {}
            for slug in gone.keys() | added.keys():
                shelf = self.shelves.by_slug.get(slug) or Shelf(
                    slug, names.get(slug, slug), np.zeros(0, np.int64), np.zeros(0, np.int64))
                shelf = shelf.without(gone.get(slug, ()))
                changed[slug] = shelf.with_added(added[slug]) if slug in added else shelf
            self.shelves = self.shelves.replaced(changed)
            self._seen_change = batch.last
        self.on_change({image_id for image_id, _ in batch.touched})

    def _shown_rows(self, db: sqlite3.Connection, ids: list[str]) -> Iterable[tuple]:
        """(id, category, name, created_at) of those of ``ids`` to show now."""
        placeholders = ", ".join("?" * len(self.statuses))
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start:start + READ_BATCH]
            yield from db.execute(SHOWN_ROWS.format(placeholders)
                                  + f" AND id IN ({', '.join('?' * len(chunk))})",
                                  [*self.statuses, *chunk])

    # -- keeping up with changes ----------------------------------------------------------------

    def maybe_refresh(self) -> None:
        """Start a look for changes in the background when one is due."""
        if (self.gallery is not None
                and time.monotonic() - self._checked_at >= self.refresh_seconds):
            self._start_refresh()

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
        """Apply the index's changes now if it changed (blocking: call it off the event loop)."""
        try:
            if not self.loaded:
                self.load()
            if self.hidden_file is not None:  # what the other workers found damaged
                self._hide_found_elsewhere(self.hidden_file.new_ids())
            if self._index_changed():
                batch = self.watcher.changes_since(self._seen_change)
                if batch is None:  # trimmed past where this catalog read: read it all again
                    self._reload(self.watcher.db)
                    self.on_change(None)
                else:
                    self._apply(self.watcher.db, batch)
                    self.model_cards = self.watcher.model_cards()
            self.refresh_error = None
        except (sqlite3.Error, GanpageError) as error:
            # keep showing what was there; /readyz says why it is not ready
            self.refresh_error = f"cannot read the gallery index ({error})"

    # -- hiding damaged pictures ----------------------------------------------------------------

    def hide(self, image_id: str) -> None:
        """Stop showing a picture (its file is missing or damaged), now and after reloads, in
        this worker and, within ``refresh_seconds``, in the others that share ``hidden_file``."""
        with self._lock:
            self.hidden.add(image_id)
            self._take_out_here(image_id)
        if self.hidden_file is not None:
            self.hidden_file.add(image_id)

    def _hide_found_elsewhere(self, image_ids: list[str]) -> None:
        if not image_ids:
            return
        with self._lock:
            self.hidden.update(image_ids)
            for image_id in image_ids:
                self._take_out_here(image_id)
        self.on_change(image_ids)

    def _take_out_here(self, image_id: str) -> None:
        """Take a picture off every shelf (the lock held): a new shelf for each it was on."""
        code = self._codes.code(image_id)
        changed = {slug: shelf.without((code,)) for slug, shelf in self.shelves.by_slug.items()
                   if code in shelf.codes}
        if changed:
            self.shelves = self.shelves.replaced(changed)

    # -- what requests ask --------------------------------------------------------------------

    def categories(self) -> list[Shelf]:
        """The categories with a picture to show, in the site's order (by name)."""
        self.maybe_refresh()
        return self.shelves.ordered

    def category(self, slug: str) -> Shelf | None:
        self.maybe_refresh()
        return self.shelves.by_slug.get(slug)

    def count(self) -> int:
        """How many pictures the site shows."""
        return self.shelves.count()

    def random_id(self) -> str | None:
        """A random category, then a random picture of it (None for an empty gallery): the
        same two draws as the original site's, so a seeded ``_random`` picks the same."""
        shelves = self.categories()
        if not shelves:
            return None
        shelf = self._random.choice(shelves)
        return self._codes.image_id(int(self._random.choice(shelf.codes)))

    def random_record(self) -> ImageRecord | None:
        """A random picture's record (None for an empty gallery)."""
        for _ in range(STALE_PICKS):
            image_id = self.random_id()
            if image_id is None:
                return None
            record = self.record(image_id)
            if record is not None:
                return record
        return None  # all decided since the last look: the next look takes them off

    def record(self, image_id: str) -> ImageRecord | None:
        """The record of a picture the site shows (None for any other id), as the index has
        it now: a decision shows here at once."""
        if self.gallery is None:
            return None
        self.maybe_refresh()  # pictures found damaged by other workers come with the look
        if image_id in self.hidden:
            return None
        row = self.gallery.db.execute("SELECT * FROM images WHERE id = ?",
                                      (image_id,)).fetchone()
        if row is None or row["status"] not in self.statuses:
            return None
        try:
            return ImageRecord.from_row(row)
        except GalleryError:
            return None  # a damaged row: not a page

    def records(self, shelf: Shelf, start: int, stop: int) -> list[ImageRecord]:
        """The records of the shelf's pictures ``start`` to ``stop`` (in its order) that are
        still to be shown."""
        ids = [self._codes.image_id(int(code)) for code in shelf.codes[start:stop]]
        found = {}
        for begin in range(0, len(ids), READ_BATCH):
            chunk = ids[begin:begin + READ_BATCH]
            for row in self.gallery.db.execute(
                    f"SELECT * FROM images WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                if row["status"] in self.statuses and row["id"] not in self.hidden:
                    with contextlib.suppress(GalleryError):
                        found[row["id"]] = ImageRecord.from_row(row)
        return [found[i] for i in ids if i in found]

    def pending_count(self) -> int:
        """Pictures waiting for a decision, when the site does not show them (else 0); counted
        again only after a change (a count reads the whole index: an empty site's `/` asks)."""
        if self.gallery is None or "pending" in self.statuses:
            return 0
        if self._pending[0] != self._seen_change:
            count = self.gallery.db.execute(
                "SELECT COUNT(*) FROM images WHERE status = 'pending'").fetchone()[0]
            self._pending = (self._seen_change, count)
        return self._pending[1]

    def close(self) -> None:
        """Close the refresh thread's connection (the gallery's is its opener's to close)."""
        if self._watcher is not None:
            self._watcher.close()


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
