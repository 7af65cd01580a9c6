"""The gallery: picture files ``<root>/<category-slug>/<image-id>.<ext>`` and one SQLite index.

The schema lives here and only here, versioned with ``PRAGMA user_version``; ``MIGRATIONS[i]``
takes a database from version i to i + 1. Files are written atomically before their rows are
committed, so a row always points at a complete file.

Curation (schema 2): each picture has a status, who decided it (``decided_by``: "" while
pending, ``rule:<name>`` for a curation rule, ``review`` for the review page, ``manual`` for
``ganpage gallery approve``) and when, numeric ``scores`` and ``flags`` ("duplicate",
"memorised", "blank", "framed", "unsure", ...). Every status change is appended to the
``decisions`` table: ``Gallery.decisions(image_id)`` lists a picture's history, oldest first,
and ``Gallery.undo(image_id)`` reverts its latest decision not yet undone (a stack: undo twice
goes back two decisions; each undo is logged too). A rule never overrides a person's decision,
enforced in ``set_status`` itself. Pictures imported by ``ganpage label`` have no seed: their
``source`` is the original file name and their id is ``source_image_id`` of the file's sha256.

Changes (schema 3): triggers append to the ``changes`` table, whoever writes, the id and
category of every picture added, removed or changed in what a page shows or whether it is
shown (any column but ``scores`` and ``flags``); ``Gallery.changes_since(seq)`` reads them, so
a running server applies a decision without reading the whole index. The log keeps at least
the last ``CHANGES_KEPT`` entries; a reader further behind reads the index afresh.

Listings (schema 4): the review page reads one page of pictures at a time, ``Selection``
saying which (category, status, flag or none, a numeric score's range), through
``selected_counts`` and ``selected_records``; ``count_by_category_status_and_flags`` counts the
whole gallery in one walk of an index. Scores are read in SQL (JSON1) as ``numeric_scores``
reads them.

Curation stamp (schema 5): one row saying where the change log stood when the last curate run
ended with nothing left to score, the digest of its settings and what it found, so a re-run
with nothing new since reads that row instead of every picture (``curation/stamp.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ganpage.atomic import atomic_write_bytes, remove_stale_temporaries
from ganpage.errors import GanpageError
from ganpage.listings import Selection, numbers_of, score_sql, selection_sql

INDEX_FILE = "gallery.sqlite"
STATUSES = ("pending", "approved", "rejected")
FORMATS = {"webp": "image/webp", "png": "image/png"}
MERGE_BATCH = 2000  # rows a merge holds at once: ~4 MB of records, one os.sync per batch
# scores that hold only within one gallery (curation/duplicates.py's near-duplicate group):
# a merge drops them, so curate compares a merged picture with its new neighbours
GALLERY_RELATIVE_SCORES = frozenset({"duplicate_group"})
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
    # 1 -> 2: curation. SQLite cannot drop NOT NULL from seed, so the table is rebuilt.
    # (Statements are split on semicolons: none may appear in a comment.)
    # Decisions made before schema 2 came from `gallery approve`: they count as manual.
    """
    CREATE TABLE images_v2 (
        id            TEXT PRIMARY KEY,
        category      TEXT NOT NULL,
        category_name TEXT NOT NULL,
        label         INTEGER NOT NULL,
        model_id      TEXT NOT NULL,             -- for imported pictures: the classifier's id
        seed          INTEGER,                   -- NULL for pictures imported by `label`
        truncation    REAL NOT NULL,             -- 1.0 (unused) for imported pictures
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        format        TEXT NOT NULL,
        sha256        TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected')),
        scores        TEXT NOT NULL DEFAULT '{}',
        decided_by    TEXT NOT NULL DEFAULT '',  -- '', rule:<name>, review or manual
        decided_at    TEXT NOT NULL DEFAULT '',  -- ISO 8601 UTC, '' while pending or unknown
        flags         TEXT NOT NULL DEFAULT '[]', -- JSON list of strings
        source        TEXT,                      -- imported pictures: the original file name
        CHECK ((seed IS NULL) = (source IS NOT NULL))
    );
    INSERT INTO images_v2 (id, category, category_name, label, model_id, seed, truncation,
                           width, height, format, sha256, created_at, status, scores,
                           decided_by)
        SELECT id, category, category_name, label, model_id, seed, truncation, width, height,
               format, sha256, created_at, status, scores,
               CASE status WHEN 'pending' THEN '' ELSE 'manual' END
        FROM images;
    DROP TABLE images;
    ALTER TABLE images_v2 RENAME TO images;
    CREATE INDEX images_by_category_status ON images (category, status);
    CREATE UNIQUE INDEX images_by_recipe ON images (model_id, label, seed, truncation);
    CREATE TABLE decisions (
        seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id            TEXT NOT NULL,
        status              TEXT NOT NULL,
        decided_by          TEXT NOT NULL,
        decided_at          TEXT NOT NULL,
        previous_status     TEXT NOT NULL,
        previous_decided_by TEXT NOT NULL,
        previous_decided_at TEXT NOT NULL,
        undoes              INTEGER REFERENCES decisions (seq)  -- set on an undo's own row
    );
    CREATE INDEX decisions_by_image ON decisions (image_id, seq);
    """,
    # 2 -> 3: the change log (see the module's docstring). A REPLACE deletes the old row without
    # its delete trigger (recursive triggers are off), so the insert logs the old row first.
    # Every CHANGES_TRIM_EVERY-th entry trims the log to the last CHANGES_KEPT.
    """
    CREATE TABLE changes (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id TEXT NOT NULL,
        category TEXT NOT NULL                   -- where the picture was, or is now
    );
    CREATE TRIGGER images_replacing BEFORE INSERT ON images BEGIN
        INSERT INTO changes (image_id, category)
            SELECT id, category FROM images WHERE id = NEW.id;
    END;
    CREATE TRIGGER images_added AFTER INSERT ON images BEGIN
        INSERT INTO changes (image_id, category) VALUES (NEW.id, NEW.category);
    END;
    CREATE TRIGGER images_changed AFTER UPDATE OF id, category, category_name, label, model_id,
            seed, truncation, width, height, format, sha256, created_at, status, decided_by,
            decided_at, source ON images BEGIN
        INSERT INTO changes (image_id, category) VALUES (OLD.id, OLD.category);
        INSERT INTO changes (image_id, category) SELECT NEW.id, NEW.category
            WHERE NEW.id IS NOT OLD.id OR NEW.category IS NOT OLD.category;
    END;
    CREATE TRIGGER images_removed AFTER DELETE ON images BEGIN
        INSERT INTO changes (image_id, category) VALUES (OLD.id, OLD.category);
    END;
    CREATE TRIGGER changes_trimmed AFTER INSERT ON changes WHEN NEW.seq % 1000 = 0 BEGIN
        DELETE FROM changes WHERE seq <= NEW.seq - 100000;
    END;
    """,
    # 3 -> 4: the review's listings (``Gallery.selected_*``): its counts per category, status
    # and flags read one index, and a page of a category walks another instead of sorting it.
    """
    CREATE INDEX images_for_review_counts ON images (category, category_name, status, flags);
    CREATE INDEX images_by_name_and_age ON images (category_name, created_at, id);
    """,
    # 4 -> 5: the curation stamp (see the module's docstring); and a REPLACE that removes
    # another row of the same recipe (the unique images_by_recipe) logs that row too
    """
    DROP TRIGGER images_replacing;
    CREATE TRIGGER images_replacing BEFORE INSERT ON images BEGIN
        INSERT INTO changes (image_id, category)
            SELECT id, category FROM images WHERE id = NEW.id OR (model_id = NEW.model_id
                AND label = NEW.label AND seed = NEW.seed AND truncation = NEW.truncation);
    END;
    CREATE TABLE curation_stamp (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        last_change INTEGER NOT NULL,    -- the change log's last entry when the run ended
        settings    TEXT NOT NULL,       -- digest of the rules and scorers it ran with
        summary     TEXT NOT NULL        -- JSON: what it found, printed again by a re-run
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
CHANGES_KEPT = 100_000  # entries of the change log kept at least (the trigger's literal)
PEOPLE = ("review", "manual")  # deciders whose decisions no rule may override
DECIDER = re.compile(r"|review|manual|rule:[a-z0-9][a-z0-9-]{0,79}")  # use with fullmatch
FLAG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class GalleryError(GanpageError):
    """A gallery folder or index that cannot be used as asked."""


def image_id(model_id: str, label: int, seed: int, truncation: float) -> str:
    """The permalink id of the picture made from this recipe: 12 hex digits, stable forever."""
    recipe = f"{model_id}|{label}|{seed}|{truncation_text(truncation)}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def source_image_id(content_sha256: str) -> str:
    """The permalink id of a picture imported by ``ganpage label``: from its file's sha256."""
    return hashlib.sha256(f"source|{content_sha256}".encode()).hexdigest()[:12]


def now_utc() -> str:
    """The current time as the index spells it: ISO 8601, UTC, whole seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    seed: int | None  # None for a picture imported by `ganpage label` (see ``source``)
    truncation: float
    width: int
    height: int
    format: str
    sha256: str
    created_at: str = field(default_factory=now_utc)
    status: str = "pending"
    scores: dict = field(default_factory=dict)  # name -> number (class_probability, ...)
    decided_by: str = ""  # "" while pending; "rule:<name>", "review" or "manual"
    decided_at: str = ""  # ISO 8601 UTC; "" while pending
    flags: list[str] = field(default_factory=list)  # "duplicate", "memorised", "blank", ...
    source: str | None = None  # imported pictures: the original file name; else None

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
        row["flags"] = json.dumps(self.flags)
        return row

    @classmethod
    def from_row(cls, row: sqlite3.Row | dict) -> ImageRecord:
        values = dict(row)
        for name in ("scores", "flags"):
            try:
                values[name] = json.loads(values[name])
            except (TypeError, ValueError) as error:
                raise GalleryError(f"picture {values['id']!r}: its {name} are not JSON "
                                   f"({error}); the index is damaged") from error
        return cls(**values)

    @property
    def imported(self) -> bool:
        """True for a picture imported by ``ganpage label`` (no seed; its recipe is its file)."""
        return self.source is not None


@dataclass(frozen=True)
class Decision:
    """One row of the decisions log: a status change, or the undo of one (``undoes``)."""

    seq: int
    image_id: str
    status: str
    decided_by: str
    decided_at: str
    previous_status: str
    previous_decided_by: str
    previous_decided_at: str
    undoes: int | None = None


@dataclass(frozen=True)
class ChangeBatch:
    """Entries of the change log: the (image id, category) pairs touched, up to ``last``."""

    last: int
    touched: list[tuple[str, str]]


@dataclass(frozen=True)
class CurationStamp:
    """The row ``Gallery.save_curation_stamp`` keeps: where the change log stood when a
    curate run ended, a digest of its settings, and its findings as JSON."""

    last_change: int
    settings: str
    summary: str


def numeric_scores(record: ImageRecord) -> dict[str, float]:
    """The record's numeric scores, one level of nesting spelt ``outer.inner``."""
    return numbers_of(record.scores)


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
                for statement in _statements(MIGRATIONS[target - 1]):
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
                   category: str | None = None, decided_by: str = "manual") -> int:
        """Set the status of the given ids, a category, or (neither) every picture; record who
        decided (``manual``, ``review`` or ``rule:<name>``) and when, in the row and the log.

        A rule's decision leaves pictures that a person decided alone. Returns how many
        pictures it changed.
        """
        if status not in STATUSES:
            raise GalleryError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if not decided_by or not DECIDER.fullmatch(decided_by):
            raise GalleryError(f"unknown decider {decided_by!r}; use manual, review or "
                               "rule:<name>")
        query, params = "SELECT id, status, decided_by, decided_at FROM images WHERE 1", []
        if category is not None:
            query, params = query + " AND category = ?", [category]
        if decided_by.startswith("rule:"):
            query += f" AND decided_by NOT IN ({', '.join('?' * len(PEOPLE))})"
            params += list(PEOPLE)
        when = now_utc()
        with self.transaction() as db:
            if ids is None:
                targets = db.execute(query, params).fetchall()
            else:
                targets = [row for i in dict.fromkeys(ids)
                           for row in db.execute(query + " AND id = ?", [*params, i])]
            self._apply(db, [(row, status, decided_by, when, None) for row in targets])
        return len(targets)

    @staticmethod
    def _apply(db: sqlite3.Connection, changes: list[tuple]) -> None:
        """Write (row before, status, decided_by, decided_at, undoes) changes and log them."""
        db.executemany("UPDATE images SET status = ?, decided_by = ?, decided_at = ? "
                       "WHERE id = ?", [(s, by, at, row[0]) for row, s, by, at, _ in changes])
        db.executemany(
            "INSERT INTO decisions (image_id, status, decided_by, decided_at, previous_status, "
            "previous_decided_by, previous_decided_at, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(row[0], s, by, at, row[1], row[2], row[3], undoes)
             for row, s, by, at, undoes in changes])

    def decisions(self, image_id: str) -> list[Decision]:
        """Every status change of one picture, undos included, oldest first."""
        rows = self.db.execute("SELECT * FROM decisions WHERE image_id = ? ORDER BY seq",
                               (image_id,))
        return [Decision(**dict(row)) for row in rows]

    def undo(self, image_id: str, decided_by: str = "review") -> ImageRecord | None:
        """Revert the picture's latest decision not yet undone (status, decider and time as
        they were before it); None when there is nothing left to undo."""
        with self.transaction() as db:
            row = db.execute("SELECT id, status, decided_by, decided_at FROM images "
                             "WHERE id = ?", (image_id,)).fetchone()
            last = db.execute(
                "SELECT seq, previous_status, previous_decided_by, previous_decided_at "
                "FROM decisions AS d WHERE image_id = ? AND undoes IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM decisions WHERE undoes = d.seq) ORDER BY seq DESC LIMIT 1",
                (image_id,)).fetchone()
            if row is None or last is None:
                return None
            # the undo's own row names who undid it; the picture gets back the old decider
            self._apply(db, [(row, last[1], last[2], last[3], last[0])])
            db.execute("UPDATE decisions SET decided_by = ? WHERE seq = last_insert_rowid()",
                       (decided_by,))
        return self.get(image_id)

    def save_scores(self, updates: Iterable[tuple[str, dict, list[str]]]) -> int:
        """Replace the scores and flags of pictures: (id, scores, flags) tuples, one
        transaction. Statuses are left alone. The change log does not see scores, so the
        curation stamp goes: a run that writes them stamps again when it is done."""
        rows = [(json.dumps(scores, sort_keys=True), json.dumps(sorted(set(flags))), image)
                for image, scores, flags in updates]
        for _, flags_text, image in rows:
            bad = [f for f in json.loads(flags_text) if not FLAG.fullmatch(f)]
            if bad:
                raise GalleryError(f"picture {image}: unknown flag spelling {bad[0]!r}; flags "
                                   "are lower-case letters, digits and hyphens")
        with self.transaction() as db:
            db.execute("DELETE FROM curation_stamp")  # what a run saw no longer stands
            return sum(db.execute("UPDATE images SET scores = ?, flags = ? WHERE id = ?",
                                  row).rowcount for row in rows)

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

    def category_counts(self, statuses: Iterable[str]) -> list[tuple[str, str, int]]:
        """(slug, name, count) of each category with pictures of ``statuses``, in the order of
        its oldest such picture (as ``records`` lists them), named as that picture names it."""
        statuses = list(statuses)
        # SQLite gives a bare column from the row that MIN() picked; char(1) sorts before any
        # character of a date, so the key orders as (created_at, id) does
        rows = self.db.execute(
            "SELECT category, category_name, MIN(created_at || char(1) || id) AS first, COUNT(*) "
            f"FROM images WHERE status IN ({', '.join('?' * len(statuses))}) "
            "GROUP BY category ORDER BY first", statuses)
        return [(row[0], row[1], row[3]) for row in rows]

    def first_by_id(self, statuses: Iterable[str]) -> ImageRecord | None:
        """The picture of ``statuses`` whose id sorts first."""
        statuses = list(statuses)
        row = self.db.execute(f"SELECT * FROM images WHERE status IN "
                              f"({', '.join('?' * len(statuses))}) ORDER BY id LIMIT 1",
                              statuses).fetchone()
        return ImageRecord.from_row(row) if row else None

    def ids(self, statuses: Iterable[str]) -> list[str]:
        """The id of every picture of ``statuses``, sorted."""
        statuses = list(statuses)
        return [row[0] for row in self.db.execute(
            f"SELECT id FROM images WHERE status IN ({', '.join('?' * len(statuses))}) "
            "ORDER BY id", statuses)]

    def duplicate_keys(self) -> list[tuple[str, str, str | None, str | None]]:
        """(id, category, ``dhash``, ``duplicate_group``) of every picture, oldest first as
        ``records`` orders them, read in SQL without the rest of each row."""
        return self.db.execute(
            "SELECT id, category, json_extract(scores, '$.dhash'), "
            "json_extract(scores, '$.duplicate_group') FROM images ORDER BY created_at, id"
        ).fetchall()

    def model_ids(self) -> set[str]:
        """The id of every model with at least one picture here."""
        return {row[0] for row in self.db.execute("SELECT DISTINCT model_id FROM images")}

    def records_by_id(self, statuses: Iterable[str], low: str, high: str) -> list[ImageRecord]:
        """Every picture of ``statuses`` whose id is in [``low``, ``high``), sorted by id (a
        range of the primary key: a static site's permalink shard reads its share this way)."""
        statuses = list(statuses)
        rows = self.db.execute(
            f"SELECT * FROM images WHERE id >= ? AND id < ? AND status IN "
            f"({', '.join('?' * len(statuses))}) ORDER BY id", [low, high, *statuses])
        return [ImageRecord.from_row(row) for row in rows]

    def category_slugs(self) -> set[str]:
        """The slug of every category with at least one picture here."""
        return {row[0] for row in self.db.execute("SELECT DISTINCT category FROM images")}

    def get(self, image_id: str) -> ImageRecord | None:
        row = self.db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        return ImageRecord.from_row(row) if row else None

    def count_by_status(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM images GROUP BY status")
        return {status: 0 for status in STATUSES} | {row[0]: row[1] for row in rows}

    def count_by_category_status_and_flags(self) -> list[tuple[str, str, str, str, int]]:
        """(category, category_name, status, flags as JSON, pictures) of every such group in
        the index: one walk of an index, not of the pictures."""
        rows = self.db.execute("SELECT category, category_name, status, flags, COUNT(*) "
                               "FROM images INDEXED BY images_for_review_counts "
                               "GROUP BY category, category_name, status, flags")
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def selected_counts(self, chosen: Selection) -> list[tuple[str, str, int]]:
        """(category, category_name, pictures) of every pair that ``chosen`` keeps some of."""
        where, params = selection_sql(chosen)
        rows = self.db.execute("SELECT category, category_name, COUNT(*) FROM images "
                               f"WHERE {where} GROUP BY category, category_name", params)
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def selected_records(self, chosen: Selection, category_names: list[str], offset: int,
                         limit: int) -> list[ImageRecord]:
        """Pictures that ``chosen`` keeps among those named ``category_names``, lowest score
        first when it names one, then oldest first: ``limit`` of them from ``offset``."""
        where, params = selection_sql(chosen)
        order, order_params = "created_at, id", []
        if chosen.score:
            score, order_params = score_sql(chosen.score)
            order = f"{score}, {order}"
        rows = self.db.execute(
            f"SELECT * FROM images WHERE category_name IN ({', '.join('?' * len(category_names))})"
            f" AND {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*category_names, *params, *order_params, limit, offset])
        return [ImageRecord.from_row(row) for row in rows]

    def oldest_in_category(self, category: str) -> tuple[str, str]:
        """(created_at, id) of the category's oldest picture; ("", "") if it has none."""
        row = self.db.execute("SELECT created_at, id FROM images WHERE category = ? "
                              "ORDER BY created_at, id LIMIT 1", (category,)).fetchone()
        return (row[0], row[1]) if row else ("", "")

    def newest_category_name(self, category: str) -> str | None:
        """The display name of the category's newest picture (names can differ between
        models)."""
        row = self.db.execute("SELECT category_name FROM images WHERE category = ? "
                              "ORDER BY created_at DESC, id DESC LIMIT 1", (category,)).fetchone()
        return row[0] if row else None

    def score_names(self, sample: int) -> list[str]:
        """The numeric score names (``numeric_scores``) of the ``sample`` oldest and the
        ``sample`` newest pictures, sorted: a sample, so its cost does not grow."""
        names: set[str] = set()
        for (text,) in self.db.execute(
                "SELECT scores FROM images WHERE rowid IN (SELECT rowid FROM images ORDER BY "
                "rowid LIMIT ?) OR rowid IN (SELECT rowid FROM images ORDER BY rowid DESC "
                "LIMIT ?)", (sample, sample)):
            scores = json.loads(text)
            names.update(numbers_of(scores) if isinstance(scores, dict) else {})
        return sorted(names)

    def change_counter(self) -> int:
        """A number that changes whenever another connection commits to the index."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def last_change(self) -> int:
        """The sequence number of the latest entry of the change log (0 if none yet)."""
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]

    def curation_stamp(self) -> CurationStamp | None:
        """What the last curate run that left nothing to score saw; None if none did."""
        row = self.db.execute("SELECT last_change, settings, summary FROM curation_stamp"
                              ).fetchone()
        return None if row is None else CurationStamp(*row)

    def save_curation_stamp(self, settings: str, summary: str, since: int, written: int
                            ) -> bool:
        """Store a curate run's stamp at the change log's current end, provided the only
        changes logged since ``since`` (where the log stood before the run read anything) are
        the run's own ``written`` status changes: each logs exactly one entry and sequence
        numbers leave no gaps, so any other writer's change makes the count differ. Returns
        whether it stored the stamp (False: a re-run reads everything again, as it must)."""
        with self.transaction() as db:
            last = db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
            if last - since != written:
                return False
            db.execute("INSERT OR REPLACE INTO curation_stamp VALUES (1, ?, ?, ?)",
                       (last, settings, summary))
        return True

    def changes_since(self, seq: int, limit: int = CHANGES_KEPT) -> ChangeBatch | None:
        """The change log's entries after ``seq``, at most ``limit``; None when some of those
        were trimmed already (the reader must read the index afresh)."""
        first = self.db.execute("SELECT MIN(seq) FROM changes").fetchone()[0]
        if first is not None and first > seq + 1:
            return None
        rows = self.db.execute("SELECT seq, image_id, category FROM changes WHERE seq > ? "
                               "ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return ChangeBatch(rows[-1][0] if rows else seq,
                           sorted({(row[1], row[2]) for row in rows}))

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

    def merge_from(self, other: Gallery, batch_size: int = MERGE_BATCH) -> int:
        """Copy pictures that ``other`` has and this gallery lacks; return how many.

        ``other`` is untrusted: its rows were checked as they were read (names that could leave
        the folder, types), and each file must match its row's sha256 before it is copied. It
        goes ``batch_size`` rows at a time, so a gallery of any size merges in bounded memory:
        a batch's files are written without an fsync each, then made durable by one ``os.sync``
        before its rows are committed (a row still always points at a whole file). On any
        problem the batch's copied files are removed and its rows not indexed; the batches
        before it stay merged, and a re-run goes on from there.
        """
        copied = 0
        for incoming in other.record_batches(batch_size):
            missing = {r.id for r in incoming} - self.existing_ids(r.id for r in incoming)
            batch = [_as_merged(r) for r in incoming if r.id in missing]
            self._copy_files(other, batch)
            if batch:
                self._insert(batch, on_conflict="IGNORE")
            copied += len(batch)
        with self.transaction() as db:
            for row in other.db.execute("SELECT id, card, image_size, categories FROM models"):
                db.execute("INSERT OR IGNORE INTO models (id, card, image_size, categories) "
                           "VALUES (?, ?, ?, ?)", tuple(row))
        return copied

    def _copy_files(self, other: Gallery, records: list[ImageRecord]) -> None:
        """Each record's checked file from ``other`` into place, all durable at the end."""
        written: list[Path] = []
        try:
            for record in records:
                data = _checked_bytes(other, record)
                atomic_write_bytes(self.root / record.relative_path, data, durable=False)
                written.append(self.root / record.relative_path)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        if written:
            os.sync()  # one flush for the batch instead of one fsync per file

    def record_batches(self, batch_size: int) -> Iterator[list[ImageRecord]]:
        """Every picture, ``batch_size`` at a time, in index order (bounded memory)."""
        last = -1
        while True:
            rows = self.db.execute("SELECT rowid, * FROM images WHERE rowid > ? ORDER BY rowid "
                                   "LIMIT ?", (last, batch_size)).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            yield [ImageRecord.from_row(_without_rowid(row)) for row in rows]


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration, split on the semicolons that end one (a trigger's
    body holds semicolons of its own)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


def _as_merged(record: ImageRecord) -> ImageRecord:
    """The record without the scores that describe it within its old gallery (its
    near-duplicate group: curate compares it with its new neighbours again)."""
    if not GALLERY_RELATIVE_SCORES & record.scores.keys():
        return record
    return replace(record, scores={k: v for k, v in record.scores.items()
                                   if k not in GALLERY_RELATIVE_SCORES})


def _without_rowid(row: sqlite3.Row) -> dict:
    values = dict(row)
    del values["rowid"]
    return values


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
RECORD_TYPES = {"label": (int, "an integer"), "seed": ((int, type(None)), "an integer"),
                "width": (int, "an integer"), "height": (int, "an integer"),
                "truncation": ((int, float), "a number"), "scores": (dict, "a JSON object"),
                "flags": (list, "a JSON list"), "decided_by": (str, "a string"),
                "decided_at": (str, "a string"), "source": ((str, type(None)), "a string")}
MAX_SOURCE_LENGTH = 1000


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
    _check_curation(record)


def _check_curation(record: ImageRecord) -> None:
    """Refuse curation fields that no ganpage writes: they are displayed and compared."""
    if not DECIDER.fullmatch(record.decided_by):
        raise GalleryError(f"picture {record.id}: decided_by is {record.decided_by!r}; "
                           "the index is damaged")
    if not all(isinstance(f, str) and FLAG.fullmatch(f) for f in record.flags):
        raise GalleryError(f"picture {record.id}: flags {record.flags!r} are not lower-case "
                           "words; the index is damaged")
    source = record.source
    if source is not None and (not source or len(source) > MAX_SOURCE_LENGTH
                               or not source.isprintable()):
        raise GalleryError(f"picture {record.id}: its source name is empty, too long or has "
                           "control characters; the index is damaged")
    if (record.seed is None) != (source is not None):
        raise GalleryError(f"picture {record.id}: a picture has either a seed (generated) or "
                           "a source (imported), not both or neither")
