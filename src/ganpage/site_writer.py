"""Writes a static site into its folder incrementally: a build manifest (``.ganpage-site.sqlite``)
records each file's sha256, size and mtime, and what the last finished build was made from
(``BuiltFrom``: its options' key and the gallery's change sequence), so a rebuild rewrites only
what changed and removes the files it made that the new build no longer has. The manifest is an
SQLite file so a rebuild that touches 40 of 2M files reads and writes 40 rows, not the whole
list (a JSON manifest of 2M files is ~250 MB to parse and write again). Every file is written
atomically (a reader sees the old file or the new one), and made durable by one ``os.sync``
before the manifest records it: one fsync per file took 2/3 of a 2,100-picture build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ganpage.atomic import atomic_write_bytes, remove_stale_temporaries
from ganpage.errors import GanpageError

MANIFEST_NAME = ".ganpage-site.sqlite"
LEGACY_MANIFEST_NAME = ".ganpage-site.json"  # version 1: read once, then replaced
LOCK_NAME = ".ganpage-site.lock"  # held while a build writes, so two never mix their files
MANIFEST_VERSION = 2
MANIFEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL,
                                  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_size ON files (size);
CREATE TABLE IF NOT EXISTS build (one INTEGER PRIMARY KEY CHECK (one = 1), state TEXT NOT NULL,
                                  key TEXT NOT NULL, seq INTEGER);
"""
# What a path in the manifest may look like: it is read back from disk and its files deleted,
# so a tampered manifest must not name anything outside the folder or a dot file.
SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$")
DOT_FILES = {".nojekyll"}  # the one dot file a site has: GitHub Pages then skips Jekyll
SITE_DOT_FILES = {MANIFEST_NAME, f"{MANIFEST_NAME}-journal", LOCK_NAME}  # never served
UNKNOWN = ""  # sha256 of a file claimed but not yet written (a build that was killed)
LARGE_FILE_BYTES = 25 * 2**20  # files over this are listed (Cloudflare Pages' limit)


