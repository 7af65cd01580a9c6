"""How ganpage's costs grow with the gallery: curate (first run, a re-run with nothing new, a
run after 10 new pictures), serve (start-up, memory, `/` requests/s) and build-site (full,
then after 10 new pictures), at several gallery sizes in one run, each figure's growth
exponent beside it.

Issue 31's goals, at 1M pictures on the 2-core machine: curate re-run < 30 s, a first run's
duplicate step < 5 min, serve start < 5 s and < 400 MB per worker, `/` at >= 0.8x its
requests/s at 1k, build-site after 10 new pictures < 10 s. The peer of each figure is the same
operation on the smallest gallery of the run: a cost that does not grow has exponent ~0.

How the galleries are made: `ganpage generate` draws a base of real emoji64 pictures (the
`--base` size, 8 seeds per category); a bigger gallery holds each base picture several times
under distinct recipes (seed + k * 1,000,000, so distinct ids), its file rolled by k pixels
to the right so that copies are near duplicates, as a GAN's seeds of one class often are, not
byte-identical files. From `--linked-from` pictures up (default 100,000) the copies are index
rows written in bulk whose files are hard links to the base picture's (byte-identical: fine
for serve), each with its base picture's scores (the base is curated once), so curate there
scores nothing: its first run is the read of every row and the decisions, not the scoring.
Everything is approved by hand, as a curated site's gallery is.

The server's figures (`--workers`, default 2): start-up to a ready /readyz, the largest resident
set among its processes, `/` requests/s and p99 under wrk (the servers of every size running at
once, measured in `--rounds` interleaved rounds, each size's rate also as a ratio to the
smallest's in the same round, the median of those), and one decision under load: a picture
rejected (as `ganpage gallery approve --reject` does) while wrk asks for `/`, the seconds to the
first of 20 answers in a row of /api/categories that count it out (every worker has it), and
wrk's p99 during that run.
build-site: a full build, then a rebuild after 10 new approved pictures (each timed as a whole
command). From `--site-seeded-from` pictures up (default 1,000,000) the full build (about an
hour at 1M here) is left out: its manifest is made directly (`seed_site`), and the rebuild is
timed against it.
Needs: wrk (apt-get install wrk).
Usage: python benchmarks/scale.py --sizes 1000 100000 1000000 [--work /tmp/scale]
       [--skip curate site]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO

import httpx
import numpy as np
from PIL import Image

from ganpage.gallery import GALLERY_RELATIVE_SCORES, INDEX_FILE, Gallery, image_id

GANPAGE = [sys.executable, "-m", "ganpage"]
SEED_STRIDE = 1_000_000
OPERATIONS = ("curate_first", "curate_first_mb", "curate_rerun", "curate_rerun_mb",
              "curate_after_10", "curate_after_10_mb",
              "serve_start", "serve_rss_mb", "page_requests_per_s", "page_p99_ms",
              "page_rate_vs_smallest", "decision_visible_s", "decision_p99_ms",
              "build_site_full", "build_site_after_10")
LINK_BATCH = 20_000  # rows inserted per transaction when copies are hard links


def run(command: list[str], quiet: bool = True, stdout: IO | None = None) -> tuple[float, float]:
    """(seconds, peak resident MB) of one command, from the kernel's accounting of the child
    (its output to ``stdout`` if given)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=stdout or (subprocess.DEVNULL if quiet else None),
                               stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def make_base(work: Path, size: int) -> Path:
    """A gallery of ``size`` emoji64 pictures drawn by `ganpage generate` (8 per category)."""
    base = work / f"base-{size}"
    if not (base / INDEX_FILE).exists():
        run([*GANPAGE, "generate", str(base), "--model", "emoji64", "--best-categories",
             str(math.ceil(size / 8)), "--per-category", "8", "--truncation", "0.65"])
    with Gallery.open(base) as gallery:
        scored = gallery.db.execute("SELECT COUNT(*) FROM images WHERE scores LIKE '%dhash%'"
                                    ).fetchone()[0]
    if not scored:  # the scores linked copies carry
        run([*GANPAGE, "curate", str(base)])
    return base


def rolled(data: bytes, pixels: int) -> bytes:
    """The picture's file with its pixels rolled ``pixels`` to the right, same format."""
    picture = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    Image.fromarray(np.roll(np.asarray(picture), pixels, axis=1)).save(out, picture.format,
                                                                       lossless=True)
    return out.getvalue()


