"""Requests/s and p99 latency of ganpage's random page `/` beside nginx serving a static page of
the same size, under wrk on loopback, in one run, with all of the site's hygiene on.

Goal (issues 2 and 20): `/` at >= 0.5x nginx's requests/s, with security headers, metrics and
(second figure) the JSON access log on. One machine's load drifts within seconds, so the servers
are measured in short interleaved rounds, each ratio taken within a round, and the median of the
per-round ratios is the figure. wrk runs one thread; with two or more CPUs wrk is pinned to one
and every server to another (taskset), so they do not fight over a core as the load changes.
Needs: wrk and nginx (apt-get install wrk nginx).
Usage: python benchmarks/serve.py [--rounds 7] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.gallery import Gallery  # noqa: E402
from ganpage.generate import TruncationRange, choose_categories, generate, plan  # noqa: E402
from ganpage.models import load_generator  # noqa: E402
from helpers.models import make_tiny_model  # noqa: E402
from helpers.nginx import start_nginx  # noqa: E402
from helpers.servers import free_port, wait_for_http  # noqa: E402

HYGIENE = ("content-security-policy", "x-content-type-options", "referrer-policy")


def build_gallery(root: Path) -> Path:
    classes = [f"Thing {i}" for i in range(60)]
    generator = load_generator(make_tiny_model(root / "model", classes=classes))
    jobs = plan(generator, choose_categories(generator), 50, TruncationRange(0.5, 0.9))
    with Gallery.open(root / "gallery", create=True) as gallery:
        generate(generator, gallery, jobs, batch_size=256, show_progress=False)
        gallery.set_status("approved")
    return root / "gallery"


def cpu_pins() -> tuple[list[str], list[str]]:
    """taskset prefixes for (wrk, the servers): one CPU each where there are two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return [], []
    return ["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])]


def run_wrk(url: str, seconds: int, connections: int, pin: list[str]) -> dict:
    output = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {"requests_per_s": rate, "p99_ms": float(p99.group(1)) * scale,
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def start(command: list[str], url: str) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_http(url, process)
    return process


def start_servers(root: Path, gallery: Path, pin: list[str], uvicorn: bool) -> dict:
    """name -> (process, url): nginx's static copy of a ganpage page, and ganpage itself."""
    servers = {}
    variants = {"ganpage": [], "ganpage_access_log": ["--access-log", str(root / "access.jsonl")]}
    if uvicorn:
        variants["ganpage_uvicorn"] = ["--server", "uvicorn"]
    for name, extra in variants.items():
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        servers[name] = (start([*pin, sys.executable, "-m", "ganpage", "serve", str(gallery),
                                "--port", str(port), *extra], url), url)
    answer = httpx.get(servers["ganpage"][1])
    missing = [header for header in HYGIENE if header not in answer.headers]
    if missing:
        sys.exit(f"ganpage's / lacks {', '.join(missing)}: not the page this benchmark is for")
    (root / "www").mkdir()
    (root / "www" / "index.html").write_bytes(answer.content)
    nginx, nginx_port = start_nginx(root, "")
    if pin:  # nginx's master and its worker (forked already) on the servers' CPU too
        for pid in (nginx.pid, *_children(nginx.pid)):
            os.sched_setaffinity(pid, {int(pin[-1])})
    servers["nginx_static"] = (nginx, f"http://127.0.0.1:{nginx_port}/")
    return servers


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in found.split()]


def measure(servers: dict, args: argparse.Namespace, pin: list[str]) -> list[dict]:
    """``args.rounds`` rounds; in each, every ganpage variant right beside an nginx run (which
    goes first alternates round to round), so each ratio compares two adjacent moments."""
    peer = servers["nginx_static"][1]
    rounds = []
    for index in range(args.rounds):
        measured = {}
        for name, (_, url) in servers.items():
            if name == "nginx_static":
                continue
            pair = [(name, url), ("nginx_static", peer)][::1 if index % 2 else -1]
            results = {who: run_wrk(where, args.seconds, args.connections, pin)
                       for who, where in pair}
            measured[name] = {**results[name],
                              "nginx_requests_per_s": results["nginx_static"]["requests_per_s"],
                              "nginx_p99_ms": results["nginx_static"]["p99_ms"],
                              "ratio": results[name]["requests_per_s"]
                              / results["nginx_static"]["requests_per_s"]}
        rounds.append(measured)
        print(f"round {index + 1}: " + "  ".join(f"{n} {r['ratio']:.2f}x"
                                                 for n, r in measured.items()), flush=True)
    return rounds


def summarise(rounds: list[dict]) -> dict:
    """Per ganpage variant: medians over the rounds of requests/s, p99 and the ratio."""
    summary = {}
    for name in rounds[0]:
        rows = [r[name] for r in rounds]
        ratios = [row["ratio"] for row in rows]
        summary[name] = {
            "requests_per_s": statistics.median(row["requests_per_s"] for row in rows),
            "p99_ms": statistics.median(row["p99_ms"] for row in rows),
            "nginx_requests_per_s": statistics.median(row["nginx_requests_per_s"] for row in rows),
            "nginx_p99_ms": statistics.median(row["nginx_p99_ms"] for row in rows),
            "non_2xx": sum(row["non_2xx"] for row in rows),
            "socket_errors": sum(row["socket_errors"] for row in rows),
            "ratio": statistics.median(ratios), "ratio_range": [min(ratios), max(ratios)],
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=5, help="of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--uvicorn", action="store_true", help="also the app under uvicorn")
    parser.add_argument("--no-pin", action="store_true", help="leave CPUs to the scheduler")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install wrk nginx")
    wrk_pin, server_pin = ([], []) if args.no_pin else cpu_pins()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        servers = start_servers(root, build_gallery(root), server_pin, args.uvicorn)
        try:
            time.sleep(0.5)
            rounds = measure(servers, args, wrk_pin)
            page_bytes = len(httpx.get(servers["ganpage"][1]).content)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=10)
    summary = summarise(rounds)
    for name, row in summary.items():
        print(f"{name:20s} {row['requests_per_s']:9.0f} req/s   p99 {row['p99_ms']:6.2f} ms   "
              f"non-2xx {row['non_2xx']}  socket errors {row['socket_errors']}   "
              f"{row['ratio']:.2f}x nginx ({row['ratio_range'][0]:.2f}-"
              f"{row['ratio_range'][1]:.2f}; nginx {row['nginx_requests_per_s']:.0f} req/s, "
              f"p99 {row['nginx_p99_ms']:.2f} ms)")
    print(f"median of {args.rounds} per-round ratios, ganpage (Granian, hygiene and metrics on) "
          f"/ nginx: {summary['ganpage']['ratio']:.2f}x, with the access log "
          f"{summary['ganpage_access_log']['ratio']:.2f}x (goal >= 0.5x); page {page_bytes} "
          f"bytes, wrk -t1 -c{args.connections} -d{args.seconds}s, "
          f"{'CPUs pinned' if wrk_pin else 'CPUs not pinned'}, load {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"page_bytes": page_bytes, "rounds": rounds,
                                         "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
