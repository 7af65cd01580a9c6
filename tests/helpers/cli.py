"""The `ganpage` command run as a user runs it: a child process with a bare environment."""

from __future__ import annotations

import os
import subprocess
import sys


def ganpage(*args: str, cwd=None) -> subprocess.CompletedProcess:
    # PYTHONPATH kept: without it a checkout's tests would run the installed ganpage
    return subprocess.run([sys.executable, "-m", "ganpage", *args], capture_output=True,
                          text=True, cwd=cwd, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                   "HOME": str(cwd or "/tmp"),
                                                   "PYTHONPATH": os.environ.get("PYTHONPATH",
                                                                                "")})
