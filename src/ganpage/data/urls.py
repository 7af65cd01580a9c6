"""``ganpage data urls``: sample a URL list, download, validate and resize, resumably.

reader (``sampling.py``) -> downloader (``fetch_one``: httpx, guarded, retried) -> resizer (the
shared safe decoder, in a thread pool) -> writer (files + one SQLite state row per URL). Every
URL ends in exactly one outcome in ``DATA/urls.sqlite``; a re-run skips decided URLs, so a killed
run resumes where it stopped and nothing is downloaded twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import ipaddress
import json
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ganpage.atomic import atomic_write_bytes, atomic_write_text
from ganpage.categories import CategorySet, imagenet_categories, slugify
from ganpage.data.dataset import CLASSES, MANIFEST, REPORT
from ganpage.data.decode import DecodeLimits, RejectedImage, ResizeMode, decode_image, to_square
from ganpage.data.sampling import parse_line, reservoir_sample
from ganpage.errors import GanpageError
from ganpage.progress import progress_bar

STATE_FILE = "urls.sqlite"
MAX_REDIRECTS = 5
RETRY_STATUSES = range(500, 600)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = "ganpage-downloader (+https://pypi.org/project/ganpage/)"
NOT_IMAGE_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class DownloadSettings:
    """Limits and politeness of a download run."""

    size: int = 128
    resize: ResizeMode = ResizeMode.CROP
    concurrency: int = 64
    per_host: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    workers: int | None = None  # decode/resize processes; None: one per CPU
    backoff: float = 0.5  # seconds, doubled per retry
    allow_private: bool = False
    placeholder_sha256: frozenset[str] = field(default_factory=frozenset)
    # the same bytes served for this many different URLs are a "photo unavailable" placeholder
    # (dead Flickr links all get one picture); 0 turns the check off
    placeholder_repeats: int = 10


class Refused(Exception):
    """A URL that ends with a non-retryable outcome."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


