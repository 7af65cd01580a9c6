"""Running the site (web/operations.py, metrics.py, access_log.py and `ganpage serve`'s
settings): health checks that name no path, Prometheus metrics on their own loopback listener
with one and several workers (never on the site's port), JSON access logs (secrets in a query
redacted, the client a trusted proxy names and no other), GANPAGE_* environment variables."""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from ganpage.web.app import create_app
from ganpage.web.metrics import Metrics
from helpers.servers import (
    free_port,
    metrics_text,
    serving,
    wait_for_http,
    wait_until,
    worker_pids,
)

SERVERS = ["granian", "uvicorn"]


def metric(text: str, route: str, method: str = "GET", status: int = 200) -> float:
    """The value of ganpage_http_requests_total for one series (0 if absent)."""
    wanted = {"route": route, "method": method, "status": str(status)}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ganpage_http_requests_total" and sample.labels == wanted:
                return sample.value
    return 0.0


@pytest.mark.slow
def test_health_and_readiness(live_server):
    alive = httpx.get(live_server + "/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    ready = httpx.get(live_server + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["pictures"] == 12 and ready.json()["problems"] == []
    assert ready.headers["cache-control"] == "no-store"
    assert ready.json()["gallery"] is True and "/" not in ready.text  # no folder of the machine


def test_readiness_problems_name_no_folder(tiny_gallery, tmp_path, monkeypatch):
    import shutil
    import sqlite3

    from ganpage.web.app import SiteConfig

    gallery = Path(shutil.copytree(tiny_gallery, tmp_path / "private-folder" / "gallery"))
    app = create_app(gallery, SiteConfig(refresh_seconds=0))
    client = TestClient(app, raise_server_exceptions=False)

    def unreadable() -> int:
        raise sqlite3.OperationalError(f"unable to open {gallery}/gallery.sqlite")

    monkeypatch.setattr(app.catalog.watcher, "change_counter", unreadable)
    app.catalog.refresh()
    (gallery / "gallery.sqlite").rename(gallery / "moved.sqlite")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and len(ready.json()["problems"]) == 2
    assert "private-folder" not in ready.text and str(tmp_path) not in ready.text
    assert "gallery.sqlite" in ready.text  # what is wrong is still said
    app.close()


def test_the_site_itself_has_no_metrics(tiny_gallery):
    client = TestClient(create_app(tiny_gallery))
    client.get("/review")  # a refusal that the metrics would tell anyone about
    assert client.get("/metrics").status_code == 404


def test_metrics_count_requests_by_route_method_and_status(tiny_gallery):
    client = TestClient(create_app(tiny_gallery))
    picture = client.get("/api/random").json()
    for _ in range(3):
        client.get("/")  # the fast path
        client.head("/")
        client.get(picture["permalink"])
    client.get("/p/000000000000")
    client.get("/no/such/page")
    client.request("BREW", "/")  # a method no label may be made of
    text = metrics_text(client.app)
    assert metric(text, "/") == 3 and metric(text, "/", "HEAD") == 3
    assert metric(text, "/p/{image_id}") == 3
    assert metric(text, "/p/{image_id}", status=404) == 1
    assert metric(text, "unmatched", status=404) == 1
    assert metric(text, "/", "other", 405) == 1 and "BREW" not in text
    assert metric(text, "/api/random") == 1
    count = re.search(r'ganpage_http_request_duration_seconds_count\{route="/"\} (\S+)', text)
    assert float(count.group(1)) == 7  # GET, HEAD and BREW
    assert 'ganpage_http_request_duration_seconds_bucket{le="0.005",route="/"}' in text


def test_batched_observations_export_as_observe_would():
    """Metrics adds many observations at once; the export must be what one observe() per
    request gives (a guard on the prometheus-client internals it uses)."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from ganpage.web.metrics import LATENCY_BUCKETS

    seconds = [0.0, 0.0004, 0.0005, 0.0007, 0.003, 0.003, 0.2, 9.0, 10.0, 11.0, 1e6]
    batched = Metrics()
    for value in seconds:
        batched.record("/x", "GET", 200, value)
    batched.flush()
    registry = CollectorRegistry()
    reference = Histogram("ganpage_http_request_duration_seconds", "Time from a request's "
                          "start to its response's last byte", ["route"],
                          buckets=LATENCY_BUCKETS, registry=registry)
    for value in seconds:
        reference.labels("/x").observe(value)

    def histogram_lines(text: bytes) -> list[str]:
        return [line for line in text.decode().splitlines()
                if line.startswith("ganpage_http_request_duration_seconds_")
                and "_created" not in line]

    assert histogram_lines(batched.exposition()[0]) == histogram_lines(generate_latest(registry))
    assert metric(batched.exposition()[0].decode(), "/x") == len(seconds)


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_metrics_add_up_across_workers_on_their_own_loopback_port(tiny_gallery, reap, server):
    port = free_port()
    metrics = f"http://127.0.0.1:{port}/metrics"
    with serving(reap, tiny_gallery, server, "--workers", "2",
                 "--metrics-port", str(port)) as (process, base):
        wait_until(lambda: len(worker_pids(process.pid)) == 2, 30, "serve did not start 2 workers")
        sent = 0

        def both_workers_answered() -> bool:
            nonlocal sent
            for _ in range(10):
                assert httpx.get(base + "/").status_code == 200  # a new connection each
                sent += 1
            return sum(1 for n in counts_by_worker(process.pid, "/").values() if n) == 2

        # the two workers share the listening socket; go on until each has counted some
        wait_until(both_workers_answered, 60, "one worker answered every request")
        assert httpx.get(base + "/metrics").status_code == 404  # not on the site's port
        # each adds up what it counted every FLUSH_SECONDS, and the listener sums them
        wait_until(lambda: metric(httpx.get(metrics).text, "/") >= sent,
                   10 * Metrics.FLUSH_SECONDS, f"the workers' counts did not add up to {sent}")
        assert metric(httpx.get(metrics).text, "/") == sent
        assert sum(counts_by_worker(process.pid, "/").values()) == sent
    with pytest.raises(httpx.TransportError):  # the listener stops with the server
        httpx.get(metrics, timeout=2)


def counts_by_worker(server: int, route: str) -> dict[int, float]:
    """GET ``route`` answers 200 that each worker of the ``server`` process has flushed to its
    own file in the metrics folder (prometheus-client's counter_<pid>.db)."""
    counts = {}
    for pid in worker_pids(server):
        files = glob.glob(os.path.join(tempfile.gettempdir(), "ganpage-metrics-*",
                                       f"counter_{pid}.db"))
        counts[pid] = sum(sample.value for family in MultiProcessCollector.merge(files)
                          for sample in family.samples
                          if sample.name == "ganpage_http_requests_total"
                          and sample.labels == {"route": route, "method": "GET", "status": "200"})
    return counts


@pytest.mark.slow
def test_the_metrics_listener_is_on_loopback_and_a_taken_port_is_one_line(tiny_gallery, reap):
    port = free_port()
    with serving(reap, tiny_gallery, "granian", "--metrics-port", str(port)):
        assert _bound_addresses(port) == {"127.0.0.1"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "ganpage", "serve", str(tiny_gallery),
             "--port", str(free_port()), "--metrics-port", str(taken.getsockname()[1])],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "choose another --metrics-port or --metrics-host" in result.stderr


def _bound_addresses(port: int) -> set[str]:
    """The local addresses that sockets listening on ``port`` are bound to (Linux /proc)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":  # LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.add(str(ipaddress.IPv4Address(raw[::-1])))
                else:
                    found.add(str(ipaddress.IPv6Address(b"".join(
                        raw[i:i + 4][::-1] for i in range(0, 16, 4)))))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_access_log_is_one_json_line_per_request(tiny_gallery, reap, server, tmp_path):
    log = tmp_path / "access.jsonl"
    with serving(reap, tiny_gallery, server, "--workers", "2", "--access-log", str(log)) as (
            _, base):
        picture = httpx.get(base + "/api/random").json()
        asked = [("GET", "/"), ("HEAD", "/"), ("GET", picture["image_url"]),
                 ("GET", "/p/000000000000?x=1"), ("POST", "/about")]
        for method, path in asked * 10:
            httpx.request(method, base + path, headers={"User-Agent": "test-agent"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # each one whole
    assert len(lines) == 2 + 50  # the /healthz that waited for the server, /api/random, ours
    ours = [line for line in lines if line["user_agent"] == "test-agent"]
    answered = {(m, p): s for (m, p), s in zip(asked, [200, 200, 200, 404, 405], strict=True)}
    assert Counter((line["method"], line["path"] + "?" * bool(line["query"]) + line["query"],
                    line["status"]) for line in ours) == {
        (m, p, s): 10 for (m, p), s in answered.items()}
    by_request = {(line["method"], line["path"]): line for line in ours}
    assert by_request[("GET", picture["image_url"])]["bytes"] > 0
    assert by_request[("HEAD", "/")]["bytes"] == 0 and by_request[("GET", "/")]["ms"] >= 0
    assert by_request[("GET", "/")]["client"] == "127.0.0.1"
    assert len({line["worker"] for line in ours}) == 2  # both workers answered some
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ours[0]["time"])


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_the_access_log_has_the_client_a_trusted_proxy_names_and_no_secret(tiny_gallery, reap,
                                                                          server, tmp_path):
    """uvicorn's own default believes X-Forwarded-For from 127.0.0.1; ganpage turns it off."""
    for trusted, client in (((), "127.0.0.1"), (("--trusted-proxy", "127.0.0.1"), "203.0.113.9")):
        log = tmp_path / f"access-{len(trusted)}.jsonl"
        with serving(reap, tiny_gallery, server, "--access-log", str(log), "--metrics-port",
                     "0", *trusted) as (_, base):
            httpx.get(base + "/about?token=secret-review-token-in-a-query&x=1",
                      headers={"X-Forwarded-For": "203.0.113.9", "User-Agent": "forwarded"})
        line = next(json.loads(text) for text in log.read_text().splitlines()
                    if '"forwarded"' in text)
        assert line["client"] == client, trusted
        assert line["query"] == "token=REDACTED&x=1" and "secret" not in log.read_text()


@pytest.mark.slow
def test_settings_come_from_flags_and_environment(tiny_gallery, reap, tmp_path):
    log = tmp_path / "from-env.jsonl"
    port = free_port()
    environment = {**os.environ, "GANPAGE_GALLERY": str(tiny_gallery), "GANPAGE_PORT": "1",
                   "GANPAGE_SERVER": "uvicorn", "GANPAGE_ACCESS_LOG": str(log),
                   "GANPAGE_SITE_NAME": "Env Site", "GANPAGE_SHOW": "approved pending"}
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", "--port", str(port)],  # the flag wins
        env=environment, stdout=subprocess.DEVNULL))
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        about = httpx.get(f"http://127.0.0.1:{port}/about")
        assert "Env Site" in about.text and about.headers["server"] == "uvicorn"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert '"path": "/about"' in log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("variable, value, message", [
    ("GANPAGE_WORKERS", "many", "Invalid value for '--workers' (env var: 'GANPAGE_WORKERS')"),
    ("GANPAGE_SERVER", "nginx", "Invalid value for '--server' (env var: 'GANPAGE_SERVER')"),
    ("GANPAGE_ACCESS_LOG", "/proc/no/such/dir/log", "cannot write the access log"),
])
def test_a_bad_setting_is_one_line(tiny_gallery, variable, value, message):
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "serve", str(tiny_gallery), "--port", str(free_port())],
        env={**os.environ, variable: value}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
