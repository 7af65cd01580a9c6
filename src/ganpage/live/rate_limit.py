"""A per-client rate limit on drawing pictures: one token bucket per client address.

``RateLimit`` keeps the buckets of one process, bounded (least recently seen clients forgotten
first), so a flood of addresses cannot grow the memory; a forgotten client starts again with a
full bucket. ``SharedRateLimit`` keeps them in a fixed-size table in a file that every worker
of one server maps, so that a client's rate holds across workers (``ganpage serve --workers
N``; a client's connections land on any of them). The table is set-associative: a client's
address, hashed with a key the table was made with (so nobody outside can choose addresses
that share a set), picks a set of ``WAYS`` slots; it has one of them, or takes an empty one or
the one seen longest ago (that client is forgotten). A set is locked with a POSIX record lock
while it is read and written. The buckets' times are ``time.monotonic()``, one clock for every
process of the machine (Linux's CLOCK_MONOTONIC).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import secrets
import struct
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ganpage.web.shared_folder import shared_folder

MAX_CLIENTS = 65_536
TABLE_FILE = "rate-limit.table"
SLOT = struct.Struct("<Qdd")  # the client's key (0: empty), tokens, when (monotonic seconds)
WAYS = 4  # slots a client's address may take
KEY_BYTES = 16  # the table's hash key, at its start
HEADER = 64  # bytes before the first slot


def refill(tokens: float, then: float, now: float, rate: float, burst: int) -> tuple[float, float]:
    """A bucket's tokens after one request at ``now`` and the seconds that request must wait
    (0: it may draw now, and its token is spent)."""
    tokens = min(float(burst), tokens + max(0.0, now - then) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, 0.0
    return tokens, (1.0 - tokens) / rate


class RateLimit:
    """``rate`` tokens per second per client, up to ``burst`` saved; ``rate`` 0 allows all."""

    def __init__(self, rate: float, burst: int, max_clients: int = MAX_CLIENTS):
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def wait_needed(self, client: str, now: float | None = None) -> float:
        """0 and one token spent if ``client`` may draw now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens, wait = refill(tokens, then, now, self.rate, self.burst)
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


class SharedRateLimit:
    """``RateLimit`` for processes that share ``table`` (made by the first, atomically)."""

    def __init__(self, rate: float, burst: int, table: Path, slots: int = MAX_CLIENTS):
        self.rate = rate
        self.burst = burst
        self.sets = max(1, slots // WAYS)
        self._file, self._key = open_table(table, HEADER + self.sets * WAYS * SLOT.size)
        self._table = mmap.mmap(self._file, HEADER + self.sets * WAYS * SLOT.size)
        self._lock = threading.Lock()  # record locks exclude processes, not threads

    def wait_needed(self, client: str, now: float | None = None) -> float:
        """0 and one token spent if ``client`` may draw now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        digest = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8,
                                                key=self._key).digest(), "little")
        start = HEADER + digest % self.sets * WAYS * SLOT.size
        key = digest | 1  # 0 marks an empty slot
        with self._lock:
            fcntl.lockf(self._file, fcntl.LOCK_EX, WAYS * SLOT.size, start)
            try:
                now = time.monotonic() if now is None else now  # inside the lock: in order
                offset, tokens, then = self._bucket(start, key, now)
                tokens, wait = refill(tokens, then, now, self.rate, self.burst)
                SLOT.pack_into(self._table, offset, key, tokens, max(then, now))
            finally:
                fcntl.lockf(self._file, fcntl.LOCK_UN, WAYS * SLOT.size, start)
        return wait

    def _bucket(self, start: int, key: int, now: float) -> tuple[int, float, float]:
        """(offset, tokens, when) of ``key``'s slot in the set at ``start``: its own, else an
        empty one or the one seen longest ago, with a full bucket."""
        ways = [(start + way * SLOT.size, *SLOT.unpack_from(self._table, start + way * SLOT.size))
                for way in range(WAYS)]
        for offset, stored, tokens, then in ways:
            if stored == key:
                return offset, tokens, then
        offset = min(ways, key=lambda way: (way[1] != 0, way[3]))[0]
        return offset, float(self.burst), now

    def close(self) -> None:
        self._table.close()
        os.close(self._file)


def open_table(path: Path, size: int) -> tuple[int, bytes]:
    """(descriptor, hash key) of the table at ``path``. The first process makes it beside the
    path, its blocks allocated (a full disk fails here, not later as SIGBUS on a page of a
    sparse file) and a random key in its header, and links it into place; a process that
    comes second opens that one."""
    try:
        descriptor = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        made = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(made, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(descriptor, 0, size)
            os.pwrite(descriptor, secrets.token_bytes(KEY_BYTES), 0)
            os.link(made, path)
        except FileExistsError:  # another worker's came first
            os.close(descriptor)
            descriptor = os.open(path, os.O_RDWR)
        except OSError:
            os.close(descriptor)
            raise
        finally:
            made.unlink(missing_ok=True)
    return descriptor, os.pread(descriptor, KEY_BYTES, 0)


def rate_limit_for_this_server(rate: float, burst: int) -> RateLimit | SharedRateLimit:
    """Shared by the server's workers when it runs in several processes (``web/server.py``
    names their shared folder: ``web/shared_folder.py``), else this process's own."""
    folder = shared_folder()
    if folder is not None and rate > 0:
        try:
            return SharedRateLimit(rate, burst, folder / TABLE_FILE)
        except OSError as error:  # e.g. the disk is full: each worker keeps its own
            print(f"warning: the live rate limit is per worker: its shared table could not be "
                  f"made in {folder} ({error.strerror or error})", file=sys.stderr, flush=True)
    return RateLimit(rate, burst)
