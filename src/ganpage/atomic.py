"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".partial"


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to a sibling temporary file, fsync it, then rename it over ``path``."""
    atomic_write_with(path, lambda temporary: temporary.write_bytes(data), durable)


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    """Text version of ``atomic_write_bytes`` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def atomic_write_with(path: Path, write: Callable[[Path], object], durable: bool = True) -> None:
    """Let ``write`` fill a temporary path beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, 0o644)  # mkstemp makes 0600; these files are meant to be read and served
    try:
        write(temporary)
        if durable:
            with open(temporary, "rb") as stream:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporary files left by a killed writer below ``folder``; return how many."""
    stale = list(folder.rglob(f".*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
