"""HTTP hygiene (web/hygiene.py, web/images.py and the app around them): security headers,
HEAD, 405 with Allow, ETag and 304, no 5xx for odd input, damaged pictures taken out of the
site, the page cache bounded and the catalog read off the event loop."""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from ganpage.gallery import Gallery
from ganpage.web.app import SiteConfig, create_app
from helpers.servers import free_port, wait_for_http, wait_until

TEMPLATES = Path(__file__).parents[1] / "src" / "ganpage" / "web" / "templates"


def site_paths(base: str) -> list[str]:
    """One path of every kind the site answers GET for, found by following its own links."""
    picture = httpx.get(base + "/api/random").json()
    return ["/", "/?ref=1", picture["permalink"], picture["image_url"], "/c/bagel",
            "/c/bagel?page=1", "/categories", "/about", "/api/random", "/api/categories",
            f"/api/images/{picture['id']}", "/openapi.json", "/static/site.css",
            "/static/favicon.svg", "/healthz", "/readyz"]


def copy_of(gallery: Path, tmp_path: Path) -> Path:
    """A gallery this test may damage (the session's tiny gallery is shared)."""
    return Path(shutil.copytree(gallery, tmp_path / "gallery"))


@pytest.mark.slow
def test_every_response_carries_the_security_headers(live_server):
    for path in [*site_paths(live_server), "/no-such-page", "/p/000000000000"]:
        for method in ("GET", "HEAD"):
            headers = httpx.request(method, live_server + path).headers
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
            assert "'unsafe-inline'" not in policy
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
    assert "content-security-policy" in httpx.post(live_server + "/").headers


@pytest.mark.slow
def test_pages_need_nothing_the_policy_forbids(live_server):
    """No inline script, style or event handler, and nothing from elsewhere, in any template
    or page, so the policy (no 'unsafe-inline', only 'self') breaks nothing."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:",
                        re.IGNORECASE)
    for template in TEMPLATES.glob("*.html"):
        assert not inline.search(template.read_text()), template.name
    for path in ("/", "/c/bagel", "/categories", "/about", "/no-such-page"):
        html = httpx.get(live_server + path).text
        assert not inline.search(html), path
        assert not re.search(r"""(src=|<link[^>]*href=)["'](https?:)?//""", html), path


