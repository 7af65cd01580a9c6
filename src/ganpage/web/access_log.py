"""The access log: one JSON object per answered request, one line each (``--access-log PATH``).

Every worker process appends to the same file; each line is one ``write`` to a file opened with
``O_APPEND``, so lines from several workers never interleave. A secret someone put in the query
(``?token=``: the review token belongs in the login URL's fragment) is logged as ``REDACTED``.
The client is the peer, or the one a trusted proxy names (``web/proxies.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from ganpage.errors import GanpageError

STDOUT = "-"
SECRET_PARAMETERS = re.compile(r"(^|&)((?:access_)?token=)[^&]*", re.IGNORECASE)


class AccessLog:
    """Appends a line per request to ``path`` (``-`` for standard output)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._fd = 1 if self.path == STDOUT else open_for_append(self.path)

    def write(self, scope: dict, status: int, size: int, seconds: float) -> None:
        """Log one request: when, who, what was asked, what was answered and how fast."""
        client = scope.get("client")
        headers = dict(scope.get("headers") or ())
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "client": client[0] if client else None,
            "method": scope["method"],
            "path": scope["path"],
            "query": SECRET_PARAMETERS.sub(r"\1\2REDACTED",
                                           scope["query_string"].decode("latin-1")),
            "status": status,
            "bytes": size,
            "ms": round(seconds * 1000, 3),
            "user_agent": headers.get(b"user-agent", b"").decode("latin-1"),
            "referer": headers.get(b"referer", b"").decode("latin-1"),
            "worker": os.getpid(),  # which of the server's processes answered
        }
        with contextlib.suppress(OSError):  # a full disk loses log lines, never answers
            os.write(self._fd, (json.dumps(line, ensure_ascii=True) + "\n").encode())

    def close(self) -> None:
        if self._fd != 1:
            os.close(self._fd)


def open_for_append(path: str) -> int:
    """The log file's descriptor; a file that cannot be written is one line naming the fix."""
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise GanpageError(f"cannot write the access log {path} ({error.strerror}); choose "
                           "another --access-log path") from None
