"""Micro-batching: concurrent requests for pictures gathered into one ``sample`` call.

Requests arrive on the event loop; the drawing thread takes them in batches of up to
``max_batch``. While requests come one at a time, each is drawn at once; once they come
together (the last batch held more than one), the first request of a batch waits at most
``max_wait`` seconds for others, so under load the model runs large batches (more pictures per
second) without making a lone visitor wait for company that is not coming. The queue is
bounded: past ``limit`` waiting requests (``max_queue`` at most; the engine lowers it to what
the model draws in a fraction of a second), ``submit`` refuses at once rather than let the
wait grow without limit. Requests for a recipe already waiting share its drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field


class QueueFull(Exception):
    """More requests are waiting than the queue holds."""


@dataclass
class Waiting:
    """One recipe to draw and the requests (futures on their event loops) that want it."""

    key: Hashable
    arrived: float
    futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = field(default_factory=list)

    def deliver(self, result: bytes | BaseException) -> None:
        """Hand the picture (or the error that stopped it) to every request, thread-safely;
        a request whose event loop has closed meanwhile is past answering."""
        for loop, future in self.futures:
            with contextlib.suppress(RuntimeError):  # 'Event loop is closed'
                loop.call_soon_threadsafe(_settle, future, result)


def _settle(future: asyncio.Future, result: bytes | BaseException) -> None:
    if future.done():  # the request was cancelled meanwhile (its client went away)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class MicroBatcher:
    """The bounded queue between the requests and the drawing thread."""

    def __init__(self, max_batch: int, max_wait: float, max_queue: int):
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.limit = max_queue  # waiting recipes allowed now (the engine sets it by the pace)
        self._waiting: dict[Hashable, Waiting] = {}  # in arrival order
        self._changed = threading.Condition()
        self._last_batch = 1
        self.closed = False

    def submit(self, key: Hashable) -> asyncio.Future:
        """A future for the picture of ``key``; raises ``QueueFull`` when the queue is full.
        Call from the event loop that will await the future."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._changed:
            waiting = self._waiting.get(key)
            if waiting is None:
                if len(self._waiting) >= self.limit:
                    raise QueueFull
                waiting = self._waiting[key] = Waiting(key, time.monotonic())
                self._changed.notify()
            waiting.futures.append((loop, future))
        return future

    def depth(self) -> int:
        """Recipes waiting to be drawn."""
        return len(self._waiting)

    def take(self, idle_timeout: float) -> list[Waiting]:
        """The next batch (drawing thread): waits up to ``idle_timeout`` for a first request,
        then (if the last batch held more than one) until the batch is full or its first
        request has waited ``max_wait``; [] if none came or the batcher was closed."""
        with self._changed:
            if not self._waiting and not self.closed:
                self._changed.wait(idle_timeout)
            if not self._waiting or self.closed:
                return []
            wait = self.max_wait if self._last_batch > 1 else 0.0
            deadline = next(iter(self._waiting.values())).arrived + wait
            while len(self._waiting) < self.max_batch and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            keys = list(self._waiting)[:self.max_batch]
            self._last_batch = len(keys)
            return [self._waiting.pop(key) for key in keys]

    def close(self, error: BaseException) -> None:
        """Refuse what is waiting with ``error`` and wake the drawing thread to stop."""
        with self._changed:
            self.closed = True
            waiting, self._waiting = list(self._waiting.values()), {}
            self._changed.notify_all()
        for item in waiting:
            item.deliver(error)
