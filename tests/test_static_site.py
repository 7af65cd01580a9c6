"""ganpage build-site: the static site's files, its relative links, strict-CSP pages, incremental
rebuilds, and headless Chromium against `python -m http.server` with the site under a sub-path."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from ganpage.cli import app
from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord, image_id
from ganpage.site_hosts import HostLimits
from ganpage.site_writer import SiteWriter
from ganpage.static_pages import StaticPages
from ganpage.static_site import SiteOptions, build_site
from helpers.browser import CHROMIUM, CHROMIUM_ARGS
from helpers.models import make_tiny_model
from helpers.nginx import NGINX, running_nginx
from helpers.servers import free_port, wait_for_http

PUBLIC = "https://user.github.io/mysite"


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    """A copy of the tiny gallery (3 categories x 4 approved pictures) that a test may curate."""
    return Path(shutil.copytree(tiny_gallery, tmp_path / "gallery"))


def build(gallery: Path, out: Path, **options):
    return build_site(gallery, out, SiteOptions(**options), show_progress=False)


def reject_a_hamster(gallery) -> ImageRecord:
    """Reject an approved hamster that is not the home page's picture; returns it."""
    with Gallery.open(gallery) as opened:
        records = opened.records(["approved"], category="hamster")
        shown_on_index = min(r.id for r in opened.records(["approved"]))
        rejected = next(r for r in records if r.id != shown_on_index)
        opened.set_status("rejected", [rejected.id])
    return rejected


def file_times(site) -> dict:
    """Every file of the site -> its modification time (ns)."""
    return {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}


