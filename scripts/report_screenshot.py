"""Remake docs/curate-report.png: the curation report of a small emoji64 gallery, in headless
Chromium.

Usage: python scripts/report_screenshot.py [--out docs/curate-report.png]
Generates 6 pictures of each of 8 categories into a temporary folder, runs
`ganpage curate GALLERY --top-k 3 --min-category-median 0.2 --report report.html` on it, and
screenshots the page's top.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ["sushi", "taxi", "pretzel", "sunflower", "watermelon", "anchor", "goat", "house"]


def ganpage(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ganpage", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/curate-report.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        gallery, report = Path(scratch) / "gallery", Path(scratch) / "report.html"
        chosen = [arg for slug in CATEGORIES for arg in ("-c", slug)]
        ganpage("generate", str(gallery), *chosen, "--per-category", "6")
        ganpage("curate", str(gallery), "--top-k", "3", "--min-category-median", "0.2",
                "--report", str(report))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1000, "height": 1250})
            page.goto(report.as_uri())
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
