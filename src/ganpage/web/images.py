"""Picture files as the site serves them: only while a file is still the one its row describes.

A file deleted, truncated or overwritten under a running server is found out here (its bytes no
longer hash to the row's sha256) and the request answers 404 instead of sending broken bytes
with a one-year cache header. Errors that say nothing about the file (too many open files, an
I/O error) are raised, for a 503: they must not take a good picture off the site. A file's
sha256 is checked once per version of the file (inode, size, modification time); later
requests only ``stat`` it. The sha256 is also the ETag. Behind nginx, ``accel_redirect``
names the checked file for nginx to send (X-Accel-Redirect to an ``internal`` location).
"""

from __future__ import annotations

import hashlib
import os
import re

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord

MAX_CHECKED = 100_000  # files whose check is remembered; past it the memory starts again
# What these errors say is true of the file itself; any other OSError is the machine's.
GONE = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
ACCEL_PREFIX = re.compile(r"^/(?:[A-Za-z0-9_-]+/)+$")  # e.g. /_gallery/: a plain URI path


class ImageFiles:
    """Reads picture files of a gallery, checked against their rows."""

    def __init__(self, gallery: Gallery):
        self.gallery = gallery
        self._checked: dict[str, tuple[int, int, int]] = {}  # id -> (inode, size, mtime_ns)

    def read(self, record: ImageRecord) -> bytes | None:
        """The file's bytes, or None when it is missing or no longer matches its row."""
        try:
            with open(self.gallery.path_of(record), "rb") as file:
                version = _version(os.fstat(file.fileno()))
                data = file.read()
        except GONE:
            return None
        if self._checked.get(record.id) != version:
            if hashlib.sha256(data).hexdigest() != record.sha256:
                return None
            self._remember(record.id, version)
        return data

    def unchanged(self, record: ImageRecord) -> bool:
        """Whether the file is still the one its row describes, reading it only if it changed."""
        try:
            version = _version(os.stat(self.gallery.path_of(record)))
        except GONE:
            return False
        return self._checked.get(record.id) == version or self.read(record) is not None

    def _remember(self, image_id: str, version: tuple[int, int, int]) -> None:
        if len(self._checked) >= MAX_CHECKED:
            self._checked.clear()
        self._checked[image_id] = version


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def etag(record: ImageRecord) -> str:
    """A strong ETag: the picture's sha256, which its file is checked against."""
    return f'"{record.sha256}"'


def etag_matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110's weak comparison of an If-None-Match header value with ``tag`` (either may
    be weak: ``W/"..."``), as a 304 for GET and HEAD asks."""
    opaque = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def accel_redirect_prefix(value: str) -> str:
    """``value`` if it can prefix an X-Accel-Redirect URI ('' turns it off), else one line."""
    if value and not ACCEL_PREFIX.match(value):
        raise GanpageError(f"accel-redirect prefix {value!r} must be a path such as /_gallery/ "
                           "(letters, digits, - and _ between slashes, ending in /)")
    return value


def accel_redirect(prefix: str, record: ImageRecord) -> str:
    """The URI of the picture's file in the nginx ``internal`` location at ``prefix``, which
    aliases the gallery folder (``relative_path`` is checked safe when the row is read)."""
    return prefix + record.relative_path
