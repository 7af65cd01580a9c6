"""URL sampling and downloading against a local HTTP server that serves every bad case."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp.abc import AbstractResolver
from PIL import Image

from ganpage.data import address_guard, fetch, outcomes
from ganpage.data import urls as urls_module
from ganpage.data.dataset import load_training_set
from ganpage.data.sampling import parse_line, reservoir_sample
from ganpage.data.urls import DownloadSettings, download_url_list
from ganpage.errors import GanpageError
from helpers.images import png_bomb
from helpers.servers import wait_until


def picture_bytes(seed: int, fmt: str = "JPEG") -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


PLACEHOLDER = picture_bytes(999, "PNG")
UNKNOWN_PLACEHOLDER = picture_bytes(998, "PNG")  # in no list: found by repetition


class Handler(BaseHTTPRequestHandler):
    """Each path is one case; see CASES below."""

    hits: Counter = Counter()

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "image/jpeg",
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        Handler.hits[path] += 1
        name = path.strip("/").split("/")[0]
        if name.startswith("good"):
            self._send(200, picture_bytes(int(path.rsplit("/", 1)[-1])))
        elif name == "missing":
            self._send(404, b"no", "text/plain")
        elif name == "flaky":  # 500 first, then the picture
            if Handler.hits[path] == 1:
                self._send(500, b"oops", "text/plain")
            else:
                self._send(200, picture_bytes(77))
        elif name == "always500":
            self._send(503, b"down", "text/plain")
        elif name == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(picture_bytes(5)[:100])
            time.sleep(3)
        elif name == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\xff" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif name == "html":
            self._send(200, b"<html>photo unavailable</html>", "text/html")
        elif name == "html-as-jpg":
            self._send(200, b"<html>photo unavailable</html>", "image/jpeg")
        elif name == "truncated":
            data = picture_bytes(6)
            self._send(200, data[: len(data) // 2])
        elif name == "bomb":
            self._send(200, png_bomb(20000, 20000), "image/png")
        elif name == "loop":
            self._send(302, headers={"Location": "/loop"})
        elif name == "to-loopback":
            port = self.server.server_address[1]
            self._send(302, headers={"Location": f"http://127.0.0.1:{port}/good/1"})
        elif name == "redirect-good":
            self._send(301, headers={"Location": "/good/3"})
        elif name == "placeholder":
            self._send(200, PLACEHOLDER, "image/png")
        elif name == "duplicate":
            self._send(200, picture_bytes(1))
        elif name == "dead":  # every dead link of a photo host serves the same picture
            self._send(200, UNKNOWN_PLACEHOLDER, "image/png")
        else:
            self._send(404)


EXPECTED = {
    "good/1": "ok", "good/2": "ok", "redirect-good": "ok", "flaky": "ok",
    "missing": "http_404", "always500": "http_503", "slow": "timeout",
    "endless": "too_large", "html": "wrong_content_type", "html-as-jpg": "not_an_image",
    "truncated": "corrupt", "bomb": "too_many_pixels", "loop": "too_many_redirects",
    "to-loopback": "private_address", "placeholder": "placeholder", "duplicate": "duplicate",
    "ftp": "bad_scheme",
}


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.2 (loopback range; the tests treat it as public)."""
    Handler.hits = Counter()
    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def only_127_0_0_2_is_public(monkeypatch):
    """Pretend 127.0.0.2 is a public address so the guard is tested for real elsewhere."""
    real = address_guard.is_public_address
    monkeypatch.setattr(address_guard, "is_public_address",
                        lambda address: address == "127.0.0.2" or real(address))


def write_list(path: Path, base: str, gzip_it: bool = False) -> Path:
    lines = []
    for i, case in enumerate(EXPECTED):
        url = "ftp://example.org/x.jpg" if case == "ftp" else f"{base}/{case}"
        lines.append(f"{('n02091467', 'n09999999')[i % 2]}_{i} {url}")  # elkhound, unknown
    lines.insert(3, "this line is not a url")
    lines.insert(7, "")
    text = "\n".join(lines) + "\n"
    if gzip_it:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def fast_settings(**changes) -> DownloadSettings:
    values = dict(size=32, read_timeout=1.0, connect_timeout=1.0, total_timeout=5.0,
                  max_bytes=2_000_000, retries=1, backoff=0.05,
                  placeholder_sha256=frozenset({__import__("hashlib").sha256(
                      PLACEHOLDER).hexdigest()}))
    values.update(changes)
    return DownloadSettings(**values)