class Retryable(Exception):
    """A failure worth another try (5xx, timeouts, dropped connections)."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


def load_placeholder_hashes(extra: Path | None = None) -> frozenset[str]:
    """sha256 digests of known "photo unavailable" placeholders (shipped list + ``extra``)."""
    if extra is not None and not extra.is_file():
        raise GanpageError(f"no placeholder list at {extra}; give a file of sha256 lines")
    shipped = (resources.files("ganpage") / "resources" / "placeholder_sha256.txt").read_text()
    text = shipped + ("\n" + extra.read_text() if extra else "")
    return frozenset(line.split()[0].lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


# -- address guard ----------------------------------------------------------------------------


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Whether an address is public, including any IPv4 address embedded in an IPv6 one."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # Teredo (2001::/32) needs no case: it is never global
        embedded = [ip.ipv4_mapped, ip.sixtofour,
                    ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None]
        return all(is_public_address(str(v4)) for v4 in embedded if v4 is not None)
    return True


class NonPublicAddress(OSError):
    """A host name that resolved to a loopback, private, link-local or multicast address."""


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing any host with a non-public address.

    The connector connects to the addresses this returns, so the address checked is the address
    used: a DNS answer that changes between a check and the connection (DNS rebinding) cannot
    slip through.
    """

    def __init__(self, base: AbstractResolver | None = None):
        self._base = base or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._base.resolve(host, port, family)
        if not results or not all(is_public_address(result["host"]) for result in results):
            raise NonPublicAddress(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._base.close()


def make_connector(settings: DownloadSettings,
                   base_resolver: AbstractResolver | None = None) -> aiohttp.TCPConnector:
    """The connection pool of a download run: guarded by ``PublicOnlyResolver`` unless
    ``allow_private``; ``base_resolver`` replaces the system resolver (tests)."""
    resolver = base_resolver if settings.allow_private else PublicOnlyResolver(base_resolver)
    return aiohttp.TCPConnector(limit=settings.concurrency, ttl_dns_cache=300,
                                resolver=resolver)


def check_url(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, literal non-public IP hosts.

    Host names are checked when they are resolved, by ``PublicOnlyResolver``; aiohttp connects
    to literal IP addresses without resolving them, so those are checked here.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("bad_scheme")
    if allow_private:
        return
    try:
        public = is_public_address(parts.hostname)
    except ValueError:
        return  # a host name: checked when it is resolved
    if not public:
        raise Refused("private_address")


# -- one URL ----------------------------------------------------------------------------------


async def fetch_one(session: aiohttp.ClientSession, url: str,
                    settings: DownloadSettings) -> bytes:
    """The body of ``url`` after guarded redirects, within the byte cap; raises on failure."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, settings.allow_private)
        try:
            async with session.get(url, allow_redirects=False) as response:
                if response.status in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise Refused("bad_redirect")
                    url = urljoin(url, location)
                    continue
                return await _read_body(response, settings)
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            raise Retryable("timeout") from error
        except aiohttp.InvalidURL as error:
            raise Refused("bad_url") from error
        except aiohttp.ClientConnectorError as error:
            raise _connect_failure(error) from error
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            raise Retryable("connection_error") from error
    raise Refused("too_many_redirects")


def _connect_failure(error: aiohttp.ClientConnectorError) -> Exception:
    if isinstance(error.os_error, NonPublicAddress):
        return Refused("private_address")
    if isinstance(error.os_error, socket.gaierror):
        return Refused("dns_error")
    return Retryable("connection_error")


async def _read_body(response: aiohttp.ClientResponse, settings: DownloadSettings) -> bytes:
    if response.status in RETRY_STATUSES:
        raise Retryable(f"http_{response.status}")
    if response.status != 200:
        raise Refused(f"http_{response.status}")
    content_type = response.headers.get("Content-Type", "").lower()
    if content_type.startswith(NOT_IMAGE_TYPES):
        raise Refused("wrong_content_type")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        raise Refused("too_large")
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):  # decompressed bytes
        body.extend(chunk)
        if len(body) > settings.max_bytes:
            raise Refused("too_large")
    return bytes(body)


def process_body(data: bytes, settings: DownloadSettings) -> tuple[bytes, str]:
    """Validate and resize downloaded bytes to a PNG; returns (png, sha256 of the download)."""
    digest = hashlib.sha256(data).hexdigest()
    if digest in settings.placeholder_sha256:
        raise Refused("placeholder")
    try:
        image = decode_image(data, DecodeLimits(max_bytes=settings.max_bytes),
                             at_least=settings.size)
    except RejectedImage as error:
        raise Refused(error.reason) from error
    buffer = io.BytesIO()
    # PNG level 1: 1.5 ms instead of 2.4 ms at 128 px, the largest cost of the whole pipeline
    to_square(image, settings.size, settings.resize).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue(), digest


# -- state ------------------------------------------------------------------------------------


class DownloadState:
    """``urls.sqlite``: one row per sampled URL, its outcome once decided."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS urls (
            line INTEGER PRIMARY KEY, url TEXT NOT NULL, wnid TEXT NOT NULL,
            outcome TEXT, attempts INTEGER NOT NULL DEFAULT 0, path TEXT, sha256 TEXT)""")
        # every download looks its bytes up by sha256 (duplicate? placeholder?) on the event
        # loop: 2.5 ms a lookup by table scan at 35,000 rows, 0.01 ms with the index
        self.db.execute("CREATE INDEX IF NOT EXISTS urls_sha256 ON urls (sha256)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add_sample(self, entries: list, bad_lines: int, total_lines: int) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR IGNORE INTO urls (line, url, wnid) VALUES (?, ?, ?)",
                            [(e.line, e.url, e.wnid) for e in entries])
        self.set_meta("bad_lines", str(bad_lines))
        self.set_meta("total_lines", str(total_lines))
        self.db.execute("COMMIT")

    def pending(self) -> list[tuple[int, str, str]]:
        return self.db.execute(
            "SELECT line, url, wnid FROM urls WHERE outcome IS NULL ORDER BY line").fetchall()

    def decide(self, line: int, outcome: str, attempts: int, path: str | None = None,
               sha256: str | None = None) -> None:
        self.db.execute("UPDATE urls SET outcome = ?, attempts = ?, path = ?, sha256 = ? "
                        "WHERE line = ?", (outcome, attempts, path, sha256, line))

    def outcomes(self) -> Counter:
        rows = self.db.execute("SELECT COALESCE(outcome, 'pending'), COUNT(*) FROM urls "
                               "GROUP BY 1")
        return Counter(dict(rows.fetchall()))

    def known_outcome_of(self, digest: str) -> str | None:
        """"placeholder" or "duplicate" when these bytes were already decided, else None."""
        outcomes = {row[0] for row in self.db.execute(
            "SELECT DISTINCT outcome FROM urls WHERE sha256 = ? AND outcome IN "
            "('ok', 'placeholder')", (digest,))}
        return ("placeholder" if "placeholder" in outcomes
                else "duplicate" if "ok" in outcomes else None)

    def mark_repeated_as_placeholders(self, min_repeats: int) -> list[str]:
        """Turn every download whose bytes came from ``min_repeats`` or more URLs into a
        "placeholder"; returns the paths of the files that were kept for them."""
        digests = [row[0] for row in self.db.execute(
            "SELECT sha256 FROM urls WHERE outcome IN ('ok', 'duplicate') "
            "AND sha256 IS NOT NULL GROUP BY sha256 HAVING COUNT(*) >= ?", (min_repeats,))]
        if not digests:
            return []
        marks = ",".join("?" * len(digests))
        paths = [row[0] for row in self.db.execute(
            f"SELECT path FROM urls WHERE outcome = 'ok' AND sha256 IN ({marks})", digests)]
        self.db.execute(f"UPDATE urls SET outcome = 'placeholder', path = NULL "
                        f"WHERE outcome IN ('ok', 'duplicate') AND sha256 IN ({marks})", digests)
        return paths

    def placeholder_digests(self) -> dict[str, int]:
        """{sha256: URLs} of the placeholders found by repetition (shipped ones have none)."""
        return dict(self.db.execute(
            "SELECT sha256, COUNT(*) FROM urls WHERE outcome = 'placeholder' "
            "AND sha256 IS NOT NULL GROUP BY sha256 ORDER BY 2 DESC"))


# -- the run ----------------------------------------------------------------------------------


def sample_into_state(state: DownloadState, url_list: Path, sample: int, seed: int) -> None:
    """Sample once per data set folder; a re-run with other arguments is refused."""
    recipe = json.dumps({"list": str(url_list.resolve()), "sample": sample, "seed": seed})
    previous = state.meta("recipe")
    if previous is not None:
        if previous != recipe:
            raise GanpageError("this folder was sampled with other arguments "
                               f"({previous}); use a new --out folder")
        return
    if not url_list.is_file():
        raise GanpageError(f"no URL list at {url_list}")
    lines, total = reservoir_sample(url_list, sample, seed)
    entries = [parse_line(number, raw) for number, raw in lines]
    good = [e for e in entries if e is not None]
    state.add_sample(good, len(entries) - len(good), total)
    state.set_meta("recipe", recipe)


def exit_with_parent() -> None:
    """Pool worker initializer: end the worker when its parent dies, kill -9 included; a worker
    blocked on the task queue would otherwise wait forever as an orphan."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


async def download_all(out: Path, state: DownloadState, settings: DownloadSettings,
                       show_progress: bool = True) -> None:
    """Download every undecided URL of the state, recording one outcome each."""
    todo = state.pending()
    limit = asyncio.Semaphore(settings.concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout,
                                    sock_read=settings.read_timeout)
    connector = make_connector(settings)
    started = time.monotonic()
    with ProcessPoolExecutor(settings.workers, initializer=exit_with_parent) as pool, \
            progress_bar() as bar:
        task = bar.add_task("downloading", total=len(todo), unit="img", stats="",
                            visible=show_progress)
        ok = 0
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         headers={"User-Agent": USER_AGENT},
                                         trust_env=False) as client:

            async def one(line: int, url: str, wnid: str) -> None:
                nonlocal ok
                host = urlsplit(url).hostname or ""
                per_host = hosts.setdefault(host, asyncio.Semaphore(settings.per_host))
                async with limit, per_host:
                    outcome, attempts, path, digest = await _attempts(
                        client, pool, out, line, url, wnid, settings, state)
                state.decide(line, outcome, attempts, path, digest)
                ok += outcome == "ok"
                done = bar.tasks[task].completed + 1
                bar.update(task, advance=1, stats=f"{ok / done:.0%} ok, "
                           f"{done / max(time.monotonic() - started, 1e-9):.1f} img/s")

            await asyncio.gather(*(one(*row) for row in todo))