def make_gallery(work: Path, base: Path, size: int, linked: bool) -> Path:
    """``size`` approved pictures: the base's, then copies under new recipes (see above)."""
    root = work / f"gallery-{size}"
    if (root / INDEX_FILE).exists():
        Gallery.open(root).close()  # brought to this ganpage's schema before anything is timed
        return root
    if linked:
        return make_linked_gallery(root, base, size)
    with Gallery.open(base) as source, Gallery.open(root, create=True) as gallery:
        records = [r for batch in source.record_batches(2000) for r in batch]
        copy_models(source, gallery)
        files = {r.id: source.path_of(r).read_bytes() for r in records}
        for start in range(0, size, 2000):
            batch = []
            for index in range(start, min(size, start + 2000)):
                copy, original = divmod(index, len(records))
                record = records[original]
                seed = record.seed + copy * SEED_STRIDE
                data = files[record.id] if copy == 0 else rolled(files[record.id], copy)
                batch.append((replace(record, id=image_id(record.model_id, record.label, seed,
                                                          record.truncation),
                                      seed=seed, status="pending", scores={}, flags=[]), data))
            gallery.add(batch)
        gallery.set_status("approved")
    return root


def copy_models(source: Gallery, gallery: Gallery) -> None:
    """The source gallery's model rows (card, size, categories) into ``gallery``."""
    for model_id, card in source.model_cards().items():
        row = source.db.execute("SELECT image_size, categories FROM models WHERE id = ?",
                                (model_id,)).fetchone()
        gallery.record_model(model_id, card, row[0], json.loads(row[1]))


def make_linked_gallery(root: Path, base: Path, size: int) -> Path:
    """``size`` approved rows in bulk: the base's pictures under new recipes, their files hard
    links to the base's (one transaction per ``LINK_BATCH`` rows, no fsync per file)."""
    with Gallery.open(base) as source, Gallery.open(root, create=True) as gallery:
        records = [r for batch in source.record_batches(2000) for r in batch]
        copy_models(source, gallery)
        for slug in {r.category for r in records}:
            (root / slug).mkdir(exist_ok=True)
        for start in range(0, size, LINK_BATCH):
            rows = []
            for index in range(start, min(size, start + LINK_BATCH)):
                copy, original = divmod(index, len(records))
                record = records[original]
                seed = record.seed + copy * SEED_STRIDE
                new = replace(record, id=image_id(record.model_id, record.label, seed,
                                                  record.truncation), seed=seed,
                              status="approved", decided_by="manual", flags=[],
                              scores={k: v for k, v in record.scores.items()
                                      if k not in GALLERY_RELATIVE_SCORES})
                os.link(source.path_of(record), gallery.path_of(new))
                rows.append(new.to_row())
            columns = list(rows[0])
            with gallery.transaction() as db:
                db.executemany(f"INSERT INTO images ({', '.join(columns)}) VALUES "
                               f"({', '.join(':' + c for c in columns)})", rows)
    return root


def serve_figures(gallery: Path, seconds: int, workers: int) -> dict:
    """Start-up to a ready /readyz, resident MB of the server's processes, and one decision
    under load (see the module's docstring)."""
    server, base, start = start_server(gallery, workers)
    try:
        rss = resident_mb(server.pid)
        wrk(base, 1)  # warm-up: each worker's first pages
        visible, decision_p99 = decision_figures(gallery, base, seconds)
    finally:
        server.terminate()
        server.wait(60)
    return {"serve_start": start, "serve_rss_mb": rss, "decision_visible_s": visible,
            "decision_p99_ms": decision_p99}


def start_server(gallery: Path, workers: int) -> tuple[subprocess.Popen, str, float]:
    """`ganpage serve` started: (its process, its URL, seconds to a ready /readyz)."""
    from helpers.servers import free_port  # tests/helpers/servers.py

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    server = subprocess.Popen([*GANPAGE, "serve", str(gallery), "--port", str(port),
                               "--workers", str(workers), "--metrics-port", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, base, wait_ready(f"{base}/readyz", server, started)


def page_rounds(galleries: dict[int, Path], rounds: int, seconds: int,
                workers: int) -> dict[int, dict]:
    """`/` of every size's server, all running at once, in interleaved rounds (the order
    reversed every other round): the machine's load drifts within seconds, so each size is
    compared with the smallest within a round. Per size: the medians of requests/s, p99 and
    that ratio."""
    servers = {size: start_server(path, workers)[:2] for size, path in galleries.items()}
    try:
        for _, base in servers.values():
            wrk(base, 1)  # warm-up: each worker's first pages
        measured = []
        for index in range(rounds):
            order = sorted(servers, reverse=bool(index % 2))
            measured.append({size: wrk(servers[size][1], seconds) for size in order})
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(60)
    smallest = min(galleries)
    return {size: {"page_requests_per_s": statistics.median(r[size][0] for r in measured),
                   "page_p99_ms": statistics.median(r[size][1] for r in measured),
                   "page_rate_vs_smallest": statistics.median(r[size][0] / r[smallest][0]
                                                              for r in measured)}
            for size in galleries}


def wrk(base: str, seconds: float) -> tuple[float, float]:
    """(requests/s, p99 ms) of `/` under wrk, one thread, 32 connections."""
    output = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", base + "/"],
                            capture_output=True, text=True, check=True).stdout
    return wrk_figures(output)


def wrk_figures(output: str) -> tuple[float, float]:
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if failed:
        raise SystemExit(f"{failed.group(1)} answers of `/` were not 200: not the page measured")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    return rate, float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]