def outcomes_by_case(out: Path) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(out / "urls.sqlite") as db:
        rows = db.execute("SELECT url, outcome FROM urls").fetchall()
    return {("ftp" if url.startswith("ftp") else url.split("/", 3)[3]): outcome
            for url, outcome in rows}


def test_every_bad_case_gets_its_outcome(server, only_127_0_0_2_is_public, tmp_path):
    url_list = write_list(tmp_path / "list.txt.gz", server, gzip_it=True)
    report = download_url_list(url_list, tmp_path / "out", 100, 0, fast_settings(),
                               names={"n09999999": "Mystery Thing"}, show_progress=False)
    assert outcomes_by_case(tmp_path / "out") == EXPECTED
    assert report["bad_lines"] == 2
    assert report["outcomes"]["ok"] == 4
    assert Handler.hits["/flaky"] == 2 and Handler.hits["/always500"] == 2  # retried once
    assert Handler.hits["/missing"] == 1  # 4xx is not retried
    dataset = load_training_set(tmp_path / "out")
    assert dataset.images.shape[1:] == (3, 32, 32)
    assert {c.name for c in dataset.categories} == {"Norwegian Elkhound", "Mystery Thing"}


def test_rerun_downloads_nothing_twice(server, only_127_0_0_2_is_public, tmp_path):
    url_list = write_list(tmp_path / "list.txt", server)
    download_url_list(url_list, tmp_path / "out", 100, 0, fast_settings(), show_progress=False)
    before = sum(Handler.hits.values())
    download_url_list(url_list, tmp_path / "out", 100, 0, fast_settings(), show_progress=False)
    assert sum(Handler.hits.values()) == before


@pytest.mark.parametrize("repeats", [10, 0])
def test_bytes_served_for_many_urls_are_a_placeholder(server, only_127_0_0_2_is_public,
                                                       tmp_path, repeats):
    import hashlib

    lines = [f"n02091467_{i} {server}/dead/{i}" for i in range(12)]
    lines += [f"n0209146{i % 2}_{i} {server}/good/{i}" for i in range(20, 23)]
    url_list = tmp_path / "list.txt"
    url_list.write_text("\n".join(lines) + "\n")
    settings = fast_settings(placeholder_repeats=repeats)
    report = download_url_list(url_list, tmp_path / "out", 100, 0, settings, show_progress=False)
    digest = hashlib.sha256(UNKNOWN_PLACEHOLDER).hexdigest()
    files = sorted((tmp_path / "out").glob("*/*.png"))
    if repeats:
        assert report["outcomes"] == {"ok": 3, "placeholder": 12}
        assert report["repeated_placeholders"] == {digest: 12}
        assert len(files) == 3  # the first copy, kept while downloading, is gone
    else:
        assert report["outcomes"] == {"ok": 4, "duplicate": 11}
        assert len(files) == 4
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert sorted(json.loads(row)["path"] for row in manifest) == sorted(
        str(f.relative_to(tmp_path / "out")) for f in files)


def test_a_placeholder_found_by_repetition_stays_one_after_a_resume(
        server, only_127_0_0_2_is_public, tmp_path):
    """Dead links decided after the placeholder was found are placeholders, not new pictures."""
    first = [f"n02091467_{i} {server}/dead/{i}" for i in range(10)]
    url_list = tmp_path / "list.txt"
    url_list.write_text("\n".join(first) + "\n")
    download_url_list(url_list, tmp_path / "out", 100, 0, fast_settings(), show_progress=False)
    state = outcomes.DownloadState(tmp_path / "out" / "urls.sqlite")
    state.add_sample([parse_line(99, f"n02091467_99 {server}/dead/99".encode())], 0, 11)
    state.db.close()
    report = download_url_list(url_list, tmp_path / "out", 100, 0, fast_settings(),
                               show_progress=False)
    assert report["outcomes"] == {"placeholder": 11}
    assert not list((tmp_path / "out").glob("*/*.png"))


def test_private_addresses_refused_unless_allowed(server, tmp_path):
    url_list = tmp_path / "list.txt"
    url_list.write_text(f"{server}/good/1\n{server}/good/2\n")
    report = download_url_list(url_list, tmp_path / "strict", 10, 0, fast_settings(),
                               show_progress=False)
    assert report["outcomes"] == {"private_address": 2}
    report = download_url_list(url_list, tmp_path / "open", 10, 0,
                               fast_settings(allow_private=True), show_progress=False)
    assert report["outcomes"] == {"ok": 2}


