"""The server processes (web/server.py) under faults: a worker killed, a stop while requests
are in flight, slow clients; each against real Granian and uvicorn processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ganpage.gallery import Gallery
from helpers.servers import free_port, serving, wait_for_http, wait_until, worker_pids

SERVERS = ["granian", "uvicorn"]
TESTS = Path(__file__).parent


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(tiny_gallery, reap, server):
    with serving(reap, tiny_gallery, server, "--workers", "2") as (process, base):
        statuses, victim, replaced = kill_a_worker(process, base)
    assert process.returncode == 0  # and SIGTERM still stops it cleanly
    assert len(replaced) == 2 and victim not in replaced
    assert set(statuses) == {200}


def kill_a_worker(process: subprocess.Popen, base: str) -> tuple[list[int], int, set[int]]:
    """SIGKILL one of two workers, then ask for pages until another takes its place; returns
    the statuses seen, the pid killed and the workers after."""
    deadline = time.monotonic() + 20
    while len(workers := worker_pids(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    statuses = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        statuses.append(httpx.get(base + "/", timeout=5).status_code)
        replaced = worker_pids(process.pid) - {victim}
        if len(replaced) == 2 and len(statuses) >= 20:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the server exited when one worker died"
    return statuses, victim, replaced


def until_every_worker_answers(base: str, path: str, status: int, log: Path,
                               workers: int = 2, timeout: float = 10) -> float:
    """Ask for ``path`` until each worker has answered it with ``status`` (by the access log);
    the seconds that took."""
    seen_before = len(log.read_text().splitlines())
    started = time.monotonic()
    answered: set[int] = set()
    while len(answered) < workers:
        assert time.monotonic() - started < timeout, f"only {answered} answered {status}"
        httpx.get(base + path)
        lines = [json.loads(line) for line in log.read_text().splitlines()[seen_before:]]
        answered = {line["worker"] for line in lines
                    if line["path"] == path and line["status"] == status}
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_a_picture_one_worker_finds_deleted_stops_being_shown_by_all(tiny_gallery, reap,
                                                                     server, tmp_path):
    gallery = tmp_path / "gallery"
    shutil.copytree(tiny_gallery, gallery)
    with Gallery.open(gallery) as opened:
        victim = opened.records()[0]
    log = tmp_path / "access.jsonl"
    with serving(reap, gallery, server, "--workers", "2", "--access-log", str(log)) as (_, base):
        assert httpx.get(f"{base}/p/{victim.id}").status_code == 200
        (gallery / victim.relative_path).unlink()
        assert httpx.get(f"{base}/images/{victim.relative_path}").status_code == 404
        # each worker looks at the shared file every second (catalog.py), started by a request
        took = until_every_worker_answers(base, f"/p/{victim.id}", 404, log)
        pages = [httpx.get(f"{base}/p/{victim.id}").status_code for _ in range(30)]
    assert took < 10 and pages == [404] * 30  # and it stays hidden, in both


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_stop_finishes_requests_in_flight_and_removes_the_metrics_folder(reap, server, tmp_path):
    port = free_port()
    code = ("from ganpage.web.server import ServerOptions, serve_target; "
            "serve_target('helpers.servers:slow_app', "
            f"ServerOptions(port={port}, server={server!r}, shutdown_timeout=20))")
    temporary, arrived = tmp_path / "tmp", tmp_path / "arrived"
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary), "SLOW_APP_ARRIVED": str(arrived),
                   "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    process = reap(subprocess.Popen([sys.executable, "-c", code], env=environment,
                                    start_new_session=True))
    base = f"http://127.0.0.1:{port}/"
    wait_for_http(base, process)
    made = list(temporary.iterdir())
    assert len(made) == 1 and made[0].name.startswith("ganpage-metrics-")
    answers = []
    slow = threading.Thread(target=lambda: answers.append(httpx.get(base + "?3", timeout=30)))
    slow.start()
    wait_until(arrived.exists, 10, "the slow request did not reach the app")
    process.send_signal(signal.SIGTERM)
    slow.join()
    assert answers[0].status_code == 200 and answers[0].text == "finished"
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert list(temporary.iterdir()) == []  # the multiprocess metrics folder is gone


@pytest.mark.slow
def test_a_request_whose_headers_never_finish_is_dropped(tiny_gallery, reap):
    """Granian closes it after HEADER_TIMEOUT_SECONDS (uvicorn has no such timeout)."""
    from ganpage.web.server import HEADER_TIMEOUT_SECONDS

    with serving(reap, tiny_gallery, "granian") as (_, base):
        client = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        client.settimeout(HEADER_TIMEOUT_SECONDS + 10)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            while client.recv(4096):  # a 408 answer, if any, then the close
                pass
        waited = time.monotonic() - started
        client.close()
    assert HEADER_TIMEOUT_SECONDS - 1 < waited < HEADER_TIMEOUT_SECONDS + 5


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
def test_hundreds_of_slow_clients_do_not_starve_a_normal_one(tiny_gallery, reap, server):
    slow = []
    with serving(reap, tiny_gallery, server) as (_, base):
        try:
            for _ in range(1100):  # more than Granian's default connections per worker (1,024)
                client = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finishes
                slow.append(client)
            wait_until(lambda: established(int(base.rsplit(":", 1)[1])) >= 1100, 10,
                       "the slow clients' connections were not all established")
            started = time.monotonic()
            response = httpx.get(base + "/", timeout=10)
            assert response.status_code == 200 and time.monotonic() - started < 2.0
        finally:
            for client in slow:
                client.close()



def established(port: int) -> int:
    """TCP connections to ``port`` on this machine in the ESTABLISHED state (Linux /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def _process_state(pid: int) -> str | None:
    """The state letter of a process ('Z' for a zombie), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_the_background_onnx_export_is_reaped_when_it_ends(tmp_path, monkeypatch):
    from ganpage.web.server import prepare_live_page

    monkeypatch.setenv("GANPAGE_CACHE", str(tmp_path / "cache"))
    export = prepare_live_page("no-such-model")  # the child fails at once and ends
    wait_until(lambda: _process_state(export.pid) in (None, "Z"), 120, "the export did not end")
    # the reaper's moment
    wait_until(lambda: _process_state(export.pid) is None, 10, "the export child was left a zombie")


@pytest.mark.slow
def test_a_decision_is_shown_by_every_worker_from_the_change_log(tiny_gallery, reap, tmp_path):
    """A category rejected, then approved again, as `ganpage gallery approve` does: each of
    two workers stops, then starts again, listing it within seconds, and `/` follows."""
    gallery = tmp_path / "gallery"
    shutil.copytree(tiny_gallery, gallery)
    log = tmp_path / "access.jsonl"
    with serving(reap, gallery, "granian", "--workers", "2", "--access-log",
                 str(log)) as (_, base):
        assert httpx.get(f"{base}/c/hamster").status_code == 200
        with Gallery.open(gallery) as writer:
            hamsters = {r.id for r in writer.records(category="hamster")}
            writer.set_status("rejected", category="hamster")
        took = until_every_worker_answers(base, "/c/hamster", 404, log)
        shown = " ".join(httpx.get(base + "/").text for _ in range(40))
        assert not any(image_id in shown for image_id in hamsters)
        with Gallery.open(gallery) as writer:
            writer.set_status("approved", category="hamster")
        took_back = until_every_worker_answers(base, "/c/hamster", 200, log)
        counts = {c["slug"]: c["count"] for c in httpx.get(f"{base}/api/categories").json()}
    assert took < 10 and took_back < 10 and counts["hamster"] == 4


def test_run_server_hands_its_site_and_options_to_the_workers(tiny_gallery, monkeypatch, capsys):
    """``run_server(gallery, site, options)``: the workers' app is made from the same
    ``SiteConfig`` (its JSON in the environment), torch's threads chosen for the workers."""
    from dataclasses import replace

    from ganpage.live.settings import LiveSettings
    from ganpage.web import server
    from ganpage.web.catalog import Catalog
    from ganpage.web.config import SiteConfig

    started, loads = {}, []
    load = Catalog.load
    monkeypatch.setattr(Catalog, "load", lambda catalog: loads.append(1) or load(catalog))
    monkeypatch.setattr(server, "serve_target", lambda target, options: started.update(
        target=target, options=options))
    monkeypatch.setenv(server.SETTINGS_VARIABLE, "")  # put back as it was after the test
    token = "test-review-token-0123456789-abcdef"
    monkeypatch.setenv("GANPAGE_REVIEW_TOKEN", token)
    site = SiteConfig(site_name="These Bagels", public_url="https://x.example/",
                      review_token=token, trusted_proxies=("127.0.0.1",))
    options = server.ServerOptions(port=free_port(), workers=2, metrics_port=0)
    server.run_server(tiny_gallery, site, options)
    assert started == {"target": server.APP_FACTORY, "options": options}
    assert loads == []  # the parent checked the gallery without reading its pictures
    app = server.app_from_environment()
    try:
        assert loads == [1] and app.catalog.count() == 12  # a worker reads them
        assert app.pages.config == replace(site, public_url="https://x.example",
                                           live=server.live_settings_for(LiveSettings(), 2))
    finally:
        app.close()
    printed = capsys.readouterr().out
    assert f"serving {tiny_gallery} at http://127.0.0.1:{options.port}/" in printed
    assert "review page:" in printed and token not in printed
