"""Prometheus metrics of the site: requests by route, method and status, and their latency.

With several server processes each one writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), in a folder that
``multiprocess_directory()`` makes for one server run and removes when the server stops.
``metrics_listener`` answers them, summed over the workers, from the serving parent on a port
of their own (``serve --metrics-port``, on loopback unless ``--metrics-host`` says otherwise):
never on the site's port, where they would tell anyone the routes, the review page and its
refusals.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Methods a label may name; anything else a client sends is counted as "other", so no client
# can make new time series (label values are never taken from the request as they are).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the random page answers in well under a millisecond, images and pages in a few.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # pictures per sample call (live)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)


class Metrics:
    """The site's counters; one per app, so apps made side by side (tests) never collide.

    A request is first counted in plain Python numbers and added to prometheus-client's
    values at most ``FLUSH_SECONDS`` later, in one go per series: its multiprocess values take
    a lock and write a file per change, which nearly quadrupled the random page's time in
    Python (2.4 -> 9.2 us per request; batched, 3.7 us).
    """

    FLUSH_SECONDS = 0.5

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("ganpage_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("ganpage_http_request_duration_seconds",
                                 "Time from a request's start to its response's last byte",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.live_pictures = Counter("ganpage_live_pictures_drawn",
                                     "Pictures the live model drew: on_demand or fresh (pool)",
                                     ["kind"], registry=self.registry)
        self.live_batch_size = Histogram("ganpage_live_batch_size",
                                         "Pictures per call of the live model", ["kind"],
                                         buckets=BATCH_BUCKETS, registry=self.registry)
        self.live_queue_depth = Gauge("ganpage_live_queue_depth",
                                      "Recipes waiting to be drawn, after the last batch",
                                      registry=self.registry, multiprocess_mode="livesum")
        self.live_refused = Counter("ganpage_live_refused",
                                    "Live pictures refused: rate, queue_full or timeout",
                                    ["reason"], registry=self.registry)
        # (route, method, status) -> [sum of seconds, count per bucket..., count over the last]
        self._pending: dict[tuple[str, str, int], list[float]] = {}
        self._flush_due = False

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (route is a route template such as ``/p/{image_id}``)."""
        key = (route, method if method in METHODS else "other", status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        pending[0] += seconds
        pending[1 + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1  # first bound >= it
        if not self._flush_due:
            self._flush_due = True
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)
            except RuntimeError:  # not called from an event loop
                self.flush()

    def flush(self) -> None:
        """Add what was counted since the last flush to the exported values."""
        pending, self._pending, self._flush_due = self._pending, {}, False
        for (route, method, status), sums in pending.items():
            self.requests.labels(route, method, str(status)).inc(sum(sums[1:]))
            _add_observations(self.latency.labels(route), sums[0], sums[1:])

    def record_live_batch(self, kind: str, pictures: int, queue_depth: int) -> None:
        """One call of the live model (from its drawing thread; a batch per change is cheap)."""
        self.live_pictures.labels(kind).inc(pictures)
        self.live_batch_size.labels(kind).observe(pictures)
        self.live_queue_depth.set(queue_depth)

    def record_live_refusal(self, reason: str) -> None:
        self.live_refused.labels(reason).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type: all workers' values in multiprocess mode
        (each worker's last ``FLUSH_SECONDS`` may be missing; call ``flush()`` first for this
        one's)."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _add_observations(histogram, seconds: float, counts: list[float]) -> None:
    """What ``histogram.observe`` does for each of many observations, at once: the sum, and one
    count per bucket (prometheus-client stores them per bucket and adds them up on export).
    Its public API observes one value at a time; tests/test_web_operations.py checks that
    the export matches observe()'s."""
    histogram._sum.inc(seconds)
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)


@contextlib.contextmanager
def metrics_listener(host: str, port: int, folder: str) -> Iterator[None]:
    """Answer the metrics of every worker (their files in ``folder``) on ``host:port`` from a
    thread of this process while the block runs; port 0: no listener."""
    if not port:
        yield
        return
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
