"""Ending the `ganpage` process without tearing the interpreter down.

With PyTorch imported, CPython's shutdown (collecting and freeing every module's objects) takes
0.3 s of a command that has already finished its work: `python -c "import torch"` takes 1.64 s,
and 1.33 s when it ends with ``os._exit`` (this project's 2-core AMD EPYC, 3 runs each). A
process that exits frees its memory anyway, so the console script skips that teardown once a
command has finished, keeping everything a normal exit guarantees to the outside: the atexit
handlers (logging's flush, ``weakref.finalize`` clean-ups, coverage), the standard streams
flushed, and the exit code (120 where output could not be written, as CPython does). Where a
thread that the normal exit would wait for is still running, it exits normally.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn, TextIO


def threads_still_running() -> bool:
    """True while a non-daemon thread other than this one is alive (a normal exit joins it)."""
    current = threading.current_thread()
    return any(thread is not current and thread.is_alive() and not thread.daemon
               for thread in threading.enumerate())


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` after the atexit handlers and a flush of the standard streams, without
    the interpreter's teardown; a plain ``sys.exit`` while other threads still run. As in a
    normal exit, output that cannot be written (a full disk) turns a success into code 120."""
    if threads_still_running():
        sys.exit(code)
    atexit._run_exitfuncs()  # what CPython's shutdown runs first (undocumented, there since 2.x)
    if not flushed(sys.stdout, sys.stderr) and code == 0:
        code = 120
    os._exit(code)


def flushed(*streams: TextIO | None) -> bool:
    """Flush each open stream; False where one could not write what it held."""
    written = True
    for stream in streams:
        if stream is None or stream.closed:  # `>&-`, or closed by the command: nothing held
            continue
        try:
            stream.flush()
        except OSError:
            written = False
    return written
