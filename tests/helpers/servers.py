"""Real server processes in tests: free ports, waiting for them to answer (always with a
deadline), `ganpage serve` as a child, and its worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, message: str,
               interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy (returned); past ``timeout``
    seconds, fail with ``message`` (and the last value seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (waited {timeout} s; last: {value!r})")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def wait_until_ready(base: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait for a server's /readyz to say 200 (for --live: the model is loaded)."""
    wait_for_http(base + "/healthz", process)
    deadline = time.monotonic() + timeout
    while httpx.get(base + "/readyz", timeout=5.0).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base}/readyz did not say ready in {timeout} s")
        time.sleep(0.2)


def worker_pids(pid: int) -> set[int]:
    """The server's worker processes: children of ``pid`` except multiprocessing's tracker."""
    children = set()
    for thread in os.listdir(f"/proc/{pid}/task"):
        children.update(int(p) for p in Path(f"/proc/{pid}/task/{thread}/children").read_text()
                        .split())
    return {p for p in children
            if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()}


def metrics_text(app) -> str:
    """What the metrics listener of a server would answer for ``app`` (a site made by
    ``create_app``), its last counts flushed: the site itself has no /metrics."""
    app.observer.metrics.flush()
    return app.observer.metrics.exposition()[0].decode()


@contextlib.contextmanager
def serving(reap, gallery: Path, server: str, *options: str,
            environment: dict | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """`ganpage serve` in a child process, stopped with SIGTERM at the end (as systemd does)."""
    port = free_port()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--port", str(port),
         "--server", server, *options], stdout=subprocess.DEVNULL, start_new_session=True,
        env=environment))
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base + "/healthz", process)
    try:
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


def slow_app():
    """App factory for the shutdown test: ``GET /?S`` answers after S seconds (and, given
    $SLOW_APP_ARRIVED, touches that file when such a request arrives)."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        seconds = float(scope["query_string"] or 0)
        if seconds and (arrived := os.environ.get("SLOW_APP_ARRIVED")):
            Path(arrived).touch()
        await asyncio.sleep(seconds)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})

    return app
