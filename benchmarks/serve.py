"""Requests/s and p99 latency of ganpage's random page `/` beside nginx serving a static page of
the same size, under wrk on loopback, in one run.

Goal (issue 2): `/` at >= 0.5x nginx's requests/s with p99 under 20 ms.
Needs: wrk and nginx (apt-get install wrk nginx). Usage: python benchmarks/serve.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from nginx import start_nginx  # noqa: E402

from conftest import free_port, make_tiny_model, wait_for_http  # noqa: E402
from ganpage.gallery import Gallery  # noqa: E402
from ganpage.generate import TruncationRange, choose_categories, generate, plan  # noqa: E402
from ganpage.models import load_generator  # noqa: E402


def build_gallery(root: Path) -> Path:
    classes = [f"Thing {i}" for i in range(60)]
    generator = load_generator(make_tiny_model(root / "model", classes=classes))
    jobs = plan(generator, choose_categories(generator), 50, TruncationRange(0.5, 0.9))
    with Gallery.open(root / "gallery", create=True) as gallery:
        generate(generator, gallery, jobs, batch_size=256, show_progress=False)
        gallery.set_status("approved")
    return root / "gallery"


def run_wrk(url: str, seconds: int, connections: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"requests_per_s": rate, "p99_ms": float(p99.group(1)) * scale,
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


def start(command: list[str], url: str) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_http(url, process)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install wrk nginx")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        gallery = build_gallery(root)
        ganpage_port, uvicorn_port = free_port(), free_port()
        ganpage = start([sys.executable, "-m", "ganpage", "serve", str(gallery), "--port",
                         str(ganpage_port)], f"http://127.0.0.1:{ganpage_port}/")
        uvicorn = start([sys.executable, "-m", "ganpage", "serve", str(gallery), "--port",
                         str(uvicorn_port), "--server", "uvicorn"],
                        f"http://127.0.0.1:{uvicorn_port}/")
        page = httpx.get(f"http://127.0.0.1:{ganpage_port}/").content
        (root / "www").mkdir()
        (root / "www" / "index.html").write_bytes(page)
        nginx, nginx_port = start_nginx(root, "")
        try:
            time.sleep(0.5)
            results = {
                "page_bytes": len(page),
                "nginx_static": run_wrk(f"http://127.0.0.1:{nginx_port}/", args.seconds,
                                        args.connections),
                "ganpage_random": run_wrk(f"http://127.0.0.1:{ganpage_port}/", args.seconds,
                                          args.connections),
                "ganpage_uvicorn": run_wrk(f"http://127.0.0.1:{uvicorn_port}/", args.seconds,
                                           args.connections),
            }
        finally:
            for process in (ganpage, uvicorn, nginx):
                process.terminate()
                process.wait(timeout=10)
    ratio = results["ganpage_random"]["requests_per_s"] / results["nginx_static"]["requests_per_s"]
    results["ratio"] = round(ratio, 3)
    for name in ("nginx_static", "ganpage_random", "ganpage_uvicorn"):
        r = results[name]
        print(f"{name:16s} {r['requests_per_s']:10.0f} req/s   p99 {r['p99_ms']:6.2f} ms   "
              f"non-2xx {r['non_2xx']}")
    uvicorn_ratio = (results["ganpage_uvicorn"]["requests_per_s"]
                     / results["nginx_static"]["requests_per_s"])
    print(f"ratio ganpage (Granian)/nginx: {ratio:.2f}x (goal >= 0.5x); the same app under "
          f"uvicorn: {uvicorn_ratio:.2f}x; page {len(page)} bytes, "
          f"wrk -t1 -c{args.connections} -d{args.seconds}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
