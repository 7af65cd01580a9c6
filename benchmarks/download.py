"""Images/s of download + validate + resize-to-128 (centre crop) for a few thousand URLs served
by a local nginx, ganpage vs img2dataset on the same list, in one run; peak memory of each.

Goal (issue 3): >= 1.5x img2dataset's images/s with an equal or better success count.
Needs: nginx, psutil, and img2dataset in its own virtual environment (its pins clash with
ours): python -m venv /tmp/i2d && /tmp/i2d/bin/pip install img2dataset
Usage: python benchmarks/download.py [--images 3000] [--img2dataset /tmp/i2d/bin/img2dataset]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from helpers.nginx import start_nginx  # noqa: E402


def make_pictures(folder: Path, count: int) -> None:
    """``count`` JPEGs of photo-like sizes (320..640 px wide), smooth noise so they compress."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(count):
        width, height = int(rng.integers(320, 641)), int(rng.integers(240, 481))
        small = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        (folder / f"{i:06d}.jpg").write_bytes(buffer.getvalue())


def measure(command: list[str]) -> dict:
    """Wall time and peak resident memory (whole process tree, sampled every 50 ms)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, stderr = process.communicate()
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {stderr.decode()[-2000:]}")
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak / 2**20}


def count_img2dataset_successes(folder: Path) -> int:
    return sum(json.loads(p.read_text())["successes"] for p in folder.glob("*_stats.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--img2dataset", default="/tmp/i2d/bin/img2dataset")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_pictures(root / "www", args.images)
        nginx, port = start_nginx(root, "000000.jpg")
        try:
            urls = [f"http://127.0.0.1:{port}/{i:06d}.jpg" for i in range(args.images)]
            (root / "urls.txt").write_text("\n".join(urls) + "\n")
            ganpage = measure([
                sys.executable, "-m", "ganpage", "data", "urls", str(root / "urls.txt"),
                "--sample", str(args.images), "--size", "128", "--resize", "crop",
                "--allow-private", "--concurrency", str(args.concurrency), "--per-host",
                str(args.concurrency), "--out", str(root / "ganpage")])
            ganpage["successes"] = json.loads(
                (root / "ganpage" / "report.json").read_text())["outcomes"].get("ok", 0)
            reference = measure([
                args.img2dataset, "--url_list", str(root / "urls.txt"), "--input_format", "txt",
                "--output_folder", str(root / "i2d"), "--output_format", "files",
                "--image_size", "128", "--resize_mode", "center_crop", "--processes_count", "2",
                "--thread_count", str(args.concurrency), "--disallowed_header_directives", "[]",
                "--timeout", "10", "--retries", "0", "--enable_wandb", "False"])
            reference["successes"] = count_img2dataset_successes(root / "i2d")
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    for name, result in (("ganpage", ganpage), ("img2dataset", reference)):
        rate = result["successes"] / result["seconds"]
        result["images_per_s"] = rate
        print(f"{name:12s} {result['successes']:6d} ok in {result['seconds']:6.1f} s = "
              f"{rate:7.1f} img/s, peak RSS {result['peak_rss_mb']:6.0f} MB")
    print(f"ratio ganpage/img2dataset: "
          f"{ganpage['images_per_s'] / reference['images_per_s']:.2f}x (goal >= 1.5x)")


if __name__ == "__main__":
    main()