class Tags(HTMLParser):
    """Every start tag of a page as (tag, attributes), and the text of its script elements."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_endtag(self, tag):
        self._in = ""

    def handle_data(self, data):
        if self._in == "script":
            self.script_text += data.strip()

    def urls(self) -> list[str]:
        return [attrs[name] for tag, attrs in self.tags for name in ("href", "src")
                if attrs.get(name) and not (tag == "link" and attrs.get("rel") == "canonical")]


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_the_site_has_every_page_of_serve_and_the_pictures_checked(gallery, tmp_path):
    site = tmp_path / "site"
    report = build(gallery, site)
    with Gallery.open(gallery) as opened:
        records = opened.records(["approved"])
    assert (report.pictures, report.categories, report.skipped) == (12, 3, [])
    for record in records:
        assert (site / "p" / f"{record.id}.html").is_file()
        copy = site / "images" / record.relative_path
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == record.sha256
    slugs = {record.category for record in records}
    assert {p.stem for p in (site / "c").iterdir()} == slugs
    for name in ("index.html", "categories.html", "about.html", "404.html", "robots.txt",
                 "pictures.json", "_headers", ".nojekyll", "static/site.css", "static/random.js",
                 "static/favicon.svg"):
        assert (site / name).is_file(), name
    assert not (site / "sitemap.xml").exists()  # needs absolute URLs: --public-url
    assert "public-url" in report.notes[0]
    manifest = json.loads((site / "pictures.json").read_text())
    assert manifest["page"] == "p/{id}.html"
    assert sorted(i for c in manifest["categories"]
                  for i in json.loads((site / c["pictures"]).read_text())) == sorted(
        r.id for r in records)
    assert "Hamster" in (site / "categories.html").read_text()
    assert "tiny" in (site / "about.html").read_text()  # the model's card


def test_category_pages_are_paginated_like_serve(gallery, tmp_path, monkeypatch):
    monkeypatch.setattr("ganpage.web.pages.PER_PAGE", 3)
    monkeypatch.setattr("ganpage.static_pages.PER_PAGE", 3)
    site = tmp_path / "site"
    build(gallery, site)
    first, second = site / "c" / "hamster.html", site / "c" / "hamster.page2.html"
    assert 'href="../c/hamster.page2.html">Next' in first.read_text()
    assert 'href="../c/hamster.html">Previous' in second.read_text()
    assert second.read_text().count('<li><a href="../p/') == 1  # 4 pictures, 3 a page
    assert not (site / "c" / "hamster.page3.html").exists()


def test_every_link_is_relative_and_names_a_file_of_the_site(gallery, tmp_path):
    site = tmp_path / "site"
    build(gallery, site)
    for page in pages(site):
        if page.name == "404.html":
            continue  # shown at any depth: its own test
        for url in Tags(page.read_text()).urls():
            assert names_a_file_of(site, page, url), (page, url)


def names_a_file_of(site: Path, page: Path, url: str) -> bool:
    """Whether ``url``, a link on ``page``, is relative and names a file of ``site``."""
    if urlsplit(url).scheme or url.startswith("/"):
        return False
    if url.startswith("#"):  # a place on the page itself (the about page's model card)
        return f'id="{url[1:]}"' in page.read_text()
    target = (page.parent / url).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target.is_file() and site.resolve() in target.parents


def test_a_public_url_gives_absolute_opengraph_urls_a_sitemap_and_an_absolute_404(gallery,
                                                                                   tmp_path):
    site = tmp_path / "site"
    build(gallery, site, public_url=PUBLIC + "/")
    with Gallery.open(gallery) as opened:
        record = opened.records(["approved"])[0]
    page = (site / "p" / f"{record.id}.html").read_text()
    assert f'<meta property="og:url" content="{PUBLIC}/p/{record.id}.html">' in page
    assert (f'<meta property="og:image" content="{PUBLIC}/images/{record.relative_path}">'
            in page)
    sitemap = (site / "sitemap.xml").read_text()
    locs = [line for line in sitemap.splitlines() if "<loc>" in line]
    assert len(locs) == 12 + 3 + 3  # pictures, categories, index + categories + about
    assert f"<loc>{PUBLIC}/</loc>" in sitemap and "404" not in sitemap
    assert all(loc.startswith(f"<url><loc>{PUBLIC}/") for loc in locs)
    assert f"Sitemap: {PUBLIC}/sitemap.xml" in (site / "robots.txt").read_text()
    not_found = Tags((site / "404.html").read_text()).urls()
    assert "/mysite/static/site.css" in not_found and "/mysite/" in not_found


def test_no_page_needs_what_a_strict_content_security_policy_blocks(gallery, tmp_path):
    site = tmp_path / "site"
    build(gallery, site, public_url=PUBLIC)
    for page in pages(site):
        html = Tags(page.read_text())
        assert html.script_text == "", page  # no inline script
        for tag, attrs in html.tags:
            assert tag != "style", page
            assert "style" not in attrs, (page, tag)
            assert not [name for name in attrs if name.startswith("on")], (page, tag)
            assert not any((value or "").strip().lower().startswith("javascript:")
                           for value in attrs.values()), (page, tag)
            if tag == "script":
                assert attrs["src"].endswith("static/random.js")
        policy = [a["content"] for t, a in html.tags if a.get("http-equiv")
                  == "Content-Security-Policy"]
        assert policy and "script-src 'self'" in policy[0] and "unsafe-inline" not in policy[0]
    headers = (site / "_headers").read_text()  # the policy is the pages' own (meta)
    assert "X-Frame-Options: DENY" in headers and "Content-Security-Policy" not in headers


def test_a_rebuild_after_curation_rewrites_only_what_changed(gallery, tmp_path):
    site = tmp_path / "site"
    first = build(gallery, site)
    assert first.counts.unchanged == 0 and first.counts.removed == 0
    again = build(gallery, site)  # nothing changed: only the site-wide files are made
    assert (again.counts.written, again.counts.removed) == (0, 0) and again.incremental
    assert 0 < again.counts.unchanged < first.counts.written
    full = build(gallery, site, full=True)
    assert (full.counts.written, full.counts.removed) == (0, 0) and not full.incremental
    assert full.counts.unchanged == first.counts.written
    rejected = reject_a_hamster(gallery)
    before = file_times(site)
    after_curation = build(gallery, site)
    changed = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
               and p.name != ".ganpage-site.sqlite" and before.get(p) != p.stat().st_mtime_ns}
    assert changed == {"c/hamster.html", "categories.html", "pictures/hamster.json"}
    assert after_curation.incremental
    assert after_curation.counts.written == 3 and after_curation.counts.removed == 2
    assert not (site / "p" / f"{rejected.id}.html").exists()
    assert not (site / "images" / rejected.relative_path).exists()
    assert rejected.id not in (site / "pictures" / "hamster.json").read_text()


def site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site but the build's own (manifest, lock)."""
    return {path.relative_to(site).as_posix(): path.read_bytes() for path in site.rglob("*")
            if path.is_file() and not path.name.startswith(".ganpage-site")}


