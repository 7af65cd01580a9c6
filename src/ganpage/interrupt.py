"""Graceful stops for long jobs: the first Ctrl-C (SIGINT) or SIGTERM asks the job to stop at
its next safe point (for training: after the current step, with a checkpoint); a second Ctrl-C
stops at once.

Without this, a signal lands wherever the job happens to be, between D's and G's updates for
instance, and everything since the last checkpoint is lost.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class StopRequest:
    """Set by a signal handler; the job reads it at its safe points."""

    signal_name: str = ""

    @property
    def requested(self) -> bool:
        return bool(self.signal_name)


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
                    ) -> Iterator[StopRequest]:
    """Within the block, the first of ``signals`` sets the yielded request instead of
    interrupting; a second SIGINT raises KeyboardInterrupt. Signals the process ignores (a
    ``nohup`` job's SIGINT) stay ignored; off the main thread nothing is installed."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, _frame) -> None:
        if request.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        request.signal_name = request.signal_name or signal.Signals(signum).name

    previous = {s: signal.getsignal(s) for s in signals}
    for s, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(s, handle)
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
