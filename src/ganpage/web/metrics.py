"""Prometheus metrics of the site: requests by route, method and status, and their latency.

With several server processes each one writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and ``/metrics`` sums the
files, so any worker answers for all of them. ``multiprocess_directory()`` makes that folder
for one server run and removes it when the server stops.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Methods a label may name; anything else a client sends is counted as "other", so no client
# can make new time series (label values are never taken from the request as they are).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the random page answers in well under a millisecond, images and pages in a few.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)


class Metrics:
    """The site's counters; one per app, so apps made side by side (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("ganpage_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("ganpage_http_request_duration_seconds",
                                 "Time from a request's start to its response's last byte",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._children: dict[tuple[str, str, int], tuple] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (route is a route template such as ``/p/{image_id}``)."""
        key = (route, method if method in METHODS else "other", status)
        children = self._children.get(key)
        if children is None:  # labels() takes a lock and builds a key: do it once per series
            children = (self.requests.labels(key[0], key[1], str(status)),
                        self.latency.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type: all workers' values in multiprocess mode."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[str]:
    """Point prometheus-client at a fresh folder for this server run and remove it afterwards.

    prometheus-client picks its value store when it is imported; this process may have
    imported it already, and Granian forks its workers from it, so the choice is made again
    here (with the library's own function) for the values that workers create.
    """
    folder = tempfile.mkdtemp(prefix="ganpage-metrics-")
    previous = os.environ.get(MULTIPROCESS_VARIABLE)
    os.environ[MULTIPROCESS_VARIABLE] = folder
    values.ValueClass = values.get_value_class()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROCESS_VARIABLE, None)
        else:
            os.environ[MULTIPROCESS_VARIABLE] = previous
        values.ValueClass = values.get_value_class()