def copied_picture(gallery: Gallery, record: ImageRecord, seed: int, **changes) -> str:
    """A new pending picture made from ``record``'s file under another recipe; its id."""
    new = replace(record, seed=seed, status="pending", decided_by="", scores={}, flags=[],
                  **changes)
    new = replace(new, id=image_id(new.model_id, new.label, seed, new.truncation))
    gallery.add([(new, gallery.path_of(record).read_bytes())])
    return new.id


CHANGES = {
    "new pictures": lambda g, shown: g.set_status("approved", [
        copied_picture(g, shown[0], 9001), copied_picture(g, shown[5], 9002)]),
    "a new pending picture approved": lambda g, shown: g.set_status(
        "approved", [copied_picture(g, shown[1], 9003)]),
    "a rejection": lambda g, shown: g.set_status("rejected", [shown[2].id]),
    "a new category": lambda g, shown: g.set_status("approved", [copied_picture(
        g, shown[3], 9004, category="otter", category_name="otter", label=77)]),
    "a removed picture": lambda g, shown: g.db.execute("DELETE FROM images WHERE id = ?",
                                                       (shown[4].id,)),
    "a category emptied": lambda g, shown: g.set_status(
        "rejected", [r.id for r in shown if r.category == "otter"]),
    "the home page's picture rejected": lambda g, shown: g.set_status(
        "rejected", [min(r.id for r in shown)]),
}


@pytest.mark.parametrize("sitemap_limit", [50_000, 10, 24])  # one file; per category; both
def test_an_incremental_build_makes_exactly_the_files_of_a_full_one(gallery, tmp_path,
                                                                    monkeypatch, sitemap_limit):
    monkeypatch.setattr("ganpage.web.pages.PER_PAGE", 3)  # changes shift pages
    monkeypatch.setattr("ganpage.static_pages.PER_PAGE", 3)
    monkeypatch.setattr("ganpage.static_pages.SITEMAP_LIMIT", sitemap_limit)
    site = tmp_path / "site"
    build(gallery, site, public_url=PUBLIC)
    split = (site / "sitemaps").is_dir()
    layouts = {split}
    for n, (name, change) in enumerate(CHANGES.items()):
        with Gallery.open(gallery) as opened:
            change(opened, opened.records(["approved"]))
        report = build(gallery, site, public_url=PUBLIC)
        assert report.incremental == (split == (site / "sitemaps").is_dir()), name
        split = (site / "sitemaps").is_dir()
        full = build(gallery, tmp_path / f"full-{n}", public_url=PUBLIC)
        assert not full.incremental, name
        layouts.add(split)
        assert site_files(site) == site_files(tmp_path / f"full-{n}"), name
        assert (report.pictures, report.categories) == (full.pictures, full.categories), name
    assert layouts == {50_000: {False}, 10: {True}, 24: {False, True}}[sitemap_limit]


def test_an_incremental_build_renders_only_the_pages_a_change_touches(gallery, tmp_path,
                                                                      monkeypatch):
    site = tmp_path / "site"
    build(gallery, site)
    rendered = []
    real = StaticPages.picture_files
    monkeypatch.setattr(StaticPages, "picture_files",
                        lambda self, records: real(self, rendered.extend(records) or records))
    with Gallery.open(gallery) as opened:
        shown = opened.records(["approved"])
        new = copied_picture(opened, shown[0], 9001)
        opened.set_status("approved", [new])
    report = build(gallery, site)
    assert [record.id for record in rendered] == [new]  # not the 12 others
    assert report.incremental and report.pictures == 13
    home_changed = new < min(record.id for record in shown)  # ids differ by the tiny model
    # its picture and page, c/<slug>.html, its list, categories.html (and maybe index.html)
    assert report.counts.written == 5 + home_changed


