"""Where commands write: an output is proven writable before any work starts, and what a command
created is removed again when it then stops on a mistake the user can fix (a GanpageError).

Ctrl-C and kill leave outputs in place on purpose: long jobs resume from what they wrote.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ganpage.errors import GanpageError


def writable_folder(path: Path, option: str) -> Path:
    """Make ``path`` (and missing parents) and write a scratch file in it; any failure is one
    GanpageError with the reason and the ``option`` to change."""
    if path.exists() and not path.is_dir():
        raise GanpageError(f"{path} is a file, not a folder; choose another {option}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise GanpageError(f"cannot write to {path} ({error.strerror or error}); choose "
                           f"another {option}") from None
    return path


def writable_file(path: Path, option: str) -> Path:
    """The same for a file to write: not a folder, and its folder writable."""
    if path.is_dir():
        raise GanpageError(f"{path} is a folder; {option} names a file to write")
    if path.parent.exists() and not path.parent.is_dir():
        raise GanpageError(f"cannot write {path}: {path.parent} is a file, not a folder; "
                           f"choose another {option}")
    writable_folder(path.parent, option)
    return path


@contextmanager
def removed_on_error(path: Path) -> Iterator[Path]:
    """If the block raises a GanpageError, delete what it created at ``path``: the outermost
    of ``path`` and its parents that did not exist before (nothing if ``path`` existed)."""
    created = first_missing(path)
    try:
        yield path
    except GanpageError:
        if created is not None and created.is_dir() and not created.is_symlink():
            shutil.rmtree(created, ignore_errors=True)
        elif created is not None and _exists(created):
            created.unlink()
        raise


def first_missing(path: Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist; None if ``path`` does."""
    path = path.absolute()
    if _exists(path):
        return None
    while not _exists(path.parent) and path.parent != path:
        path = path.parent
    return path


def _exists(path: Path) -> bool:
    """Whether anything is at ``path``, a dangling link included; False below a file."""
    try:
        path.lstat()
    except OSError:
        return False
    return True
