"""Remake docs/screenshot.png: the demo site on the built-in model, in headless Chromium.

Usage: python scripts/screenshot.py [--permalink ID] [--out docs/screenshot.png]
Builds a demo gallery (the demo's best categories, 2 pictures each, curated by `ganpage
curate`'s rules as `ganpage demo` does) in a temporary folder, serves what the rules approved
with `ganpage serve`, and screenshots `/` (a random page) or the given permalink.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from browser_tools import CHROMIUM, CHROMIUM_ARGS, wait_until_up

from ganpage.defaults import DEFAULT_MODEL, DEMO_CATEGORIES
from ganpage.demo import build_demo_gallery

PORT = 8765


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permalink", help="image id to show instead of a random page")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        gallery = Path(scratch) / "gallery"
        build_demo_gallery(gallery, DEFAULT_MODEL, per_category=2, best=DEMO_CATEGORIES)
        server = subprocess.Popen([sys.executable, "-m", "ganpage", "serve", str(gallery),
                                   "--port", str(PORT)],
                                  stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{PORT}"
        try:
            wait_until_up(base + "/api/categories")
            path = f"/p/{args.permalink}" if args.permalink else "/"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 900})
                page.goto(base + path)
                page.locator("article.picture img").wait_for()
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