def test_an_incremental_build_killed_half_way_is_made_whole_by_the_next(gallery, tmp_path,
                                                                        monkeypatch):
    site = tmp_path / "site"
    build(gallery, site)
    with Gallery.open(gallery) as opened:
        shown = opened.records(["approved"])
        opened.set_status("approved", [copied_picture(opened, shown[0], 9001)])
        opened.set_status("rejected", [shown[1].id])
    real, calls = SiteWriter.write, []

    def killed_on_the_third_file(self, path, data):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(self, path, data)

    monkeypatch.setattr(SiteWriter, "write", killed_on_the_third_file)
    with pytest.raises(KeyboardInterrupt):
        build(gallery, site)
    monkeypatch.setattr(SiteWriter, "write", real)
    assert build(gallery, site).incremental
    build(gallery, tmp_path / "full")
    assert site_files(site) == site_files(tmp_path / "full")


def test_a_rebuild_with_other_options_or_after_a_killed_build_is_a_full_one(gallery, tmp_path):
    site = tmp_path / "site"
    build(gallery, site)
    assert not build(gallery, site, site_name="Another").incremental
    with Gallery.open(gallery) as opened:
        opened.set_status("rejected", [opened.records(["approved"])[0].id])
    with SiteWriter(site) as writer:
        writer.forget_built_from()  # what a full build does first; then it was killed
    report = build(gallery, site, site_name="Another")
    assert not report.incremental and report.pictures == 11
    assert build(gallery, site, site_name="Another").incremental


def test_with_an_image_base_url_pages_link_pictures_there_and_none_are_copied(gallery,
                                                                             tmp_path):
    site, cdn = tmp_path / "site", "https://pictures.example.org/gallery"
    report = build(gallery, site, public_url=PUBLIC, image_base_url=cdn + "/")
    assert report.pictures == 12 and not (site / "images").exists()
    with Gallery.open(gallery) as opened:
        record = opened.records(["approved"])[0]
    html = Tags((site / "p" / f"{record.id}.html").read_text())
    assert f"{cdn}/{record.relative_path}" in html.urls()
    assert ("og:image", f"{cdn}/{record.relative_path}") in [
        (a.get("property"), a.get("content")) for _, a in html.tags]
    policy = next(a["content"] for _, a in html.tags
                  if a.get("http-equiv") == "Content-Security-Policy")
    assert "img-src 'self' https://pictures.example.org;" in policy
    category = Tags((site / "c" / f"{record.category}.html").read_text()).urls()
    assert f"{cdn}/{record.relative_path}" in category
    again = build(gallery, site, public_url=PUBLIC)  # pictures back in the site: a full build
    assert not again.incremental and (site / "images" / record.relative_path).is_file()


def test_a_site_past_a_hosts_limits_gets_one_note_naming_the_fix(gallery, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr("ganpage.site_hosts.HOSTS", (
        HostLimits("Tiny Pages", files=20, folder_files=10),))
    notes = [note for note in build(gallery, tmp_path / "site").notes if "Tiny" in note]
    assert len(notes) == 1 and "20 files" in notes[0] and "p/ has 12" in notes[0]
    assert "--image-base-url" in notes[0]
    quiet = build(gallery, tmp_path / "other", image_base_url="https://cdn.example/g").notes
    assert "--image-base-url" not in next(note for note in quiet if "Tiny" in note)


def test_a_damaged_picture_is_left_out_and_counted(gallery, tmp_path):
    with Gallery.open(gallery) as opened:
        damaged = opened.records(["approved"])[3]
    (gallery / damaged.relative_path).write_bytes(b"not the picture")
    report = build(gallery, tmp_path / "site")
    assert report.pictures == 11 and len(report.skipped) == 1
    assert report.skipped[0].startswith(damaged.id)
    assert not (tmp_path / "site" / "p" / f"{damaged.id}.html").exists()
    assert damaged.id not in (tmp_path / "site" / "pictures" / f"{damaged.category}.json"
                              ).read_text()


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org/site",
                                 "https://example.org/?x=1",
                                 "https://u.github.io/x https://evil.example 301! #",
                                 "https://u.github.io/a\nDisallow: /", "https://u.github.io/a:b",
                                 "https://cdn.example; script-src * 'unsafe-inline'"])
