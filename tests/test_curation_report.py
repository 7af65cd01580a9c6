"""The curation report (curation/report.py): one self-contained page with per-category kept
and rejected grids, their scores and reasons, and a summary per reason; Chromium shows every
inlined picture without fetching anything."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ganpage.curation.pipeline import curate_gallery
from ganpage.curation.report import render_report, summary, write_report
from ganpage.curation.rules import Rules
from ganpage.curation.scoring import Scorers
from ganpage.gallery import Gallery
from helpers.browser import CHROMIUM
from helpers.curation import ColourClassifier, make_gallery, shapes


class Links(HTMLParser):
    """Every src and href of a page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.fixture
def curated(tmp_path):
    """Six pictures: two identical reds, a blank, two greens and a blue, curated once with
    top_k 1 (so one green is rejected for its place)."""
    twin = shapes(1, 0)
    make_gallery(tmp_path / "gallery", [
        ("Red", twin), ("Red", twin), ("Blue", twin * 0 + 255), ("Green", shapes(2, 1)),
        ("Green", shapes(3, 1)), ("Blue", shapes(4, 2))])
    with Gallery.open(tmp_path / "gallery") as gallery:
        run = curate_gallery(gallery, Scorers.build(ColourClassifier(), None), Rules(top_k=1),
                             show_progress=False)
    return tmp_path / "gallery", run


def test_the_report_is_self_contained_with_grids_scores_reasons_and_a_summary(curated):
    root, run = curated
    html = render_report(root, run, show_progress=False)
    parser = Links()
    parser.feed(html)
    assert parser.links and all(link.startswith("data:image/webp;base64,")
                                for link in parser.links)
    assert len(parser.links) == 6  # every picture, inlined
    for name in ("Red", "Green", "Blue"):
        assert re.search(rf'<h2 id="c-{name.lower()}">{name} ', html)
    assert html.count('<ul class="grid kept">') == 3
    assert html.count('<ul class="grid rejected">') == 3
    assert "rule:duplicate" in html and "rule:blank" in html and "rule:top-k" in html
    assert "class_probability" in html and '<div class="flags">duplicate</div>' in html
    assert summary(run.records) == [("rule:passed", 3, 0), ("rule:blank", 0, 1),
                                    ("rule:duplicate", 0, 1), ("rule:top-k", 0, 1)]
    assert "<td>rule:passed</td><td>3</td><td>0</td>" in html


def test_a_dry_run_report_says_so(curated, tmp_path):
    root, run = curated
    write_report(tmp_path / "report.html", root, run, dry_run=True, show_progress=False)
    assert "A dry run" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium")
def test_chromium_shows_every_inlined_picture_and_fetches_nothing(curated, tmp_path):
    from playwright.sync_api import sync_playwright

    root, run = curated
    report = tmp_path / "report.html"
    write_report(report, root, run, show_progress=False)
    fetched: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(report.as_uri())
        widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
        browser.close()
    assert widths == [64] * 6
    assert [url for url in fetched if not url.startswith(("data:", "file:"))] == []
