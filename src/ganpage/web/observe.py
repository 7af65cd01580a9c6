"""Watching requests: each answered request is counted in the metrics and, when asked, logged.

``Observer.record`` is called by the random page's fast path directly; ``Observer.wrap`` does
the same for every other request, reading the status and size from the response as it passes.
"""

from __future__ import annotations

import time

from ganpage.web.access_log import AccessLog
from ganpage.web.metrics import Metrics

UNMATCHED = "unmatched"  # the route label of a request no route took (404s)


def route_labels(routes: list) -> dict[object, str]:
    """Each route's endpoint (what the router puts in ``scope["endpoint"]``, a mount's app for
    a mount) -> its path template, the label of its requests."""
    return {getattr(route, "endpoint", route.app): route.path for route in routes}


class Observer:
    """Metrics, and the access log when there is one."""

    def __init__(self, metrics: Metrics, access_log: AccessLog | None = None,
                 routes: dict[object, str] | None = None):
        self.metrics = metrics
        self.access_log = access_log
        self.routes = routes or {}

    def record(self, scope: dict, route: str, status: int, size: int, started: float) -> None:
        seconds = time.perf_counter() - started
        self.metrics.record(route, scope["method"], status, seconds)
        if self.access_log is not None:
            self.access_log.write(scope, status, size, seconds)

    def close(self) -> None:
        if self.access_log is not None:
            self.access_log.close()

    async def wrap(self, app, scope, receive, send) -> None:
        """Run ``app`` for one HTTP request and record what it answered."""
        started = time.perf_counter()
        answer = {"status": 500, "size": 0}

        async def watched_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, watched_send)
        finally:
            self.record(scope, self.routes.get(scope.get("endpoint"), UNMATCHED),
                        answer["status"], answer["size"], started)