@pytest.mark.parametrize("option", ["public_url", "image_base_url"])
def test_a_bad_public_url_is_refused_before_anything_is_written(gallery, tmp_path, url, option):
    with pytest.raises(GanpageError, match=option.replace("_", "-")):
        build(gallery, tmp_path / "site", **{option: url})
    assert not (tmp_path / "site").exists()


def test_the_command_reports_written_unchanged_and_removed(gallery, tmp_path):
    site = tmp_path / "site"
    runner = CliRunner()
    first = runner.invoke(app, ["build-site", str(gallery), str(site)])
    assert first.exit_code == 0, first.output
    assert "12 pictures in 3 categories; full build" in first.output
    assert "0 unchanged" in first.output
    second = runner.invoke(app, ["build-site", str(gallery), str(site)])
    assert "0 written" in second.output and "0 removed" in second.output
    assert "changes since the last build" in second.output
    third = runner.invoke(app, ["build-site", str(gallery), str(site), "--full"])
    assert "full build" in third.output and "0 written" in third.output
    pending = runner.invoke(app, ["build-site", str(gallery), str(tmp_path / "other"),
                                  "--show", "pending"])
    assert pending.exit_code != 0 and "no pending picture" in str(pending.exception)
    assert not (tmp_path / "other").exists()  # removed again: nothing half made


@pytest.mark.slow
def test_nginx_serves_the_built_site_with_its_404_page(gallery, tmp_path):
    """deploy/nginx/ganpage-site.conf in front of a real build: pages with and without .html,
    the site's 404 page (links from the root) for any missing path, no dot files."""
    if NGINX is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    site = tmp_path / "site"
    build(gallery, site, public_url="https://static.thisxdoesnotexist.example")
    shard = json.loads((site / "pictures.json").read_text())["categories"][0]["pictures"]
    record_id = json.loads((site / shard).read_text())[0]
    with running_nginx(tmp_path / "nginx", "ganpage-site.conf",
                       {"root /srv/ganpage/site;": f"root {site};"}) as nginx, \
            httpx.Client(base_url=nginx.https, verify=nginx.tls(), timeout=10) as client:
        assert client.get("/").text == (site / "index.html").read_text()
        assert client.get(f"/p/{record_id}").text == client.get(f"/p/{record_id}.html").text
        assert client.get("/pictures.json").headers["content-type"] == "application/json"
        for missing in ("/p/000000000000.html", "/no/such/folder/page", "/.ganpage-site.sqlite"):
            answer = client.get(missing)
            assert answer.status_code == 404 and answer.text == (site / "404.html").read_text()
        assert 'href="/static/site.css"' in client.get("/a/b/c").text


@pytest.fixture(scope="module")
def live_site(tiny_gallery, tmp_path_factory) -> Path:
    """The tiny gallery's site with a live page of a tiny model, in ``<root>/site``."""
    root = tmp_path_factory.mktemp("live")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANPAGE_CACHE", str(root / "cache"))  # its ONNX export
        model = make_tiny_model(root / "model")
        build(tiny_gallery, root / "site", live_model=str(model))
    return root


def rebuilt_live_site(live_site: Path, gallery: Path, tmp_path: Path, **options):
    """A copy of the live site built again with ``options``: (its folder, the report)."""
    site = tmp_path / "site"
    shutil.copytree(live_site / "site", site)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANPAGE_CACHE", str(live_site / "cache"))
        return site, build(gallery, site, live_model=str(live_site / "model"), **options)


