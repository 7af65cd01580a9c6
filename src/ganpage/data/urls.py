"""``ganpage data urls``: sample a URL list, download, validate and resize, resumably.

reader (``sampling.py``) -> downloader (``fetch.py``, guarded by ``address_guard.py``, retried)
-> resizer (the shared safe decoder, in a process pool whose workers may each grow by
``DECODE_MEMORY_BYTES`` at most) -> writer (files + one row per URL in
the outcome store, ``outcomes.py``). Every
URL ends in exactly one outcome in ``DATA/urls.sqlite``; a re-run skips decided URLs, so a killed
run resumes where it stopped and nothing is downloaded twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from ganpage.atomic import atomic_write_bytes, atomic_write_text
from ganpage.categories import CategorySet, imagenet_categories, slugify
from ganpage.data.dataset import CLASSES, MANIFEST, REPORT
from ganpage.data.fetch import (
    USER_AGENT,
    DownloadSettings,
    Refused,
    Retryable,
    fetch_one,
    load_placeholder_hashes,
    make_connector,
    process_body,
)
from ganpage.data.outcomes import STATE_FILE, DownloadState
from ganpage.data.sampling import parse_line, reservoir_sample
from ganpage.errors import GanpageError
from ganpage.progress import progress_bar

__all__ = ["DownloadSettings", "download_url_list", "load_placeholder_hashes",
           "read_class_names"]

# What one decode worker's memory may grow by: a picture within decode.py's scaled pixel cap
# takes up to about 300 MB (RGBA and its copies); a decoder that takes more despite the checks
# fails with MemoryError in its worker (the URL's outcome: too_many_pixels), not the machine.
DECODE_MEMORY_BYTES = 1 << 30


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


def start_decode_worker() -> None:
    """Pool worker initializer: ``exit_with_parent`` and ``limit_memory``."""
    exit_with_parent()
    limit_memory(DECODE_MEMORY_BYTES)


def limit_memory(extra: int) -> None:
    """Let this process's address space grow by ``extra`` bytes from now on, no more
    (RLIMIT_AS; Linux): an allocation past it raises MemoryError here."""
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def exit_with_parent() -> None:
    """End this pool worker when its parent dies, kill -9 included; a worker blocked on the
    task queue would otherwise wait forever as an orphan."""
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
    with ProcessPoolExecutor(settings.workers, initializer=start_decode_worker) as pool, \
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
