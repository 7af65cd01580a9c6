"""The folder that the worker processes of one `ganpage serve` share, for its lifetime.

``web/server.py`` makes it (with the metrics' own, ``web/metrics.py``) and names it to the
workers in ``GANPAGE_SHARED_FOLDER``; in it, the live rate limit's table
(``live/rate_limit.py``), the pictures found damaged (``web/catalog.py``) and the review page's
sessions and wrong tries (``web/review/sessions.py``, SQLite), so that what one worker learns
about a client, a file or a sign-in holds in all of them. A site run in one process without
``ganpage serve`` (tests, an embedding app) has none, and keeps that state to itself. The
folder is made by ``tempfile`` (``TMPDIR``): keep that on a local filesystem, as record locks
and appends of whole lines are what the sharing relies on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

SHARED_FOLDER_VARIABLE = "GANPAGE_SHARED_FOLDER"


def shared_folder() -> Path | None:
    """This server's shared folder, or None when the site runs on its own."""
    folder = os.environ.get(SHARED_FOLDER_VARIABLE)
    return Path(folder) if folder else None


@contextlib.contextmanager
def sharing(folder: str) -> Iterator[str]:
    """Name ``folder`` as the shared folder to the workers started inside this block."""
    previous = os.environ.get(SHARED_FOLDER_VARIABLE)
    os.environ[SHARED_FOLDER_VARIABLE] = folder
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(SHARED_FOLDER_VARIABLE, None)
        else:
            os.environ[SHARED_FOLDER_VARIABLE] = previous
