"""What a rebuild of the static site must redo, read from the gallery's change log
(``Gallery.changes_since``): the pictures changed since the change sequence the site was built
at, or everything when the log cannot say (the site was built with other options, templates or
ganpage, from another gallery, by a build that did not finish, or the log was trimmed since).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ganpage
from ganpage.gallery import Gallery
from ganpage.site_writer import BuiltFrom
from ganpage.web import pages


@dataclass(frozen=True)
class Rebuild:
    """What to build: ``touched`` (id, category) pairs changed since the last build, or None
    for everything; ``seq`` the change sequence the site will then match."""

    seq: int
    touched: list[tuple[str, str]] | None


def build_key(gallery_root: Path, settings: dict) -> str:
    """A digest of everything that can change every page: the gallery's folder, the build's
    ``settings`` (options, live model), ganpage's version, its templates and static files."""
    digest = hashlib.sha256(json.dumps(
        [str(gallery_root.resolve()), settings, ganpage.__version__, pages.PER_PAGE],
        sort_keys=True, default=str).encode())
    web = resources.files("ganpage.web")
    for folder in ("templates", "static"):
        for item in sorted((web / folder).iterdir(), key=lambda item: item.name):
            if item.is_file():
                digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()


def plan_rebuild(gallery: Gallery, built_from: BuiltFrom, key: str) -> Rebuild:
    """Which pictures changed since ``built_from``; everything if the log cannot say. The
    sequence is read first: a change made while the build reads is built again next time."""
    seq = gallery.last_change()
    if built_from.key != key or built_from.seq is None or built_from.seq > seq:
        return Rebuild(seq, None)
    batch = gallery.changes_since(built_from.seq)
    if batch is None or batch.last < seq:  # trimmed, or more than one batch: read it all
        return Rebuild(seq, None)
    return Rebuild(seq, batch.touched)
