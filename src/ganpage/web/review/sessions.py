"""Sign-ins to the review page, kept by the server: sessions that expire and end on sign-out,
and the wrong review tokens each client has tried.

A session is a random id in the browser's cookie and a row here (its SHA-256, its own CSRF
token, when it expires), so signing out or a restart ends it for good. The rows live in one
SQLite file in the folder the server's workers share (``web/shared_folder.py``), so a sign-in
made by one worker holds in all of them; a site run in one process keeps them in memory.
Wrong tokens are a bucket per client (``web/proxies.client_key``): ``TRIES`` at once, one
more every ``TRY_SECONDS``; past that the client waits, whatever token it sends.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ganpage.web.shared_folder import shared_folder

SESSION_SECONDS = 12 * 3600  # a sign-in lasts this long, then the token is asked again
TRIES = 10  # wrong tokens a client may send at once ...
TRY_SECONDS = 6.0  # ... and one more every this many seconds (10 a minute)
# not *.db: the folder is prometheus-client's too, and it reads every *.db file in it
DATABASE_FILE = "review-sessions.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (digest BLOB PRIMARY KEY, csrf TEXT NOT NULL,
                                     expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tries (client TEXT PRIMARY KEY, tokens REAL NOT NULL,
                                  at REAL NOT NULL);
"""


def _digest(session: str) -> bytes:
    return hashlib.sha256(session.encode("utf-8", "surrogateescape")).digest()


class ReviewSessions:
    """The review's sessions and wrong tries, in ``path`` (None: in this process's memory)."""

    def __init__(self, path: Path | None = None, lifetime: float = SESSION_SECONDS,
                 clock: Callable[[], float] = time.time):
        self.lifetime = lifetime
        self.clock = clock
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", timeout=5.0,
                                   isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()  # one connection, used from the event loop and threads
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def begin(self) -> tuple[str, str]:
        """A new session: (its id, for the cookie; its CSRF token)."""
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)",
                             (_digest(session), csrf, now + self.lifetime))
        return session, csrf

    def csrf_of(self, session: str) -> str | None:
        """The CSRF token of a live session, or None (unknown, ended or expired)."""
        with self._lock:
            row = self._db.execute("SELECT csrf FROM sessions WHERE digest = ? AND expires > ?",
                                   (_digest(session), self.clock())).fetchone()
        return row[0] if row else None

    def end(self, session: str) -> None:
        """Sign out: the session's cookie is worth nothing from now on, in every worker."""
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(session),))

    def wait_needed(self, client: str) -> float:
        """0 if ``client`` may try a token now, else the seconds until it may."""
        with self._lock:
            row = self._db.execute("SELECT tokens, at FROM tries WHERE client = ?",
                                   (client,)).fetchone()
        if row is None:
            return 0.0
        tokens = self._refilled(*row)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * TRY_SECONDS

    def tried_wrong(self, client: str) -> None:
        """Count a wrong token from ``client``. Tries sent at once all count, so the debt of a
        burst is waited for too."""
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT tokens, at FROM tries WHERE client = ?",
                                       (client,)).fetchone()
                tokens = self._refilled(*row) if row else float(TRIES)
                self._db.execute("INSERT OR REPLACE INTO tries VALUES (?, ?, ?)",
                                 (client, tokens - 1.0, now))
                # rows whose bucket is full again say nothing: the table stays small
                self._db.execute("DELETE FROM tries WHERE at + (? - tokens) * ? < ?",
                                 (TRIES, TRY_SECONDS, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _refilled(self, tokens: float, at: float) -> float:
        return min(float(TRIES), tokens + max(0.0, self.clock() - at) / TRY_SECONDS)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def sessions_for_this_server() -> ReviewSessions:
    """Shared by the server's workers (in their shared folder), else this process's own."""
    folder = shared_folder()
    return ReviewSessions(folder / DATABASE_FILE if folder is not None else None)