def decision_figures(gallery: Path, base: str, seconds: int,
                     timeout: float = 120) -> tuple[float, float]:
    """(seconds until every worker counts a rejected picture out, wrk's p99 ms meanwhile):
    wrk asks for `/` while one picture is rejected, then /api/categories is asked until 20
    answers in a row have its category one picture smaller; the picture is approved again."""
    with Gallery.open(gallery) as index:
        picture, slug = index.db.execute("SELECT id, category FROM images WHERE status = "
                                         "'approved' ORDER BY rowid LIMIT 1").fetchone()
    before = category_count(base, slug)
    load = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{max(seconds, 8)}s", "--latency",
                             base + "/"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    with Gallery.open(gallery) as index:
        index.set_status("rejected", [picture])
    decided = time.monotonic()
    in_a_row, streak_began = 0, decided
    while in_a_row < 20 and time.monotonic() - decided < timeout:
        asked = time.monotonic()
        if category_count(base, slug) == before - 1:
            in_a_row, streak_began = in_a_row + 1, streak_began if in_a_row else asked
        else:
            in_a_row = 0
    # from the decision to the first of 20 answers in a row that count it
    visible = streak_began - decided if in_a_row >= 20 else float("inf")
    _, p99 = wrk_figures(load.communicate()[0])
    with Gallery.open(gallery) as index:
        index.set_status("approved", [picture])
    return visible, p99


def category_count(base: str, slug: str) -> int:
    answer = httpx.get(base + "/api/categories", timeout=30).json()
    return next(c["count"] for c in answer if c["slug"] == slug)


def wait_ready(url: str, server: subprocess.Popen, started: float, timeout: float = 600) -> float:
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"ganpage serve exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} not ready in {timeout} s")


def resident_mb(pid: int) -> float:
    """The largest resident set among the server process and its children (the workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                              text=True).stdout.split()
    sizes = []
    for each in (pid, *map(int, children)):
        status = Path(f"/proc/{each}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return max(sizes)


def build_site_figures(work: Path, gallery: Path, base: Path, size: int,
                       seeded: bool) -> dict:
    """A full build, then a rebuild after 10 new pictures; with ``seeded`` the full build is
    left out and its manifest made instead (``seed_site``)."""
    site = work / f"site-{size}"
    shutil.rmtree(site, ignore_errors=True)
    figures = {}
    if seeded:
        seed_site(gallery, site)
    else:
        figures["build_site_full"], _ = run([*GANPAGE, "build-site", str(gallery), str(site)])
    add_new_pictures(gallery, base, 10)
    log = site.with_name(site.name + ".log")
    with open(log, "w") as stdout:  # its "site: ..." line says whether it was incremental
        figures["build_site_after_10"], _ = run(
            [*GANPAGE, "build-site", str(gallery), str(site)], stdout=stdout)
    print("   ", log.read_text().splitlines()[0])
    return figures


def seed_site(gallery: Path, site: Path) -> None:
    """The manifest a full build of ``gallery`` leaves in ``site``, without its files: every
    path a full build makes (placeholder hashes and sizes, so each file a rebuild makes counts
    as changed), the build's key and the gallery's change sequence. A full build of 1M pictures
    takes about an hour on the shared 2-core machine; a rebuild reads the manifest's rows and the
    index, and writes only the files the changes touch, whichever files are on disk."""
    from ganpage.site_writer import SiteWriter
    from ganpage.static_pages import SiteSummary, StaticPages
    from ganpage.static_site import SiteOptions, image_path, site_key
    from ganpage.web.config import SiteConfig
    from ganpage.web.snapshot import Snapshot

    options = SiteOptions()
    pages = StaticPages(SiteConfig(site_name=options.site_name, statuses=options.statuses))
    with Gallery.open(gallery) as opened, SiteWriter(site) as writer:
        seq = opened.last_change()
        snapshot = Snapshot.load(opened, options.statuses)
        paths = [image_path(record) for record in snapshot.by_id.values()]
        paths += pages.static_files() | pages.picture_files(snapshot.by_id.values())
        for view in snapshot.category_list:
            paths += pages.category_files(view)
        paths += pages.site_files(SiteSummary(
            snapshot.category_list, min(snapshot.by_id.values(), key=lambda r: r.id),
            snapshot.model_cards, lambda: snapshot.by_id.keys()))
        writer.claim(paths)
        with writer.db:  # as finish() records a build
            writer.db.execute("UPDATE files SET sha256 = 'seeded', size = 4096, mtime_ns = 0")
            writer.db.execute("UPDATE build SET state = 'finished', key = ?, seq = ?",
                              (site_key(gallery, options, None), seq))


def add_new_pictures(gallery: Path, base: Path, count: int, approve: bool = True) -> None:
    """``count`` pictures (approved, or pending) under seeds no other picture of the gallery
    has."""
    with Gallery.open(base) as source, Gallery.open(gallery) as target:
        records = next(source.record_batches(count))
        taken = target.db.execute("SELECT MAX(seed) FROM images").fetchone()[0] + 1
        batch = []
        for offset, record in enumerate(records):
            seed = taken + offset
            new = replace(record, seed=seed, status="pending", scores={}, flags=[],
                          id=image_id(record.model_id, record.label, seed, record.truncation))
            batch.append((new, source.path_of(record).read_bytes()))
        target.add(batch)
        if approve:
            target.set_status("approved", [new.id for new, _ in batch])


def print_growth_table(title: str, sizes: list[int], table: dict[int, dict[str, float]],
                       names, digits: int) -> None:
    """A Markdown table: a row per figure measured at every size, its growth exponent beside
    it, then the load average."""
    print(f"\n| {title} | {' | '.join(f'{s:,}' for s in sizes)} | growth exponent |")
    print(f"|---|{'---|' * len(sizes)}---|")
    for name in names:
        values = [table[s].get(name) for s in sizes]
        if None in values:
            continue
        slope = exponent(sizes, values)
        print(f"| {name} | {' | '.join(f'{v:,.{digits}f}' for v in values)} | "
              f"{'-' if slope is None else f'{slope:.2f}'} |")
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs")


def exponent(sizes: list[int], values: list[float]) -> float | None:
    """The slope of log(value) against log(size): 0 flat, 1 linear, 2 quadratic."""
    points = [(math.log(s), math.log(v)) for s, v in zip(sizes, values, strict=True)
              if 0 < v < math.inf]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--base", type=int, default=800, help="distinct generated pictures")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ganpage-scale"))
    parser.add_argument("--seconds", type=int, default=3, help="of the wrk run")
    parser.add_argument("--workers", type=int, default=2, help="of the server")
    parser.add_argument("--rounds", type=int, default=5, help="of `/` at every size")
    parser.add_argument("--linked-from", type=int, default=100_000,
                        help="from this size up, copies are index rows with hard-linked files")
    parser.add_argument("--site-seeded-from", type=int, default=1_000_000,
                        help="from this size up, build-site's full build is left out and its "
                        "manifest made instead (seed_site)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["curate", "serve", "site"])
    args = parser.parse_args()
    if shutil.which("wrk") is None and "serve" not in args.skip:
        sys.exit("wrk is missing: apt-get install wrk, or --skip serve")
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    args.work.mkdir(parents=True, exist_ok=True)
    base = make_base(args.work, args.base)
    table: dict[int, dict] = {}
    galleries = {}
    for size in sorted(args.sizes):
        gallery = galleries[size] = make_gallery(args.work, base, size,
                                                 linked=size >= args.linked_from)
        figures: dict[str, float] = {}
        if "curate" not in args.skip:
            figures["curate_first"], figures["curate_first_mb"] = run(
                [*GANPAGE, "curate", str(gallery)])
            figures["curate_rerun"], figures["curate_rerun_mb"] = run(
                [*GANPAGE, "curate", str(gallery)])
            add_new_pictures(gallery, base, 10, approve=False)
            figures["curate_after_10"], figures["curate_after_10_mb"] = run(
                [*GANPAGE, "curate", str(gallery)])
        if "serve" not in args.skip:
            figures |= serve_figures(gallery, args.seconds, args.workers)
        if "site" not in args.skip:
            figures |= build_site_figures(args.work, gallery, base, size,
                                          seeded=size >= args.site_seeded_from)
        table[size] = figures
        print(f"{size:>9,} pictures (load {os.getloadavg()[0]:.2f}): "
              + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()),
              flush=True)
    if "serve" not in args.skip:
        for size, figures in page_rounds(galleries, args.rounds, args.seconds,
                                         args.workers).items():
            table[size] |= figures
            print(f"{size:>9,} pictures, `/` in {args.rounds} interleaved rounds: "
                  + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()), flush=True)
    sizes = sorted(table)
    print_growth_table("operation", sizes, table, OPERATIONS, digits=2)


if __name__ == "__main__":
    main()
