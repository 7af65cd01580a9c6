"""Ending the `ganpage` process without tearing the interpreter down.

With PyTorch imported, CPython's shutdown (collecting and freeing every module's objects) takes
0.3 s of a command that has already finished its work: `python -c "import torch"` takes 1.64 s,
and 1.33 s when it ends with ``os._exit`` (this project's 2-core AMD EPYC, 3 runs each). A
process that exits frees its memory anyway, so the console script skips that teardown once a
command has finished, keeping everything a normal exit guarantees to the outside: the atexit
handlers (logging's flush, ``weakref.finalize`` clean-ups, coverage), the standard streams
flushed, and the exit code. Where a thread that the normal exit would wait for is still
running, it exits normally.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def threads_still_running() -> bool:
    """True while a non-daemon thread other than this one is alive (a normal exit joins it)."""
    current = threading.current_thread()
    return any(thread is not current and thread.is_alive() and not thread.daemon
               for thread in threading.enumerate())


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` after the atexit handlers and a flush of the standard streams, without
    the interpreter's teardown; a plain ``sys.exit`` while other threads still run."""
    if threads_still_running():
        sys.exit(code)
    atexit._run_exitfuncs()  # what CPython's shutdown runs first (undocumented, there since 2.x)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to deliver
            stream.flush()
    os._exit(code)
