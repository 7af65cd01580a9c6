"""The gallery: picture files ``<root>/<category-slug>/<image-id>.<ext>`` and one SQLite index.

The schema lives here and only here, versioned with ``PRAGMA user_version``; ``MIGRATIONS[i]``
takes a database from version i to i + 1. Files are written atomically before their rows are
committed, so a row always points at a complete file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ganpage.atomic import atomic_write_bytes, remove_stale_temporaries
from ganpage.errors import GanpageError

INDEX_FILE = "gallery.sqlite"
STATUSES = ("pending", "approved", "rejected")
FORMATS = {"webp": "image/webp", "png": "image/png"}
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # use with fullmatch ($ allows a "\n")

MIGRATIONS: list[str] = [
    # 0 -> 1: the first release
    """
    CREATE TABLE images (
        id            TEXT PRIMARY KEY,
        category      TEXT NOT NULL,             -- slug, also the folder name
        category_name TEXT NOT NULL,             -- display name, "Norwegian Elkhound"
        label         INTEGER NOT NULL,          -- class id in the model
        model_id      TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        truncation    REAL NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        format        TEXT NOT NULL,             -- file extension: webp or png
        sha256        TEXT NOT NULL,
        created_at    TEXT NOT NULL,             -- ISO 8601, UTC
        status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected')),
        scores        TEXT NOT NULL DEFAULT '{}' -- JSON object: classifier scores and the like
    );
    CREATE INDEX images_by_category_status ON images (category, status);
    CREATE UNIQUE INDEX images_by_recipe ON images (model_id, label, seed, truncation);
    CREATE TABLE models (
        id         TEXT PRIMARY KEY,             -- model_id of the pictures it made
        card       TEXT NOT NULL DEFAULT '',     -- the model card (Markdown)
        image_size INTEGER NOT NULL,
        categories TEXT NOT NULL DEFAULT '[]'    -- JSON: the model's classes.json
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class GalleryError(GanpageError):
    """A gallery folder or index that cannot be used as asked."""


def image_id(model_id: str, label: int, seed: int, truncation: float) -> str:
    """The permalink id of the picture made from this recipe: 12 hex digits, stable forever."""
    recipe = f"{model_id}|{label}|{seed}|{truncation_text(truncation)}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def truncation_text(truncation: float) -> str:
    """The truncation as the id spells it: 4 decimals ("0.7000") when they give the value back
    exactly, else every digit (``repr``), so two truncations share an id only if they are equal.
    """
    fixed = f"{truncation:.4f}"
    return fixed if float(fixed) == truncation else repr(truncation)


@dataclass
class ImageRecord:
    """One row of the index: a picture and everything needed to make it again."""

    id: str
    category: str
    category_name: str
    label: int
    model_id: str
    seed: int
    truncation: float
    width: int
    height: int
    format: str
    sha256: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    status: str = "pending"
    scores: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_record(self)

    @property
    def relative_path(self) -> str:
        """``<category>/<id>.<format>``: names checked, so never outside the gallery folder."""
        _check_record(self)
        return f"{self.category}/{self.id}.{self.format}"

    def to_row(self) -> dict:
        row = asdict(self)
        row["scores"] = json.dumps(self.scores, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ImageRecord:
        values = dict(row)
        try:
            values["scores"] = json.loads(values["scores"])
        except (TypeError, ValueError) as error:
            raise GalleryError(f"picture {values['id']!r}: its scores are not JSON ({error}); "
                               "the index is damaged") from error
        return cls(**values)


class Gallery:
    """A gallery folder and its index. Open with ``Gallery.open(root)`` (creates it if asked)."""

    def __init__(self, root: Path, connection: sqlite3.Connection):
        self.root = root
        self.db = connection

    @classmethod
    def open(cls, root: str | Path, create: bool = False, shared: bool = False) -> Gallery:
        """Open (or create) the gallery at ``root`` and bring its index to the current schema.

        ``shared`` lets other threads use the connection (one at a time), as the web app does.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise GalleryError(f"{root} is a file, not a gallery folder; choose another path")
        index = root / INDEX_FILE
        if not index.exists() and not create:
            raise GalleryError(
                f"{root} is not a gallery (no {INDEX_FILE}); make one with `ganpage generate`"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(index, timeout=30, isolation_level=None,
                                         check_same_thread=not shared)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.OperationalError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise GalleryError(f"cannot open the gallery {root} ({reason}); choose a folder "
                               "you can write to") from None
        except sqlite3.DatabaseError as error:
            raise GalleryError(f"{index} is damaged ({error}); restore it from a copy or "
                               "choose another gallery folder") from None
        gallery = cls(root, connection)
        gallery._migrate()
        return gallery

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise GalleryError(
                f"{self.root} was written by a newer ganpage (schema {version} > "
                f"{SCHEMA_VERSION}); upgrade ganpage"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as db:
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    # -- writing -------------------------------------------------------------------------------

    def add(self, pictures: Iterable[tuple[ImageRecord, bytes]]) -> int:
        """Write each encoded picture atomically, then index them all in one transaction."""
        records = []
        for record, data in pictures:
            record.sha256 = hashlib.sha256(data).hexdigest()
            atomic_write_bytes(self.root / record.relative_path, data)
            records.append(record)
        if not records:
            return 0
        self._insert(records, on_conflict="REPLACE")
        return len(records)

    def _insert(self, records: list[ImageRecord], on_conflict: str) -> None:
        rows = [r.to_row() for r in records]
        columns = list(rows[0])
        placeholders = ", ".join(f":{c}" for c in columns)
        with self.transaction() as db:
            db.executemany(
                f"INSERT OR {on_conflict} INTO images ({', '.join(columns)}) "
                f"VALUES ({placeholders})",
                rows,
            )

    def record_model(self, model_id: str, card: str, image_size: int,
                     categories: list[dict]) -> None:
        """Remember the card and classes of a model whose pictures this gallery holds."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO models (id, card, image_size, categories) "
                "VALUES (?, ?, ?, ?)",
                (model_id, card, image_size, json.dumps(categories)),
            )

    def model_cards(self) -> dict[str, str]:
        """model_id -> model card (Markdown) for every model recorded here."""
        return {row[0]: row[1] for row in self.db.execute("SELECT id, card FROM models")}

    def set_status(self, status: str, ids: Iterable[str] | None = None,
                   category: str | None = None) -> int:
        """Set the curation status of the given ids, a category, or (neither) every picture."""
        if status not in STATUSES:
            raise GalleryError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        query, params = "UPDATE images SET status = ?", [status]
        if category is not None:
            query, params = query + " WHERE category = ?", [*params, category]
        with self.transaction() as db:
            if ids is None:
                return db.execute(query, params).rowcount
            joiner = " AND" if category is not None else " WHERE"
            return sum(db.execute(f"{query}{joiner} id = ?", [*params, i]).rowcount for i in ids)

    def remove_stale_temporaries(self) -> int:
        """Delete half-written files a killed job left behind."""
        return remove_stale_temporaries(self.root)

    # -- reading -------------------------------------------------------------------------------

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` already in the index."""
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self.db.execute(
                f"SELECT id FROM images WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    def records(self, statuses: Iterable[str] = STATUSES,
                category: str | None = None) -> list[ImageRecord]:
        """Every picture with one of ``statuses`` (optionally in one category), oldest first."""
        statuses = list(statuses)
        query = f"SELECT * FROM images WHERE status IN ({', '.join('?' * len(statuses))})"
        params: list = statuses
        if category is not None:
            query, params = query + " AND category = ?", [*params, category]
        rows = self.db.execute(query + " ORDER BY created_at, id", params)
        return [ImageRecord.from_row(row) for row in rows]

    def get(self, image_id: str) -> ImageRecord | None:
        row = self.db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        return ImageRecord.from_row(row) if row else None

    def count_by_status(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM images GROUP BY status")
        return {status: 0 for status in STATUSES} | {row[0]: row[1] for row in rows}

    def change_counter(self) -> int:
        """A number that changes whenever another connection commits to the index."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def path_of(self, record: ImageRecord) -> Path:
        return self.root / record.relative_path

    def verify(self) -> list[str]:
        """Problems found: rows whose file is missing or whose bytes do not match the sha256."""
        problems = []
        for record in self.records():
            path = self.path_of(record)
            if not path.is_file():
                problems.append(f"{record.id}: missing file {record.relative_path}")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != record.sha256:
                problems.append(f"{record.id}: sha256 mismatch for {record.relative_path}")
        return problems

    # -- merging -------------------------------------------------------------------------------

    def merge_from(self, other: Gallery) -> int:
        """Copy pictures that ``other`` has and this gallery lacks; return how many.

        ``other`` is untrusted: its rows were checked as they were read (names that could leave
        the folder, types), and each file must match its row's sha256 before it is copied. On
        any problem the files copied so far are removed and nothing is indexed.
        """
        incoming = other.records()
        missing = set(r.id for r in incoming) - self.existing_ids(r.id for r in incoming)
        copied = [r for r in incoming if r.id in missing]
        written: list[Path] = []
        try:
            for record in copied:
                data = _checked_bytes(other, record)
                atomic_write_bytes(self.root / record.relative_path, data)
                written.append(self.root / record.relative_path)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        if copied:
            self._insert(copied, on_conflict="IGNORE")
        with self.transaction() as db:
            for row in other.db.execute("SELECT id, card, image_size, categories FROM models"):
                db.execute("INSERT OR IGNORE INTO models (id, card, image_size, categories) "
                           "VALUES (?, ?, ?, ?)", tuple(row))
        return len(copied)


def _checked_bytes(gallery: Gallery, record: ImageRecord) -> bytes:
    """The bytes of a picture of ``gallery``, which must exist and match the row's sha256."""
    path = gallery.path_of(record)
    if not path.is_file():
        raise GalleryError(f"{gallery.root}: picture {record.id} has no file "
                           f"{record.relative_path}; run `ganpage gallery verify {gallery.root}`")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise GalleryError(f"{gallery.root}: {record.relative_path} does not match its sha256; "
                           f"run `ganpage gallery verify {gallery.root}`")
    return data


# Field -> (accepted types, what to call them) for the values a gallery from elsewhere could
# get wrong (SQLite stores any value in any column).
RECORD_TYPES = {"label": (int, "an integer"), "seed": (int, "an integer"),
                "width": (int, "an integer"), "height": (int, "an integer"),
                "truncation": ((int, float), "a number"), "scores": (dict, "a JSON object")}


def _check_record(record: ImageRecord) -> None:
    """Refuse a row whose names could become a path outside the gallery, or mistyped values."""
    if not SAFE_NAME.fullmatch(str(record.category)) or not SAFE_NAME.fullmatch(str(record.id)):
        raise GalleryError(f"unsafe category slug or id: {record.category!r}/{record.id!r}; "
                           "slugs and ids are lower-case letters, digits and hyphens")
    if record.format not in FORMATS:
        raise GalleryError(f"unknown image format {record.format!r} of picture {record.id}; "
                           "use webp or png")
    for name, (kind, called) in RECORD_TYPES.items():
        value = getattr(record, name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise GalleryError(f"picture {record.id}: {name} is {value!r}, not {called}; "
                               "the index is damaged")