def test_the_about_page_says_which_pictures_the_site_shows(gallery, live_site, tmp_path):
    """A --show pending build said its pictures were "kept only if they passed review"."""
    with Gallery.open(gallery) as opened:
        opened.set_status("pending", [opened.records()[0].id])
    build(gallery, tmp_path / "site", statuses=("approved", "pending"))
    about = (tmp_path / "site" / "about.html").read_text()
    assert "its owner chose to show pending ones too" in about and "passed review" not in about
    assert "Pictures drawn live" not in about
    live_about = (live_site / "site" / "about.html").read_text()
    assert "shown only once they are approved" in live_about
    assert "Pictures drawn live are made the moment someone asks for one" in live_about


def test_live_adds_the_live_page_linked_from_every_page(live_site):
    site = live_site / "site"
    assert (site / "live.html").is_file() and (site / "live" / "live.json").is_file()
    assert (site / "live" / "model" / "generator.float32.onnx").stat().st_size > 1000
    assert (site / "live" / "ort" / "LICENSE").is_file()
    for page in ("index.html", "about.html", "c/hamster.html"):
        assert "Drawn live" in (site / page).read_text(), page
    assert 'href="../live.html">Drawn live' in (site / "c" / "bagel.html").read_text()
    html = Tags((site / "live.html").read_text())
    assert html.script_text == "" and [a["src"] for t, a in html.tags if t == "script"] == [
        "live/live.js"]
    for url in html.urls():  # "" is the permalink, set by live.js
        assert url == "" or names_a_file_of(site, site / "live.html", url), url
    headers = (site / "_headers").read_text()
    assert "/live.html\n  Cross-Origin-Opener-Policy: same-origin" in headers


def test_live_ships_both_runtimes_and_notes_the_file_cloudflare_refuses(live_site,
                                                                       tiny_gallery, tmp_path):
    site, report = rebuilt_live_site(live_site, tiny_gallery, tmp_path)
    assert report.counts.written == 0
    runtime = site / "live" / "ort"
    assert (runtime / "ort.wasm.min.mjs").is_file() and (runtime / "ort.webgpu.min.mjs").is_file()
    assert json.loads((site / "live" / "live.json").read_text())["runtimes"] == ["wasm",
                                                                                  "webgpu"]
    notes = [note for note in report.notes if "MiB" in note]
    mib = (runtime / "ort-wasm-simd-threaded.asyncify.wasm").stat().st_size / 2**20
    assert notes == [f"live/ort/ort-wasm-simd-threaded.asyncify.wasm is {mib:.1f}"
                     " MiB, more than Cloudflare Pages takes (25 MiB a file) (build with "
                     "--no-webgpu to leave the WebGPU runtime out); GitHub Pages, Netlify and "
                     "nginx serve it"]


def test_no_webgpu_leaves_the_webgpu_runtime_out_and_a_rebuild_removes_it(live_site,
                                                                          tiny_gallery,
                                                                          tmp_path):
    site, report = rebuilt_live_site(live_site, tiny_gallery, tmp_path, live_webgpu=False)
    runtime = site / "live" / "ort"
    assert sorted(p.name for p in runtime.iterdir()) == [
        "LICENSE", "VERSION", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
        "ort.wasm.min.mjs"]
    assert json.loads((site / "live" / "live.json").read_text())["runtimes"] == ["wasm"]
    assert report.counts.removed == 3 and not [n for n in report.notes if "MiB" in n]