async def _attempts(client, pool, out: Path, line: int, url: str, wnid: str,
                    settings: DownloadSettings, state: DownloadState):
    outcome = "unknown"
    for attempt in range(1, settings.retries + 2):
        try:
            body = await asyncio.wait_for(fetch_one(client, url, settings),
                                          settings.total_timeout)
            png, digest = await asyncio.get_running_loop().run_in_executor(
                pool, process_body, body, settings)
            known = state.known_outcome_of(digest)
            if known is not None:
                return known, attempt, None, digest
            relative = f"{wnid or 'unlabelled'}/{line:09d}.png"
            atomic_write_bytes(out / relative, png, durable=False)
            return "ok", attempt, relative, digest
        except Refused as error:
            return error.outcome, attempt, None, None
        except (Retryable, TimeoutError) as error:
            outcome = getattr(error, "outcome", "timeout")
            if attempt <= settings.retries:
                await asyncio.sleep(settings.backoff * 2 ** (attempt - 1))
    return outcome, settings.retries + 1, None, None


def drop_repeated_placeholders(out: Path, state: DownloadState, min_repeats: int) -> None:
    """Reject the bytes that ``min_repeats`` or more URLs served (see ``placeholder_repeats``)
    and delete the one copy that was kept; report.json lists their sha256, which
    ``--placeholders`` takes to reject them from the first download next time."""
    if min_repeats <= 0:
        return
    for path in state.mark_repeated_as_placeholders(min_repeats):
        (out / path).unlink(missing_ok=True)  # a kill before this leaves an unlisted file only