@pytest.mark.slow
def test_head_answers_wherever_get_does(live_server):
    for path in site_paths(live_server):
        get, head = httpx.get(live_server + path), httpx.head(live_server + path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        if path not in ("/", "/?ref=1", "/api/random"):  # these change each time
            assert head.headers["content-length"] == str(len(get.content)), path
        assert head.headers["content-type"] == get.headers["content-type"], path


@pytest.mark.slow
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_every_405_says_what_is_allowed(live_server, method):
    for path in site_paths(live_server):
        response = httpx.request(method, live_server + path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD", (method, path)


@pytest.mark.slow
def test_a_trailing_slash_redirects_relatively_never_to_the_host_asked_for(live_server):
    forged = {"Host": "evil.example", "X-Forwarded-Proto": "https"}
    for path, target in (("/about/", "/about"), ("/c/bagel/?page=1", "/c/bagel?page=1"),
                         ("/categories//", "/categories"), ("/favicon.ico/", "/favicon.ico")):
        answer = httpx.get(live_server + path, headers=forged, follow_redirects=False)
        assert answer.status_code == 308 and answer.headers["location"] == target, path
        followed = httpx.get(live_server + path, follow_redirects=True)
        assert followed.status_code == 200 and followed.url.host == "127.0.0.1", path
    for path in ("//evil.example/", "///evil.example/about/", "/no-such-page/", "/\\evil/"):
        answer = httpx.get(live_server + path, headers=forged, follow_redirects=False)
        assert answer.status_code == 404 and "location" not in answer.headers, path


@pytest.mark.slow
def test_images_have_an_etag_and_answer_304_when_unchanged(live_server):
    picture = httpx.get(live_server + "/api/random").json()
    url = live_server + picture["image_url"]
    first = httpx.get(url)
    tag = first.headers["etag"]
    assert tag == f'"{picture["sha256"]}"'
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        again = httpx.get(url, headers={"If-None-Match": header})
        assert again.status_code == 304 and again.content == b"", header
        assert again.headers["etag"] == tag and "immutable" in again.headers["cache-control"]
    assert httpx.head(url, headers={"If-None-Match": tag}).status_code == 304
    changed = httpx.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == first.content


ODD_VALUES = ["", "0", "-1", "²", "١", "1e3", "0x10", "1.5", " 1", "1%0A", "%ff", "%00", "%C0%AF",
              "a" * 300, "9" * 40, "%E2%80%AE", "[]", "{}", "null", "..%2F..%2Fgallery.sqlite"]


@pytest.fixture(scope="module")
def client(tiny_gallery):
    return TestClient(create_app(tiny_gallery), raise_server_exceptions=False)


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_values_anywhere_never_answer_5xx(client, value):
    picture = client.get("/api/random").json()
    paths = [f"/c/bagel?page={value}", f"/?page={value}", f"/?{value}", f"/p/{value}",
             f"/c/{value}", f"/c/{value}?page={value}", f"/api/images/{value}",
             f"/images/{value}/{value}", f"/images/bagel/{value}.webp",
             f"/images/{picture['category']}/{picture['id']}.{value}", f"/static/{value}",
             f"{picture['permalink']}?{value}={value}", f"/about?{value}",
             f"/api/random?{value}=1", f"/categories?x={value}&x={value}"]
    for path in paths:
        for method in ("GET", "HEAD", "POST", "OPTIONS"):
            response = client.request(method, path)
            assert response.status_code < 500, (method, path, response.text[:200])
    odd_headers = {name: text.encode() for name, text in [
        ("If-None-Match", value or '"'), ("Accept", value), ("Range", f"bytes={value}"),
        ("Accept-Encoding", value)]}
    for path in (picture["image_url"], "/", "/static/site.css"):
        assert client.get(path, headers=odd_headers).status_code < 500, path


def test_the_catalog_is_read_off_the_event_loop(tiny_gallery, tmp_path, monkeypatch):
    """A slow index (locked, or a big change) never holds requests up: they get the shelves
    they had while a background thread applies the change."""
    from ganpage.web import catalog as catalog_module

    app = create_app(copy_of(tiny_gallery, tmp_path), SiteConfig(refresh_seconds=0))
    client = TestClient(app)
    with Gallery.open(tmp_path / "gallery") as gallery:
        gallery.set_status("rejected", category="hamster")  # the index changes
    slow_apply = catalog_module.Catalog._apply

    def apply_slowly(*args, **kwargs):
        time.sleep(1.5)
        return slow_apply(*args, **kwargs)

    monkeypatch.setattr(catalog_module.Catalog, "_apply", apply_slowly)
    started = time.monotonic()
    for _ in range(5):
        assert client.get("/").status_code == 200
    assert time.monotonic() - started < 1.0  # not one request waited for the change
    wait_until(lambda: app.catalog.category("hamster") is None, 10,
               "the change was not applied")


def test_the_page_cache_is_bounded_in_bytes(tiny_gallery):
    from ganpage.web.page_cache import PageCache

    app = create_app(tiny_gallery)
    shelves = app.catalog.categories()
    records = [r for shelf in shelves for r in app.catalog.records(shelf, 0, shelf.count)]
    page_bytes = len(app.random_pages.page_of(records[0]))
    app.random_pages.cache = cache = PageCache(max_bytes=3 * page_bytes + page_bytes // 2)
    for record in records:
        page = app.random_pages.page_of(record)
        assert record.id.encode() in page and cache.get(record.id) == page
        assert cache.size <= cache.max_bytes and len(cache) <= 3
        assert cache.size == sum(len(cache.get(r.id) or b"") for r in records)
    assert len(records) == 12


def damage(gallery: Path, picture: dict, how: str) -> None:
    path = gallery / picture["image_url"].removeprefix("/images/")
    if how == "deleted":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:20])
    else:  # same size, other bytes
        path.write_bytes(bytes(255 - b for b in path.read_bytes()))


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_damaged_pictures_answer_404_and_stop_being_shown(tiny_gallery, tmp_path, reap, server):
    gallery = copy_of(tiny_gallery, tmp_path)
    port = free_port()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--port", str(port),
         "--server", server], stdout=subprocess.DEVNULL))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/healthz", process)
        listing = httpx.get(base + "/c/mailbox").text
        ids = re.findall(r'href="/p/([0-9a-f]{12})"', listing)
        pictures = [httpx.get(f"{base}/api/images/{i}").json() for i in ids[:3]]
        for picture in pictures:  # served once: the server has checked and cached it
            assert httpx.get(base + picture["image_url"]).status_code == 200
            assert httpx.get(base + picture["permalink"]).status_code == 200
        for picture, how in zip(pictures, ("deleted", "truncated", "overwritten"), strict=True):
            damage(gallery, picture, how)
            cached_tag = f'"{picture["sha256"]}"'
            for headers in ({}, {"If-None-Match": cached_tag}):
                image = httpx.get(base + picture["image_url"], headers=headers)
                assert image.status_code == 404, (how, headers)
                assert "immutable" not in image.headers["cache-control"]
            assert httpx.get(base + picture["permalink"]).status_code == 404, how
            assert httpx.get(f"{base}/api/images/{picture['id']}").status_code == 404, how
        shown = " ".join(httpx.get(base + "/").text for _ in range(60))
        shown += httpx.get(base + "/c/mailbox").text
        for picture in pictures:
            assert picture["id"] not in shown
        assert httpx.get(base + "/c/mailbox").text.count('<li><a href="/p/') == 1
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_an_unreadable_index_keeps_the_site_up_and_makes_it_unready(tiny_gallery, tmp_path,
                                                                    monkeypatch):
    app = create_app(copy_of(tiny_gallery, tmp_path), SiteConfig(refresh_seconds=0))
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/readyz").status_code == 200

    def locked() -> int:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(app.catalog.watcher, "change_counter", locked)
    app.catalog.refresh()  # as the background thread does
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "database is locked" in ready.json()["problems"][0]
    monkeypatch.undo()
    app.catalog.refresh()
    assert client.get("/readyz").status_code == 200
    os.remove(tmp_path / "gallery" / "gallery.sqlite")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "is gone" in ready.json()["problems"][0]
    assert client.get("/").status_code == 200  # what was loaded is still shown


def test_a_machine_error_reading_a_picture_is_503_and_the_picture_stays(tiny_gallery,
                                                                        monkeypatch):
    """Too many open files says nothing about the picture: try again later, keep showing it."""
    from ganpage.web import images

    client = TestClient(create_app(tiny_gallery), raise_server_exceptions=False)
    picture = client.get("/api/random").json()

    def out_of_files(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(images, "open", out_of_files, raising=False)
    monkeypatch.setattr(images, "os", SimpleNamespace(stat=out_of_files, fstat=os.fstat))
    for headers in ({}, {"If-None-Match": f'"{picture["sha256"]}"'}):
        busy = client.get(picture["image_url"], headers=headers)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert "immutable" not in busy.headers["cache-control"]
    monkeypatch.undo()
    assert client.get(picture["image_url"]).status_code == 200
    assert client.get(picture["permalink"]).status_code == 200