class ScriptedResolver(AbstractResolver):
    """Answers every host name with the next address of a script (a DNS server that rebinds)."""

    def __init__(self, *addresses: str):
        self.addresses = list(addresses)
        self.calls = 0

    async def resolve(self, host, port=0, family=socket.AF_INET):
        address = self.addresses[min(self.calls, len(self.addresses) - 1)]
        self.calls += 1
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0}]

    async def close(self):
        pass


def fetch_by_name(url: str, resolver: AbstractResolver, **settings) -> str:
    """The outcome of fetching ``url`` through a connector that resolves with ``resolver``."""
    async def run() -> str:
        options = fast_settings(**settings)
        async with aiohttp.ClientSession(connector=fetch.make_connector(options, resolver),
                                         trust_env=False) as session:
            try:
                await fetch.fetch_one(session, url, options)
                return "ok"
            except (fetch.Refused, fetch.Retryable) as error:
                return error.outcome
    return asyncio.run(run())


def test_host_names_are_checked_on_the_address_connected_to(server, only_127_0_0_2_is_public):
    url = "http://pictures.example:" + server.rsplit(":", 1)[1] + "/good/1"
    assert fetch_by_name(url, ScriptedResolver("127.0.0.2")) == "ok"
    assert fetch_by_name(url, ScriptedResolver("127.0.0.1")) == "private_address"
    # Rebinding: a public answer, then a private one. Each connection resolves once and is
    # checked on that answer, so no check can pass on one address and connect to another.
    rebinding = ScriptedResolver("127.0.0.2", "127.0.0.1")
    assert fetch_by_name(url, rebinding) == "ok" and rebinding.calls == 1
    # --allow-private skips the guard: it connects to 127.0.0.1, where nothing listens.
    assert fetch_by_name(url, ScriptedResolver("127.0.0.1"), allow_private=True) \
        == "connection_error"