@dataclass
class WriteCounts:
    """What one build did to the folder."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True)
class FileState:
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class BuiltFrom:
    """What a finished build was made from: the key of everything that changes every page
    (options, templates, ganpage's version) and the gallery's change sequence it had read."""

    key: str
    seq: int | None  # None: the next build must be a full one (e.g. a picture was skipped)


@dataclass(frozen=True)
class SiteTotals:
    """What a host's limits are checked against."""

    files: int
    size: int  # bytes
    large: list[tuple[str, int]]  # (path, bytes) of each file over LARGE_FILE_BYTES
    fullest_folder: tuple[str, int] = ("", 0)  # ("p/", files in it), as the build knows it


@dataclass
class Scope:
    """The paths one incremental build answers for: a file of the manifest in scope that the
    build did not write is removed. ``paths`` exactly, ``prefixes`` any path starting so."""

    paths: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


class SiteWriter:
    """The output folder of one build, locked while open (a context manager). ``claim`` the
    paths before writing them (so a killed build still knows which files are its own),
    ``write``/``copy`` each file, then ``finish``."""

    def __init__(self, out: Path):
        self.out = out
        self._lock = _locked(out)
        try:
            self.db = open_manifest(out)
            self.built_from = _built_from(self.db)
            if _state(self.db) != "finished":  # a killed build may have left temporaries
                remove_stale_temporaries(out)
            self._set_state("building")
        except BaseException:
            self.close()
            raise
        self.files: dict[str, FileState] = {}  # written or found unchanged in this build
        self.counts = WriteCounts()

    def __enter__(self) -> SiteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let another build write the folder (``finish`` first, unless this one failed)."""
        if hasattr(self, "db"):
            self.db.close()
        self._lock.close()

    def forget_built_from(self) -> None:
        """Record that the site matches no change sequence until this build finishes (a full
        build: killed half-way, the next build must be full too)."""
        with self.db:
            self.db.execute("UPDATE build SET seq = NULL")
        self.built_from = _built_from(self.db)

    def restart(self) -> None:
        """Forget what this build wrote so far, to start it again as a full one."""
        self.files.clear()
        self.counts.__init__()  # type: ignore[misc]  (the report holds this object)

    def claim(self, paths: Iterable[str]) -> None:
        """Record ``paths`` as this site's before any of them is written."""
        rows = []
        for path in paths:
            check_path(path)
            rows.append((path, UNKNOWN, -1, -1))
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)", rows)

    def write(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` unless the file already holds exactly that."""
        digest = hashlib.sha256(data).hexdigest()
        if self._unchanged(path, digest):
            return
        self._check_claimed(path)
        atomic_write_bytes(self.out / path, data, durable=False)
        self._written(path, digest)

    def copy(self, path: str, source: Path, sha256: str) -> bool:
        """Copy ``source`` to ``path`` if it matches ``sha256``; False (nothing written) when
        it is missing or does not match. An unchanged copy is not read again."""
        if self._unchanged(path, sha256):
            return True
        self._check_claimed(path)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            return False
        if hashlib.sha256(data).hexdigest() != sha256:
            return False
        atomic_write_bytes(self.out / path, data, durable=False)
        self._written(path, sha256)
        return True

    def finish(self, built_from: BuiltFrom = BuiltFrom("", None),  # noqa: B008 (frozen)
               scope: Scope | None = None) -> WriteCounts:
        """Remove the files of earlier builds that this one did not make (of those in
        ``scope``; all of them without one); record what was written and ``built_from`` once
        it is on disk (after a power cut before that, the manifest's sizes, mtimes and hashes
        no longer match the files, so the next build rewrites them)."""
        stale = sorted(set(self._paths_in(scope)) - self.files.keys())
        for path in stale:  # read back from disk: checked before anything is deleted
            check_path(path, self.out / MANIFEST_NAME)
            target = self.out / path
            if target.is_file() or target.is_symlink():
                target.unlink()
                self.counts.removed += 1
                _remove_empty_folders(target.parent, self.out)
        os.sync()
        with self.db:
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in stale])
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                                [(path, s.sha256, s.size, s.mtime_ns)
                                 for path, s in self.files.items()])
            self.db.execute("UPDATE build SET state = 'finished', key = ?, seq = ?",
                            (built_from.key, built_from.seq))
        self.built_from = built_from
        return self.counts

    def totals(self) -> SiteTotals:
        """The site's files and bytes and its files over 25 MiB, as the manifest has them: what
        a host's limits are checked against, without a walk of the folder (2M files at a
        million pictures; the size index makes this a scan of 2M integers, ~0.2 s)."""
        files, size = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files").fetchone()
        large = self.db.execute("SELECT path, size FROM files WHERE size > ? ORDER BY path",
                                (LARGE_FILE_BYTES,)).fetchall()
        return SiteTotals(files, size, [(path, size) for path, size in large])

    def has(self, path: str) -> bool:
        """Whether the manifest lists ``path`` (made by an earlier build, or claimed)."""
        return self._known(path) is not None

    def _paths_in(self, scope: Scope | None) -> Iterable[str]:
        if scope is None:
            return [row[0] for row in self.db.execute("SELECT path FROM files")]
        found = [row[0] for chunk in _chunks(sorted(scope.paths), 500)
                 for row in self.db.execute(
                     f"SELECT path FROM files WHERE path IN ({','.join('?' * len(chunk))})",
                     chunk)]
        for prefix in sorted(scope.prefixes):  # a range of the primary key: no scan
            found += [row[0] for row in self.db.execute(
                "SELECT path FROM files WHERE path >= ? AND path < ?",
                (prefix, prefix + "\U0010ffff"))]
        return found

    def _unchanged(self, path: str, sha256: str) -> bool:
        """True if ``path`` holds a file with ``sha256``: the manifest says so and the file's
        size and mtime are the manifest's (else it is hashed again)."""
        known = self._known(path)
        if known is None or known.sha256 != sha256:
            return False
        target = self.out / path
        try:
            stat = target.lstat()
        except FileNotFoundError:
            return False
        if not target.is_file() or target.is_symlink():
            return False
        if ((stat.st_size, stat.st_mtime_ns) != (known.size, known.mtime_ns)
                and hashlib.sha256(target.read_bytes()).hexdigest() != sha256):
            return False
        self.files[path] = FileState(sha256, stat.st_size, stat.st_mtime_ns)
        self.counts.unchanged += 1
        return True

    def _known(self, path: str) -> FileState | None:
        row = self.db.execute("SELECT sha256, size, mtime_ns FROM files WHERE path = ?",
                              (path,)).fetchone()
        return FileState(*row) if row else None

    def _check_claimed(self, path: str) -> None:
        if self._known(path) is None:
            raise RuntimeError(f"{path} written without being claimed first")  # a bug

    def _written(self, path: str, sha256: str) -> None:
        stat = (self.out / path).stat()
        self.files[path] = FileState(sha256, stat.st_size, stat.st_mtime_ns)
        self.counts.written += 1

    def _set_state(self, state: str) -> None:
        with self.db:
            self.db.execute("UPDATE build SET state = ?", (state,))


def open_manifest(out: Path) -> sqlite3.Connection:
    """The manifest of ``out``, made (empty, or from a version 1 JSON manifest) if missing. A
    folder with other things in it and no manifest is refused, so a build never mixes with
    them."""
    path, legacy = out / MANIFEST_NAME, out / LEGACY_MANIFEST_NAME
    if not path.is_file() and not legacy.is_file() and out.is_dir() and any(
            p.name not in SITE_DOT_FILES for p in out.iterdir()):
        raise GanpageError(f"{out} is not empty and was not made by `ganpage build-site`; "
                           "choose an empty or new folder")
    try:
        db = sqlite3.connect(path)  # `with db:` is one transaction
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, MANIFEST_VERSION):
            raise ValueError(f"version {version}")
        if version == 0:
            _create_manifest(db, _legacy_files(legacy))
            legacy.unlink(missing_ok=True)
        _built_from(db)
    except (ValueError, KeyError, TypeError, AttributeError, sqlite3.DatabaseError) as error:
        raise GanpageError(f"{path if path.is_file() else legacy} is damaged ({error}); "
                           f"delete {out} and build again") from None
    return db


def _create_manifest(db: sqlite3.Connection, files: dict[str, FileState]) -> None:
    with db:
        for statement in MANIFEST_SCHEMA.strip().split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)",
                       [(p, s.sha256, s.size, s.mtime_ns) for p, s in files.items()])
        db.execute("INSERT INTO build VALUES (1, 'finished', '', NULL)")
        db.execute(f"PRAGMA user_version = {MANIFEST_VERSION}")


def _legacy_files(legacy: Path) -> dict[str, FileState]:
    """The files of a version 1 manifest (``{"version": 1, "files": {path: [sha, size,
    mtime]}}``); {} without one."""
    if not legacy.is_file():
        return {}
    data = json.loads(legacy.read_text(encoding="utf-8"))
    if data.get("version") != 1:
        raise ValueError(f"version {data.get('version')!r}")
    files = {path: FileState(str(sha), int(size), int(mtime))
             for path, (sha, size, mtime) in data["files"].items()}
    for path in files:
        check_path(path, legacy)
    return files


def _built_from(db: sqlite3.Connection) -> BuiltFrom:
    key, seq = db.execute("SELECT key, seq FROM build").fetchone()
    return BuiltFrom(key, seq)


def _state(db: sqlite3.Connection) -> str:
    return db.execute("SELECT state FROM build").fetchone()[0]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    return (items[start:start + size] for start in range(0, len(items), size))


def _locked(out: Path) -> IO[bytes]:
    """The open lock file of ``out``, locked for this build (the lock goes with the process)."""
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / LOCK_NAME, "ab")  # noqa: SIM115 (held until finish)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise GanpageError(f"another `ganpage build-site` is writing {out}; wait for it to "
                           "finish") from None
    return lock


def check_path(path: str, manifest: Path | None = None) -> None:
    """Refuse a path that could leave the site's folder or name a dot file."""
    if path not in DOT_FILES and not SAFE_PATH.fullmatch(path):
        where = f" in {manifest}; delete that folder and build again" if manifest else ""
        raise GanpageError(f"unsafe site path {path!r}{where}")


def _remove_empty_folders(folder: Path, out: Path) -> None:
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        os.rmdir(folder)
        folder = folder.parent
