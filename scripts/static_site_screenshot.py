"""Remake docs/static-site.png: a static site of the built-in model, in headless Chromium.

Usage: python scripts/static_site_screenshot.py [--out docs/static-site.png] [--categories 24]
Builds a demo gallery (the demo's best categories, 3 pictures each, curated as `ganpage demo`
does), then `ganpage build-site` into ``<scratch>/public/mysite``, serves ``public/`` with
`python -m http.server` (so the site sits under a sub-path, as on GitHub Pages) and screenshots
``/mysite/`` once random.js has swapped in a random picture.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from browser_tools import CHROMIUM, CHROMIUM_ARGS, wait_until_up

from ganpage.defaults import DEFAULT_MODEL
from ganpage.demo import build_demo_gallery
from ganpage.static_site import SiteOptions, build_site

PORT = 8766


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/static-site.png"))
    parser.add_argument("--categories", type=int, default=24)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        gallery, public = Path(scratch) / "gallery", Path(scratch) / "public"
        build_demo_gallery(gallery, DEFAULT_MODEL, per_category=3, best=args.categories)
        build_site(gallery, public / "mysite",
                   SiteOptions(public_url="https://user.github.io/mysite"))
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(PORT), "--bind",
                                   "127.0.0.1", "--directory", str(public)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{PORT}/mysite/"
            wait_until_up(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 760})
                page.goto(url)
                page.wait_for_function(
                    "() => !document.documentElement.classList.contains('picking') && "
                    "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
                page.screenshot(path=str(args.out))
                print(f"{args.out}: {page.title()}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
