"""A per-client rate limit on drawing pictures: one token bucket per client address.

The buckets are bounded (least recently seen clients forgotten first), so a flood of addresses
cannot grow the memory; a forgotten client starts again with a full bucket.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_CLIENTS = 65_536


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
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait
