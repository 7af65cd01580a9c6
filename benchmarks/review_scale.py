"""How the review page's cost grows with the gallery: one `/review` view (and one
`/review/api/images` answer) at several gallery sizes, each figure's growth exponent beside it.

Issue 31, deliverable 2: a view at 1M pictures should cost about what it costs at 1k. The
peer of each figure is the same view of the run's smallest gallery.

The galleries: a copy of the index (only `gallery.sqlite`: the review's pages name picture
files but never read them) of `benchmarks/scale.py`'s gallery of each size (its `--work`
folder, never changed here), made once, with every picture given a varied review state by
SQLite's (unseeded) random(): a status
(60% pending, 25% approved, 15% rejected), flags (80% none, then "duplicate", "blank",
"blank"+"unsure"), a score `class_probability`, a nested score `quality.sharpness` and, on
half of the pictures, `memorisation`. Each view is asked in-process through Starlette's
TestClient, `--repeats` times after one warm-up; the median is reported (and the first time
of the first view and of the score range: what the view keeps of the whole gallery is read
then, as after another process's change); and `/review` right
after a decision made through the API (the counts of the whole gallery are read again).
Usage: python benchmarks/review_scale.py --sizes 1000 1000000 [--scale-work /tmp/scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ganpage.gallery import INDEX_FILE

TOKEN = "review-scale-token-0123456789-abcdefgh"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
VIEWS = {  # name -> the query of one view
    "review": "/review",
    "review_page_3": "/review?page=3",
    "pending_unflagged": "/review?status=pending&flag=none",
    "score_range": "/review?score=quality.sharpness&min=0.2&max=0.6&page=2",
    "api_flagged": "/review/api/images?flag=blank",
}
FIRST_TOO = ("review", "score_range")  # views whose first asking is reported too (counts read)
REVIEW_STATE = """
UPDATE images SET
  status = CASE WHEN abs(random()) % 100 < 60 THEN 'pending'
                WHEN abs(random()) % 100 < 62 THEN 'approved' ELSE 'rejected' END,
  scores = json_object('class_probability', abs(random()) % 1000 / 1000.0,
                       'quality', json_object('sharpness', abs(random()) % 1000 / 1000.0)),
  flags = CASE abs(random()) % 10 WHEN 0 THEN '["duplicate"]' WHEN 1 THEN '["blank"]'
                                  WHEN 2 THEN '["blank", "unsure"]' ELSE '[]' END;
UPDATE images SET decided_by = CASE status WHEN 'pending' THEN '' ELSE 'manual' END;
UPDATE images SET scores = json_set(scores, '$.memorisation', abs(random()) % 100 / 100.0)
  WHERE abs(random()) % 2 = 0;
"""


def review_gallery(scale_work: Path, work: Path, size: int) -> Path:
    """A copy of scale.py's gallery index of ``size`` pictures, in a varied review state."""
    root = work / f"review-{size}"
    if (root / INDEX_FILE).exists():
        return root
    source = scale_work / f"gallery-{size}" / INDEX_FILE
    if not source.exists():
        raise SystemExit(f"{source} is missing: run benchmarks/scale.py --sizes {size} "
                         f"--work {scale_work} --skip curate serve site first")
    root.mkdir(parents=True, exist_ok=True)
    partial = root / (INDEX_FILE + ".partial")
    with sqlite3.connect(source) as original, sqlite3.connect(partial) as copy:
        original.backup(copy)  # a consistent copy, whatever the WAL holds
        copy.executescript(REVIEW_STATE)
    copy.close()
    partial.rename(root / INDEX_FILE)
    return root


def time_views(gallery: Path, repeats: int, views: list[str]) -> dict[str, float]:
    """Median seconds of each view of ``VIEWS`` (after one warm-up), and the peak MB."""
    from fastapi.testclient import TestClient

    from ganpage.web.app import SiteConfig, create_app

    started = time.monotonic()
    app = create_app(gallery, SiteConfig(review_token=TOKEN, refresh_seconds=0))
    figures = {"app_start_s": time.monotonic() - started}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for name in views:
            query, seconds = VIEWS[name], []
            for _ in range(repeats + 1):
                asked = time.monotonic()
                answer = client.get(query, headers=BEARER)
                seconds.append(time.monotonic() - asked)
                if answer.status_code != 200:
                    raise SystemExit(f"{query}: {answer.status_code} {answer.text[:200]}")
            figures[name] = statistics.median(seconds[1:])
            if name in FIRST_TOO:
                figures[f"{name}_first"] = seconds[0]
        figures["review_after_decision"] = after_decision(client, repeats)
    app.close()
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def after_decision(client, repeats: int) -> float:
    """Median seconds of `/review` asked right after a decision (what the view holds of the
    whole gallery is read again then)."""
    csrf = client.get("/review/api/csrf", headers=BEARER).json()
    picture = client.get("/review/api/images", headers=BEARER).json()["images"][0]["id"]
    seconds = []
    for number in range(repeats + 1):
        status = ("rejected", "approved")[number % 2]
        client.post("/review/api/decide", json={"ids": [picture], "status": status},
                    headers={**BEARER, csrf["header"]: csrf["csrf"]}).raise_for_status()
        asked = time.monotonic()
        client.get("/review", headers=BEARER).raise_for_status()
        seconds.append(time.monotonic() - asked)
    return statistics.median(seconds[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--scale-work", type=Path, default=Path("/tmp/ganpage-scale"),
                        help="benchmarks/scale.py's --work folder (read only)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ganpage-review-scale"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--views", nargs="+", choices=list(VIEWS), default=list(VIEWS))
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child's gallery
    args = parser.parse_args()
    if args.one:
        print(json.dumps(time_views(args.one, args.repeats, args.views)))
        return
    from scale import print_growth_table  # benchmarks/scale.py, beside this file

    table = {}
    for size in sorted(args.sizes):
        gallery = review_gallery(args.scale_work, args.work, size)
        # each size in a process of its own: its peak memory is its own
        child = subprocess.run([sys.executable, __file__, "--one", str(gallery),
                                "--repeats", str(args.repeats), "--views", *args.views],
                               capture_output=True, text=True, check=True)
        table[size] = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{size:>9,} pictures (load {os.getloadavg()[0]:.2f}): "
              + ", ".join(f"{k} {v:,.3f}" for k, v in table[size].items()), flush=True)
    sizes = sorted(table)
    print_growth_table("view", sizes, table, list(table[sizes[0]]), digits=3)


if __name__ == "__main__":
    main()
