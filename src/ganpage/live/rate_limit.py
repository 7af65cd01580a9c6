"""A per-client rate limit on drawing pictures: one token bucket per client address.

``RateLimit`` keeps the buckets of one process, bounded (least recently seen clients forgotten
first), so a flood of addresses cannot grow the memory; a forgotten client starts again with a
full bucket. ``SharedRateLimit`` keeps them in a fixed-size table in a file that every worker
of one server maps, so that a client's rate holds across workers (``ganpage serve --workers
N``; a client's connections land on any of them): one slot per client, chosen by a hash of its
address, locked with a POSIX record lock while it is read and written. Two clients whose
addresses share a slot push each other out, like forgotten clients. The buckets' times are
``time.monotonic()``, one clock for every process of the machine (Linux's CLOCK_MONOTONIC).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ganpage.web.shared_folder import shared_folder

MAX_CLIENTS = 65_536
TABLE_FILE = "rate-limit.table"
SLOT = struct.Struct("<Qdd")  # the client's key (0: empty), tokens, when (monotonic seconds)


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
    """``RateLimit`` for processes that share ``table`` (created, or opened as it is)."""

    def __init__(self, rate: float, burst: int, table: Path, slots: int = MAX_CLIENTS):
        self.rate = rate
        self.burst = burst
        self.slots = slots
        self._file = os.open(table, os.O_RDWR | os.O_CREAT, 0o600)
        size = slots * SLOT.size
        if os.fstat(self._file).st_size < size:  # the first worker makes it; zeros: empty
            os.ftruncate(self._file, size)
        self._table = mmap.mmap(self._file, size)
        self._lock = threading.Lock()  # record locks exclude processes, not threads

    def wait_needed(self, client: str, now: float | None = None) -> float:
        """0 and one token spent if ``client`` may draw now, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        key = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8).digest(),
                             "little") | 1
        offset = key % self.slots * SLOT.size
        with self._lock:
            fcntl.lockf(self._file, fcntl.LOCK_EX, SLOT.size, offset)
            try:
                stored, tokens, then = SLOT.unpack_from(self._table, offset)
                if stored != key:
                    tokens, then = float(self.burst), now
                tokens, wait = refill(tokens, then, now, self.rate, self.burst)
                SLOT.pack_into(self._table, offset, key, tokens, now)
            finally:
                fcntl.lockf(self._file, fcntl.LOCK_UN, SLOT.size, offset)
        return wait

    def close(self) -> None:
        self._table.close()
        os.close(self._file)


def rate_limit_for_this_server(rate: float, burst: int) -> RateLimit | SharedRateLimit:
    """Shared by the server's workers when it runs in several processes (``web/server.py``
    names their shared folder: ``web/shared_folder.py``), else this process's own."""
    folder = shared_folder()
    if folder is not None and rate > 0:
        return SharedRateLimit(rate, burst, folder / TABLE_FILE)
    return RateLimit(rate, burst)