def test_a_build_without_live_removes_the_live_page(live_site, tiny_gallery, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(live_site / "site", site)
    files_before = len(list(site.rglob("*")))
    report = build(tiny_gallery, site)
    assert not (site / "live.html").exists() and not (site / "live").exists()
    assert report.counts.removed >= 10 and len(list(site.rglob("*"))) < files_before
    assert "Drawn live" not in (site / "index.html").read_text()


# -- in a browser ---------------------------------------------------------------------------------



@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """`python -m http.server` serving ``folder``; its URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", server)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def served_site(gallery, tmp_path):
    """The site at /site/ of `python -m http.server` serving its parent folder."""
    build(gallery, tmp_path / "public" / "site")
    with http_server(tmp_path / "public") as url:
        yield url + "site/"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_the_site_under_a_sub_path_in_chromium(served_site, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            failures = watch(page)
            seen = {shown_picture(page, served_site)}
            seen |= {shown_picture(page) for _ in range(9)}  # reloads
            assert len(seen) > 1  # another picture on a reload
            visited = crawl(page, served_site)
            assert len(visited) == 1 + 3 + 2 + 12  # index, categories, about, c/, p/ pages
            shot = Path(os.environ.get("GANPAGE_STATIC_SCREENSHOT", tmp_path / "site.png"))
            shown_picture(page, served_site)
            page.screenshot(path=str(shot))
            assert failures == []
            assert page.evaluate(INLINE_SCRIPT_REFUSED) == "script-src-elem"  # the meta CSP
            without_js = browser.new_page(java_script_enabled=False)
            assert shown_picture(without_js, served_site).endswith(".webp")
        finally:
            browser.close()


# Adds an inline script and answers the directive that refused it (a page without a policy
# runs it and answers "ran").
INLINE_SCRIPT_REFUSED = """() => new Promise(resolve => {
  document.addEventListener("securitypolicyviolation", e => resolve(e.effectiveDirective));
  window.ran = () => resolve("ran");
  const script = document.createElement("script");
  script.textContent = "window.ran()";
  document.head.append(script);
})"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_the_sites_live_page_draws_under_a_sub_path_in_chromium(live_site):
    from playwright.sync_api import sync_playwright

    with http_server(live_site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            failures = watch(page)
            page.goto(url + "site/")
            page.click("text=Drawn live")
            page.wait_for_selector('canvas#picture[data-state="done"]', timeout=60_000)
            assert page.url.startswith(url + "site/live.html?category=")  # its permalink
            assert float(page.get_attribute("canvas#picture", "data-ms")) > 0
            assert failures == []
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() or NGINX is None
                    or shutil.which("openssl") is None, reason="needs chromium, nginx, openssl")
def test_the_live_page_draws_behind_deploys_nginx_with_its_headers(live_site, tmp_path):
    """deploy/nginx/ganpage-site.conf's own policy (a header, beside the page's meta policy)
    lets the live page's WebAssembly run."""
    from playwright.sync_api import sync_playwright

    with running_nginx(tmp_path / "nginx", "ganpage-site.conf",
                       {"root /srv/ganpage/site;": f"root {live_site / 'site'};"}) as nginx, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(ignore_https_errors=True)  # nginx's self-signed cert
            failures = watch(page)
            answer = page.goto(nginx.https + "/live")
            assert "wasm-unsafe-eval" in answer.headers["content-security-policy"]
            page.wait_for_selector('canvas#picture[data-state="done"]', timeout=60_000)
            assert failures == []
        finally:
            browser.close()


def watch(page) -> list[str]:
    """The page's failed requests, 4xx/5xx responses and CSP violations, as they happen."""
    failures: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
    # a request cut short by the next navigation is ERR_ABORTED, not a missing file
    page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
            and failures.append(f"{r.failure} {r.url}"))
    page.on("console", lambda m: "Content Security Policy" in m.text
            and failures.append(m.text))
    return failures


def shown_picture(page, url: str | None = None) -> str:
    """Load the home page at ``url`` (None: reload the page); the src of the picture it shows,
    once decoded."""
    if url is None:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("() => !document.documentElement.classList.contains('picking')")
    image = page.locator("article.picture img")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    return image.get_attribute("src")


def crawl(page, root: str) -> set[str]:
    """Visit every page linked from the home page within the site; each picture must decode."""
    todo, visited = [root], set()
    while todo:
        url = todo.pop()
        if url in visited:
            continue
        visited.add(url)
        page.goto(url)
        page.wait_for_function("() => [...document.images].every(i => i.complete && "
                               "i.naturalWidth > 0)", timeout=5000)  # lazy ones too
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        todo += [link.split("#")[0] for link in links if link.startswith(root)]
    return {url.replace("index.html", "") for url in visited}
