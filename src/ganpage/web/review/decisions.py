"""The review's changes to the gallery: ``ReviewDesk``, its own connection to the index
(decide, undo, read a page of the review), the checks of what a change asks for, and a
picture as the review's pages and API describe it."""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.exceptions import HTTPException

from ganpage.gallery import Gallery, ImageRecord, numeric_scores
from ganpage.web.conventions import is_image_id
from ganpage.web.images import ImageFiles
from ganpage.web.review.filters import Census, ReviewFilter, ReviewView

DECISIONS = ("approved", "rejected")  # what a change may set (undo brings back pending)
MAX_IDS = 1000  # pictures one change names at most


class ReviewDesk:
    """The review's own connection to the gallery index, used one thread at a time. Writing
    here, not through the catalog's connection, is what lets the catalog notice the change."""

    def __init__(self, gallery_root: str | Path):
        self.gallery = Gallery.open(gallery_root, shared=True)
        self.files = ImageFiles(self.gallery)
        self._lock = threading.Lock()
        self._census: tuple[int, Census] | None = None  # and the index's data_version then

    def view(self, chosen: ReviewFilter) -> ReviewView:
        """The page of the review that ``chosen`` asks for."""
        with self._lock:
            return ReviewView.of(self.gallery, chosen, self._current_census())

    def _current_census(self) -> Census:
        """The census, read again only when another connection changed the index since."""
        version = self.gallery.change_counter()
        if self._census is None or self._census[0] != version:
            self._census = (version, Census.of(self.gallery))
        return self._census[1]

    def get(self, image_id: str) -> ImageRecord | None:
        with self._lock:
            return self.gallery.get(image_id)

    def picture(self, image_id: str) -> tuple[ImageRecord, bytes] | None:
        with self._lock:
            record = self.gallery.get(image_id)
            data = self.files.read(record) if record is not None else None
        return (record, data) if record is not None and data is not None else None

    def decide(self, ids: list[str], status: str) -> list[dict]:
        """Set ``status`` on every picture of ``ids`` (all of them exist, or none changes)."""
        with self._lock:
            self._check_exist(ids)
            before = self._records(ids)
            self.gallery.set_status(status, ids, decided_by="review")
            return self._changed(before)

    def undo(self, ids: list[str]) -> list[dict]:
        """Revert each picture's latest decision (status and who decided, as before it)."""
        with self._lock:
            self._check_exist(ids)
            before = self._records(ids)
            for image_id in ids:
                self.gallery.undo(image_id, decided_by="review")
            return self._changed(before)

    def _records(self, ids: list[str]) -> list[ImageRecord]:
        return [self.gallery.get(i) for i in ids]  # type: ignore[misc]

    def _changed(self, before: list[ImageRecord]) -> list[dict]:
        """The pictures as this connection's own change left them, which the census counts
        at once (PRAGMA data_version only tells of other connections' changes)."""
        after = self._records([record.id for record in before])
        if self._census is not None:
            self._census = (self._census[0], self._census[1].moved(before, after))
        return [card_json(record) for record in after]

    def _check_exist(self, ids: list[str]) -> None:
        missing = sorted(set(ids) - self.gallery.existing_ids(ids))
        if missing:
            raise HTTPException(404, f"no picture with the id {', '.join(missing[:10])}"
                                f"{' ...' if len(missing) > 10 else ''}; nothing was changed")

    def close(self) -> None:
        self.gallery.close()


def card_json(record: ImageRecord) -> dict:
    """What the review page and its API say about one picture."""
    return {"id": record.id, "category": record.category,
            "category_name": record.category_name, "seed": record.seed,
            "truncation": record.truncation, "status": record.status,
            "decided_by": record.decided_by, "decided_at": record.decided_at,
            "scores": numeric_scores(record), "flags": list(record.flags),
            "image_url": f"/review/images/{record.id}", "permalink": f"/p/{record.id}"}


def checked_ids(value: object) -> list[str]:
    """The ids a change names (each once), or a 400."""
    if (not isinstance(value, list) or not 1 <= len(value) <= MAX_IDS
            or not all(isinstance(i, str) and is_image_id(i) for i in value)):
        raise HTTPException(400, f"ids must be a list of 1 to {MAX_IDS} picture ids "
                            "(12 hex digits each)")
    return list(dict.fromkeys(value))


def checked_decision(value: object) -> str:
    """The status a change sets, or a 400."""
    if value not in DECISIONS:
        raise HTTPException(400, f"status must be one of {', '.join(DECISIONS)}")
    return str(value)
