"""One real browser: headless Chromium (Debian's) driven by Playwright loads the site."""

import os
import re
from pathlib import Path

import pytest

from helpers.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium

pytestmark = needs_chromium


@pytest.mark.slow
def test_home_page_in_chromium(live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.goto(live_server + "/")
            assert re.fullmatch(r"(This .+ Does|These .+ Do) Not Exist", page.title())
            image = page.locator("article.picture img")
            image.wait_for()
            assert image.evaluate("img => img.complete && img.naturalWidth") == 32
            first_url = image.get_attribute("src")
            seen = {first_url}
            for _ in range(8):
                page.reload()
                seen.add(page.locator("article.picture img").get_attribute("src"))
            assert len(seen) > 1  # a refresh shows another picture
            shot = Path(os.environ.get("GANPAGE_SCREENSHOT", tmp_path / "home.png"))
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