def read_class_names(path: Path) -> dict[str, str]:
    """WordNet id -> display name from a TSV of '<wnid>\t<display name>' lines."""
    if not path.is_file():
        raise GanpageError(f"no class name list at {path}; give a TSV of '<wnid> <name>' lines")
    names = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        wnid, _, name = line.partition("\t")
        if name.strip():
            names[wnid.strip()] = name.strip()
    return names


def class_categories(classes: list[str], names: dict[str, str]) -> CategorySet:
    """The categories of these class ids, named by ``names``; two that would share a slug (one
    folder, one URL) are one line naming both and the fix."""
    shown = [names.get(w, w) for w in classes]
    first_of: dict[str, str] = {}
    for wnid, name in zip(classes, shown, strict=True):
        other = first_of.setdefault(slugify(name), wnid)
        if other != wnid:
            raise GanpageError(
                f"classes {other} ({names.get(other, other)!r}) and {wnid} ({name!r}) would "
                "become one category; give one of them another name with --names (the "
                "downloads are kept: re-run the same command)")
    return CategorySet.from_names(shown)


def write_dataset_files(out: Path, state: DownloadState, names: dict[str, str]) -> dict:
    """classes.json, manifest.jsonl and report.json from the ok rows of the state."""
    rows = state.db.execute("SELECT line, url, wnid, path, sha256 FROM urls "
                            "WHERE outcome = 'ok' ORDER BY line").fetchall()
    classes = sorted({r[2] or "unlabelled" for r in rows})
    categories = class_categories(classes, names)
    slug_of = {w: categories[i].slug for i, w in enumerate(classes)}
    manifest = [{"path": r[3], "class": slug_of[r[2] or "unlabelled"],
                 "class_name": names.get(r[2], r[2] or "unlabelled"), "source_path": r[1],
                 "line": r[0], "sha256": r[4], "wnid": r[2]} for r in rows]
    outcomes = state.outcomes()
    report = {
        "image_size": None, "classes": len(categories), "images": len(rows),
        "outcomes": dict(sorted(outcomes.items())),
        "bad_lines": int(state.meta("bad_lines") or 0),
        "total_lines": int(state.meta("total_lines") or 0),
        "images_per_class": dict(Counter(m["class_name"] for m in manifest)),
        "rejected_by_reason": {k: v for k, v in outcomes.items() if k != "ok"},
        "repeated_placeholders": state.placeholder_digests(),
    }
    atomic_write_text(out / CLASSES, json.dumps(categories.to_dicts(), indent=1) + "\n")
    atomic_write_text(out / MANIFEST, "".join(json.dumps(m) + "\n" for m in manifest))
    atomic_write_text(out / REPORT, json.dumps(report, indent=1) + "\n")
    return report


def imagenet_names() -> dict[str, str]:
    """WordNet id -> display name for the 1000 ImageNet-1k classes (other wnids keep their id)."""
    return {c.synonyms[0]: c.name for c in imagenet_categories()}


def download_url_list(url_list: Path, out: Path, sample: int, seed: int,
                      settings: DownloadSettings, names: dict[str, str] | None = None,
                      show_progress: bool = True) -> dict:
    """The whole command: sample (once), download what is undecided, write the data set."""
    if not url_list.is_file():
        raise GanpageError(f"no URL list at {url_list}")
    out.mkdir(parents=True, exist_ok=True)
    state = DownloadState(out / STATE_FILE)
    try:
        sample_into_state(state, url_list, sample, seed)
        asyncio.run(download_all(out, state, settings, show_progress))
        drop_repeated_placeholders(out, state, settings.placeholder_repeats)
        return write_dataset_files(out, state, imagenet_names() | (names or {}))
    finally:
        state.db.close()