def test_unresolvable_host_is_a_dns_error(only_127_0_0_2_is_public):
    class Failing(ScriptedResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert fetch_by_name("http://nowhere.example/x.jpg", Failing()) == "dns_error"


def test_reservoir_sample_is_exact_and_uniform(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line{i}\n" for i in range(100)))
    everything, total = reservoir_sample(path, 1000, 0)
    assert total == 100 and [n for n, _ in everything] == list(range(100))
    counts = Counter()
    for seed in range(2000):
        sample, _ = reservoir_sample(path, 10, seed)
        assert len({n for n, _ in sample}) == 10
        counts.update(n for n, _ in sample)
    frequencies = np.array([counts[i] for i in range(100)]) / 2000
    assert abs(frequencies.mean() - 0.1) < 1e-9 and frequencies.std() < 0.012
    assert reservoir_sample(path, 10, 5) == reservoir_sample(path, 10, 5)


def test_reservoir_sample_is_fixed_for_a_seed(tmp_path):
    """The draws are written out (ganpage.rng), so two Pythons sample the same lines."""
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line{i}\n" for i in range(1000)))
    assert [n for n, _ in reservoir_sample(path, 5, 0)[0]] == [16, 461, 664, 799, 885]
    assert [n for n, _ in reservoir_sample(path, 5, 1)[0]] == [65, 612, 850, 899, 971]


def test_sample_reads_gzip_and_counts_lines_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr("ganpage.data.sampling.CHUNK_BYTES", 64)  # force many chunks
    text = "".join(f"n01440764_{i} http://x.org/{i}.jpg\n" for i in range(500))
    plain, packed = tmp_path / "a.txt", tmp_path / "a.txt.gz"
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    assert reservoir_sample(plain, 50, 3) == reservoir_sample(packed, 50, 3)
    sample, total = reservoir_sample(plain, 50, 3)
    assert total == 500
    for number, raw in sample:
        assert parse_line(number, raw).url == f"http://x.org/{number}.jpg"


def test_two_classes_named_alike_are_refused_with_the_fix():
    names = {"n01": "Crane", "n02": "crane", "n03": "鶴", "n04": "鸛"}
    assert len(urls_module.class_categories(["n01", "n03", "n04"], names)) == 3
    with pytest.raises(GanpageError, match=r"classes n01 \('Crane'\) and n02 \('crane'\) "
                                           "would become one category; give one of them"):
        urls_module.class_categories(["n01", "n02"], names)


def test_class_names_and_placeholder_lists_must_exist(tmp_path):
    (tmp_path / "names.tsv").write_text("n01\tCrane\nbad line\nn02\t Crane Bird \n")
    assert urls_module.read_class_names(tmp_path / "names.tsv") == {"n01": "Crane",
                                                                     "n02": "Crane Bird"}
    with pytest.raises(GanpageError, match="no class name list at"):
        urls_module.read_class_names(tmp_path / "nope.tsv")
    with pytest.raises(GanpageError, match="no placeholder list at"):
        fetch.load_placeholder_hashes(tmp_path / "nope.txt")


def test_a_missing_url_list_makes_no_folder(tmp_path):
    with pytest.raises(GanpageError, match="no URL list at"):
        download_url_list(tmp_path / "nope.txt", tmp_path / "out", 10, 0, DownloadSettings(),
                          show_progress=False)
    assert not (tmp_path / "out").exists()


def test_parse_line_formats():
    assert parse_line(0, b"n01440764_10 http://a.org/b.jpg").wnid == "n01440764"
    assert parse_line(1, b"https://a.org/b.jpg").wnid == ""
    assert parse_line(2, b"garbage") is None
    assert parse_line(3, b"\xff\xfe") is None


def processes_with(marker: str) -> list[int]:
    """Process ids whose command line contains ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def decided_and_pending(state: Path) -> tuple[int, int]:
    """URLs with an outcome and without one in a download's urls.sqlite (0, 0 before it has
    its table), read without writing."""
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(outcome), count(*) - count(outcome) FROM urls"
                              ).fetchone()
    except sqlite3.OperationalError:
        return 0, 0


@pytest.mark.slow
def test_kill_9_mid_download_then_resume_matches_uninterrupted(server, tmp_path):
    """Counts of outcomes after kill -9 + resume equal those of one uninterrupted run."""
    lines = [f"{server}/good/{i}" for i in range(40)] + [f"{server}/slow/{i}" for i in range(6)]
    url_list = tmp_path / "list.txt"
    url_list.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "ganpage", "data", "urls", str(url_list), "--sample",
               "100", "--size", "32", "--allow-private", "--concurrency", "4", "--per-host",
               "4", "--retries", "0"]
    subprocess.run([*command, "--out", str(tmp_path / "straight")], check=True,
                   capture_output=True, timeout=120)
    process = subprocess.Popen([*command, "--out", str(tmp_path / "killed")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "killed" / "urls.sqlite"
    # killed once some outcomes are recorded (the slow URLs keep it downloading for seconds)
    wait_until(lambda: process.poll() is not None or decided_and_pending(state)[0] >= 5, 60,
               "the downloader recorded no outcome")
    assert process.poll() is None, "the download ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    decided, pending = decided_and_pending(state)
    assert decided and pending, f"killed with {decided} URLs decided, {pending} pending"
    marker = str(tmp_path / "killed")
    # its decode workers notice within a second and exit
    wait_until(lambda: not processes_with(marker), 10,
               "worker processes outlived the killed downloader")
    subprocess.run([*command, "--out", str(tmp_path / "killed")], check=True,
                   capture_output=True, timeout=120)
    straight = json.loads((tmp_path / "straight" / "report.json").read_text())["outcomes"]
    resumed = json.loads((tmp_path / "killed" / "report.json").read_text())["outcomes"]
    assert straight == resumed
    assert sum(straight.values()) == 46


DECODE_UNDER_A_LIMIT = """
import sys
sys.path.insert(0, {tests!r})
from helpers.images import flat_png
from ganpage.data.fetch import DownloadSettings, Refused, process_body
from ganpage.data.urls import limit_memory
data = flat_png(4096, 4096)  # within the scaled cap of a 256 px picture: 64 MB as RGBA
limit_memory({extra})
try:
    process_body(data, DownloadSettings(size=256))
    print("decoded")
except Refused as error:
    print(error.outcome)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "outcome"), [(16 << 20, "too_many_pixels"),
                                                (urls_module.DECODE_MEMORY_BYTES, "decoded")])
def test_a_decode_worker_past_its_memory_limit_refuses_the_picture(extra, outcome):
    """A worker's memory may grow by DECODE_MEMORY_BYTES (start_decode_worker); what decodes
    into more is the URL's outcome, not a machine out of memory. The largest picture the
    scaled cap lets through decodes well within it."""
    code = DECODE_UNDER_A_LIMIT.format(tests=str(Path(__file__).parent), extra=extra)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.split() == [outcome], done.stderr[-2000:]
