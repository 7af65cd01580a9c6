"""build-site --permalinks shards: every picture's record in one JSON shard, one page showing any
of them at the picture's permalink (routed by _redirects or 404.html), rebuilt shard by shard."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from ganpage.gallery import Gallery
from ganpage.site_permalinks import (
    PREFIXES,
    SHARDS,
    picture_record,
    redirects,
    shard_id_range,
    shard_json,
    shard_of,
    shard_path,
)
from ganpage.site_writer import SiteWriter
from helpers.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from helpers.nginx import NGINX, running_nginx
from helpers.static_hosts import static_host
from test_static_site import (
    CHANGES,
    PUBLIC,
    Tags,
    build,
    copied_picture,
    file_times,
    reject_a_hamster,
    shown_picture,
    site_files,
    watch,
)


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    """A copy of the tiny gallery (3 categories x 4 approved pictures) that a test may curate."""
    return Path(shutil.copytree(tiny_gallery, tmp_path / "gallery"))


def shards(site: Path) -> dict[str, dict[str, dict]]:
    """path -> that shard's records, of every shard file of ``site``."""
    return {path.relative_to(site).as_posix(): json.loads(path.read_text())
            for path in sorted((site / "shards").glob("*.json"))}


def shown(gallery: Path) -> dict[str, object]:
    with Gallery.open(gallery) as opened:
        return {record.id: record for record in opened.records(["approved"])}


# -- the shards ---------------------------------------------------------------------------------


def test_each_id_prefix_has_one_shard_and_its_range_holds_exactly_its_ids():
    owners = [shard_of(f"{prefix:03x}000000000") for prefix in range(PREFIXES)]
    assert owners == sorted(owners) and set(owners) == set(range(SHARDS))  # none empty
    for prefix, shard in enumerate(owners):
        low, high = shard_id_range(shard)
        assert low <= f"{prefix:03x}000000000" <= f"{prefix:03x}fffffffff" < high
    assert shard_id_range(SHARDS - 1)[1] > "fff"
    assert shard_path(7) == "shards/0007.json"


class Text(HTMLParser):
    """The text inside each kind of element (``tag`` or ``tag.class``), and the img's alt."""

    VOID = {"meta", "link", "img", "br", "input", "hr"}

    def __init__(self, html: str):
        super().__init__()
        self.text: dict[str, str] = {}
        self.alt = ""
        self._open: list[tuple[str, str]] = []  # (tag, name)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.alt = attrs["alt"]
        if tag not in self.VOID:
            self._open.append((tag, tag + ("." + attrs["class"] if attrs.get("class") else "")))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, name in self._open:
            self.text[name] = self.text.get(name, "") + data


def test_a_record_holds_the_words_its_page_shows(gallery, tmp_path):
    """The words of a shard's record are the words of the picture's page in the pages
    layout, not HTML-escaped (the page puts them in as text)."""
    with Gallery.open(gallery) as opened:
        record = opened.records(["approved"])[0]
        strange = copied_picture(opened, record, 9001, category_name='Tom & "Jerry" <b>')
        opened.set_status("approved", [strange])
    build(gallery, tmp_path / "pages")
    for image, record in shown(gallery).items():
        saved = picture_record(record)
        page = Text((tmp_path / "pages" / "p" / f"{image}.html").read_text())
        heading = " ".join(page.text["h1"].split())
        assert heading == f"{saved['this']} {saved['name']} {saved['does']} Not Exist"
        assert page.text["span.badge"] == saved["badge"]
        assert " ".join(page.text["figcaption"].split()) == f"{saved['badge']} {saved['caption']}"
        assert page.text["p"].strip() == saved["blurb"]
        assert page.text["footer"].startswith(f"— {saved['author']}, ")
        assert page.alt == saved["alt"]
        assert saved["path"] == record.relative_path
        assert (saved["width"], saved["height"], saved["slug"]) == (
            record.width, record.height, record.category)
    assert json.loads(shard_json([record]))[record.id] == picture_record(record)
    odd = picture_record(shown(gallery)[strange])
    assert odd["name"] == 'Tom & "Jerry" <b>' and '"jerry" <b>' in odd["alt"]  # as given


def test_the_shard_layout_has_one_page_and_every_shown_picture_in_its_one_shard(gallery,
                                                                                 tmp_path):
    with Gallery.open(gallery) as opened:
        records = opened.records(["approved"])
        opened.set_status("rejected", [records[0].id])
        opened.set_status("pending", [records[1].id])
    site = tmp_path / "site"
    report = build(gallery, site, permalinks="shards")
    visible = shown(gallery)
    assert report.pictures == len(visible) == 10
    assert [p.name for p in (site / "p").iterdir()] == ["view.html"]  # no p/<id>.html
    found = shards(site)
    ids = [image for records in found.values() for image in records]
    assert sorted(ids) == sorted(visible)  # each shown one once, the hidden ones in none
    for path, records in found.items():
        assert all(shard_path(shard_of(image)) == path for image in records)
        assert list(records) == sorted(records)
    assert (site / "_redirects").read_text().splitlines()[1:] == ["/p/:id  /p/view.html  200"]
    for name in ("static/permalink.js", "static/picture.js"):
        assert (site / name).is_file()
    assert json.loads((site / "pictures.json").read_text())["sharded"] is True
    assert report.fullest_folder == ("shards/", 10)  # at most a shard a picture


@pytest.mark.parametrize("public_url", [PUBLIC, ""])
def test_view_and_404_pages_load_the_script_and_show_a_picture_without_it(gallery, tmp_path,
                                                                          public_url):
    """With a public URL both pages' links start at its path (they hold at any depth, as a
    host may answer p/<id>/ too); without, 404.html's start at the host's root (it answers
    p/<id>.html on GitHub Pages, where relative links would point into p/)."""
    site = tmp_path / "site"
    build(gallery, site, permalinks="shards", public_url=public_url)
    path = re.sub(r"^https?://[^/]+", "", public_url)
    assert f"{path}/p/:id  {path}/p/view.html  200" in (site / "_redirects").read_text()
    home = min(shown(gallery).values(), key=lambda record: record.id)
    view_base = f"{path}/" if public_url else "../"
    for name, base, hidden in (("p/view.html", view_base, True), ("404.html", f"{path}/", False)):
        html = (site / name).read_text()
        tags = Tags(html)
        assert tags.script_text == ""  # no inline script: the meta policy allows none
        scripts = [attrs["src"] for tag, attrs in tags.tags if tag == "script"]
        assert scripts == [f"{base}static/permalink.js"], name
        missing = next(attrs for tag, attrs in tags.tags if attrs.get("id") == "missing")
        assert ("hidden" in missing) == hidden, name  # 404.html: other paths are not found
        template = next(attrs for tag, attrs in tags.tags if tag == "template")
        assert template["data-shards"] == "shards/{shard}.json"
        assert template["data-picture"] == "p/{id}.html"
        noscript = html.split("<noscript>")[1].split("</noscript>")[0]
        assert f'src="{base}images/{home.relative_path}"' in noscript, name
        assert "needs JavaScript" in noscript


def test_with_an_image_base_url_the_records_point_there(gallery, tmp_path):
    site = tmp_path / "site"
    build(gallery, site, permalinks="shards", image_base_url="https://cdn.example.org/g")
    template = next(attrs for tag, attrs in Tags((site / "index.html").read_text()).tags
                    if tag == "template")
    assert template["data-image"] == "https://cdn.example.org/g/{path}"
    assert not (site / "images").exists()


def test_a_rebuild_rewrites_only_the_shards_of_the_changed_pictures(gallery, tmp_path):
    site = tmp_path / "site"
    build(gallery, site, permalinks="shards")
    rejected = reject_a_hamster(gallery)
    before = file_times(site)
    shard = shard_path(shard_of(rejected.id))
    alone = len(shards(site)[shard]) == 1
    report = build(gallery, site, permalinks="shards")
    changed = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
               and p.name != ".ganpage-site.sqlite" and before.get(p) != p.stat().st_mtime_ns}
    assert report.incremental
    assert changed == {"c/hamster.html", "c/hamster.json", "categories.html",
                       "pictures/hamster.json"} | (set() if alone else {shard})
    assert (site / shard).exists() != alone  # an emptied shard is removed
    assert rejected.id not in json.dumps(shards(site))
    assert report.counts.removed == 1 + alone  # the picture, and its shard if emptied


def test_an_incremental_sharded_build_makes_exactly_the_files_of_a_full_one(gallery, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr("ganpage.web.pages.PER_PAGE", 3)  # changes shift pages
    monkeypatch.setattr("ganpage.static_pages.PER_PAGE", 3)
    monkeypatch.setattr("ganpage.site_permalinks.SHARDS", 4)  # several ids a shard
    site = tmp_path / "site"
    build(gallery, site, public_url=PUBLIC, permalinks="shards")
    read_shards: list[str] = []  # the low end of each shard's ids read from the index
    real = Gallery.records_by_id

    def records_by_id(self, statuses, low, high):
        read_shards.append(low)
        return real(self, statuses, low, high)

    monkeypatch.setattr(Gallery, "records_by_id", records_by_id)
    for n, (name, change) in enumerate(CHANGES.items()):
        with Gallery.open(gallery) as opened:
            before = {record.id for record in opened.records(["approved"])}
            change(opened, opened.records(["approved"]))
            after = {record.id for record in opened.records(["approved"])}
        read_shards.clear()
        report = build(gallery, site, public_url=PUBLIC, permalinks="shards")
        assert report.incremental, name
        touched = {shard_of(image) for image in before ^ after}
        assert len(read_shards) == len(touched), name  # only the changed pictures' shards
        full = build(gallery, tmp_path / f"full-{n}", public_url=PUBLIC, permalinks="shards")
        assert site_files(site) == site_files(tmp_path / f"full-{n}"), name
        assert (report.pictures, report.fullest_folder) == (full.pictures, full.fullest_folder)


def test_switching_layouts_removes_the_other_layouts_files(gallery, tmp_path, monkeypatch):
    few_a_page(monkeypatch)  # 4 pictures a category: 2 pages
    site = tmp_path / "site"
    build(gallery, site)
    assert len(list((site / "p").iterdir())) == 12
    assert len(list((site / "c").glob("*.page2.html"))) == 3
    to_shards = build(gallery, site, permalinks="shards")
    assert not to_shards.incremental and to_shards.counts.removed == 12 + 3
    assert not list((site / "c").glob("*.page2.html"))
    assert site_files(site) == site_files_of_a_fresh_build(gallery, tmp_path / "s", "shards")
    back = build(gallery, site)
    assert not back.incremental
    assert not (site / "shards").exists() and not (site / "_redirects").exists()
    assert not (site / "static" / "permalink.js").exists()
    assert not list((site / "c").glob("*.json")) and (site / "c" / "hamster.page2.html").exists()
    assert site_files(site) == site_files_of_a_fresh_build(gallery, tmp_path / "p", "pages")
    with SiteWriter(site) as writer:  # the manifest forgot the other layout's files too
        assert not writer.has("p/view.html") and not writer.has("_redirects")


def site_files_of_a_fresh_build(gallery: Path, out: Path, permalinks: str) -> dict[str, bytes]:
    build(gallery, out, permalinks=permalinks)
    return site_files(out)


def few_a_page(monkeypatch, per_page: int = 3) -> None:
    """Category pages of ``per_page`` pictures, so the tiny gallery's have several."""
    monkeypatch.setattr("ganpage.web.pages.PER_PAGE", per_page)
    monkeypatch.setattr("ganpage.static_pages.PER_PAGE", per_page)


# -- the category pages -------------------------------------------------------------------------


def test_a_category_is_one_page_and_a_list_of_its_shown_pictures(gallery, tmp_path,
                                                                  monkeypatch):
    """However many pages of pictures a category has, the shards layout writes its first page
    (linking the others at c/<slug>.html#page=N) and its grid list: every shown picture of it,
    in the pages' order, with what category.js needs; the sitemap lists the one page."""
    few_a_page(monkeypatch)
    with Gallery.open(gallery) as opened:
        hamsters = opened.records(["approved"], category="hamster")
        opened.set_status("approved", [copied_picture(opened, hamsters[0], 9000 + n)
                                       for n in range(4)])  # 8 hamsters: 3 pages
        hamsters = opened.records(["approved"], category="hamster")
        opened.set_status("rejected", [hamsters[1].id])
        opened.set_status("pending", [hamsters[6].id])
    site = tmp_path / "site"
    report = build(gallery, site, permalinks="shards", public_url=PUBLIC)
    slugs = {record.category for record in shown(gallery).values()}
    assert sorted(p.name for p in (site / "c").iterdir()) == sorted(
        f"{slug}.{end}" for slug in slugs for end in ("html", "json"))
    assert report.fullest_folder == ("shards/", 14)  # c/: 6 files
    with Gallery.open(gallery) as opened:
        for slug in slugs:
            records = opened.records(["approved"], category=slug)
            grid = json.loads((site / "c" / f"{slug}.json").read_text())
            assert grid["slug"] == slug
            assert grid["alt"] == f"AI-generated {records[0].category_name.lower()}"
            assert grid["pictures"] == [[r.id, r.format, r.width, r.height, r.seed]
                                        for r in records]  # shown ones only, in page order
    assert [p[0] for p in json.loads((site / "c" / "hamster.json").read_text())["pictures"]] \
        == [r.id for r in hamsters if r.id not in (hamsters[1].id, hamsters[6].id)]
    html = (site / "c" / "hamster.html").read_text()
    tags = Tags(html)
    assert tags.script_text == ""  # the meta policy allows no inline script
    assert [a["src"] for tag, a in tags.tags if tag == "script"] == ["../static/category.js"]
    assert html.count('<li><a href="../p/') == 3  # the first page's pictures, as today
    assert 'href="../c/hamster.html#page=2">Next' in html
    noscript = html.split("<noscript>")[1].split("</noscript>")[0]
    assert "Pages 2 to 2 of this category need JavaScript" in noscript
    assert 'href="../sitemap.xml"' in noscript
    template = next(a for tag, a in tags.tags if tag == "template")
    assert (template["data-list"], template["data-page"], template["data-per-page"]) == (
        "c/hamster.json", "c/hamster.html#page={page}", "3")
    sitemap = (site / "sitemap.xml").read_text()
    assert f"{PUBLIC}/c/hamster.html<" in sitemap and "page2" not in sitemap
    assert (site / "static" / "category.js").is_file()


def test_a_new_picture_rewrites_its_categorys_page_and_lists_only(gallery, tmp_path,
                                                                 monkeypatch):
    few_a_page(monkeypatch)
    site = tmp_path / "site"
    build(gallery, site, permalinks="shards")

    def rebuilt(change) -> set[str]:
        with Gallery.open(gallery) as opened:
            change(opened, opened.records(["approved"], category="hamster"))
        before = file_times(site)
        report = build(gallery, site, permalinks="shards")
        assert report.incremental
        return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
                and p.name != ".ganpage-site.sqlite" and before.get(p) != p.stat().st_mtime_ns}

    new = []
    changed = rebuilt(lambda g, hamsters: (new.append(copied_picture(g, hamsters[0], 9001)),
                                           g.set_status("approved", new)))
    home = {"index.html", "404.html", "p/view.html"}  # if the new id is the smallest
    assert changed - home == {"c/hamster.html", "c/hamster.json", "pictures/hamster.json",
                              "categories.html", shard_path(shard_of(new[0])),
                              f"images/hamster/{new[0]}.webp"}
    assert not list((site / "c").glob("*.page*"))
    # a change past the first page that the grid does not show: no page, no list written
    changed = rebuilt(lambda g, hamsters: g.db.execute(
        "UPDATE images SET decided_by = 'review' WHERE id = ?", (hamsters[-1].id,)))
    assert changed == set()


def test_redirects_rules_carry_the_sites_path():
    assert redirects("").splitlines()[1] == b"/p/:id  /p/view.html  200"
    assert redirects("https://user.gitlab.io/my-site/").splitlines()[1] == (
        b"/my-site/p/:id  /my-site/p/view.html  200")


def test_an_unknown_layout_is_refused(gallery, tmp_path):
    from ganpage.errors import GanpageError

    with pytest.raises(GanpageError, match="--permalinks 'folders'"):
        build(gallery, tmp_path / "site", permalinks="folders")
    assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_deploys_nginx_answers_a_permalink_with_the_view_page(gallery, tmp_path):
    """deploy/nginx/ganpage-site.conf: p/<id> and p/<id>.html get p/view.html (status 200:
    nginx cannot know the id), the shards are JSON, other missing paths 404.html."""
    if NGINX is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    site = tmp_path / "site"
    build(gallery, site, permalinks="shards", public_url="https://static.example.org")
    image = next(iter(shown(gallery)))
    view = (site / "p" / "view.html").read_text()
    with running_nginx(tmp_path / "nginx", "ganpage-site.conf",
                       {"root /srv/ganpage/site;": f"root {site};"}) as nginx, \
            httpx.Client(base_url=nginx.https, verify=nginx.tls(), timeout=10) as client:
        for path in (f"/p/{image}", f"/p/{image}.html", "/p/000000000000.html"):
            answer = client.get(path)
            assert (answer.status_code, answer.text) == (200, view), path
        shard = client.get("/" + shard_path(shard_of(image)))
        assert shard.headers["content-type"] == "application/json" and image in shard.json()
        for missing in ("/p/not-an-id", "/p/0123456789ab/x", "/shards/9999.json"):
            answer = client.get(missing)
            assert answer.status_code == 404 and answer.text == (site / "404.html").read_text()


# -- in a browser ---------------------------------------------------------------------------------


def check_permalink(page, url: str, record) -> None:
    """Open ``url``, a permalink: the picture of ``record``, its title, blurb and links."""
    saved = picture_record(record)
    title = f"{saved['this']} {saved['name']} {saved['does']} Not Exist"
    page.goto(url)
    image = page.locator("article.picture img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    assert image.get_attribute("src").endswith(f"/images/{record.relative_path}")
    assert image.get_attribute("alt") == saved["alt"]
    assert " ".join(page.inner_text("article.picture h1").split()) == title
    assert page.inner_text("article.picture blockquote p") == saved["blurb"]
    assert page.title() == title
    permalink = page.get_attribute("article.picture a[rel=bookmark]", "href")
    assert permalink.endswith(f"/p/{record.id}.html")
    assert page.get_attribute("article.picture h1 a", "href").endswith(
        f"/c/{record.category}.html")
    assert page.locator("#missing").count() == 0


def check_missing(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => !document.documentElement.classList.contains('picking')")
    assert page.locator("#missing").is_visible()
    assert "does not exist either" in page.inner_text("#missing")
    assert page.title().startswith("404")


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("host", ["netlify", "github-pages"])
def test_a_permalink_shows_its_picture_in_chromium(gallery, tmp_path, host):
    """Netlify-like (the site's _redirects, status 200, at the root) and GitHub Pages-like (its
    404.html, status 404, under a sub-path): the right picture, title and blurb at p/<id>.html
    and p/<id>, the not-found text for an unknown id, a random home page, and a picture without
    JavaScript."""
    from playwright.sync_api import sync_playwright

    github = host == "github-pages"
    public = tmp_path / "public"
    build(gallery, public / "mysite" if github else public, permalinks="shards",
          public_url="https://user.github.io/mysite" if github else "")
    records = sorted(shown(gallery).values(), key=lambda record: record.id)
    with static_host(public, "mysite/" if github else "", rewrites=not github) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            failures = watch(page)
            for record in records[::4]:
                check_permalink(page, f"{url}p/{record.id}.html", record)
            check_permalink(page, f"{url}p/{records[-1].id}", records[-1])
            check_missing(page, f"{url}p/000000000000.html")
            check_missing(page, f"{url}p/not-an-id")
            other = f"{url}no/such/page" if github else f"{url}no-such-page"  # 404.html's links:
            check_missing(page, other)  # from the public URL's path, else from the root
            seen = {shown_picture(page, url)} | {shown_picture(page) for _ in range(5)}
            assert len(seen) > 1 and all(src.endswith(".webp") for src in seen)
            documents = {f"{url}p/{r.id}{end}" for r in records for end in ("", ".html")}
            documents |= {f"{url}p/000000000000.html", f"{url}p/not-an-id", other}
            expected = {f"404 {document}" for document in documents} if github \
                else {f"404 {other}"}
            expected.add(f"404 {url}{shard_path(0)}")  # 000000000000's shard: none here
            assert set(failures) <= expected
            assert not any("Content Security Policy" in failure for failure in failures)
            without_js = browser.new_page(java_script_enabled=False)
            without_js.goto(f"{url}p/{records[3].id}.html")
            image = without_js.locator("article.picture img")
            assert image.get_attribute("src").endswith(f"images/{records[0].relative_path}")
            assert "needs JavaScript" in without_js.inner_text("main")
        finally:
            browser.close()


def grid_of(page) -> list[tuple[str, str, str, str]]:
    """(href, src, alt, width) of each picture of a category page's grid, as the browser has
    them (absolute)."""
    return [tuple(item) for item in page.eval_on_selector_all(
        "ul.grid li a", "links => links.map(a => [a.href, a.querySelector('img').src, "
        "a.querySelector('img').alt, a.querySelector('img').getAttribute('width')])")]


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_a_categorys_further_pages_are_drawn_as_the_pages_layout_has_them(gallery, tmp_path,
                                                                          monkeypatch):
    """GitHub Pages-like (no rewrites) under a sub-path: c/<slug>.html#page=N shows the
    pictures of the pages layout's c/<slug>.pageN.html, in order, with its pager; Next and
    Previous move between pages; without JavaScript the first page and its line."""
    from playwright.sync_api import sync_playwright

    few_a_page(monkeypatch)  # 8 hamsters: pages of 3, 3 and 2
    with Gallery.open(gallery) as opened:
        hamsters = opened.records(["approved"], category="hamster")
        opened.set_status("approved", [copied_picture(opened, hamsters[0], 9000 + n)
                                       for n in range(4)])
    public = tmp_path / "public"
    build(gallery, public / "pages", permalinks="pages")
    build(gallery, public / "mysite", permalinks="shards")
    with static_host(public, "mysite/", rewrites=False) as url, \
            sync_playwright() as playwright:
        pages_url = url.replace("/mysite/", "/pages/")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            failures = watch(page)
            expected = {}  # page number -> the pages layout's grid, its links made like ours
            for number, name in ((1, "hamster.html"), (2, "hamster.page2.html"),
                                 (3, "hamster.page3.html")):
                page.goto(f"{pages_url}c/{name}")
                expected[number] = [tuple(value.replace(pages_url, url) for value in item)
                                    for item in grid_of(page)]
            assert [len(grid) for grid in expected.values()] == [3, 3, 2]

            def drawn(number: int) -> list[tuple[str, str, str, str]]:
                page.wait_for_function("n => document.querySelector('ul.grid li a').href"
                                       ".endsWith(n)", arg=expected[number][0][0][-20:],
                                       timeout=10_000)
                page.wait_for_function("() => [...document.images].every(i => i.complete "
                                       "&& i.naturalWidth > 0)")
                return grid_of(page)

            page.goto(f"{url}c/hamster.html#page=2")
            assert drawn(2) == expected[2]
            assert page.inner_text("p.pager").split() == ["Previous", "Next"]
            page.click("p.pager >> text=Next")  # a fragment: the same page draws page 3
            assert drawn(3) == expected[3] and page.url.endswith("c/hamster.html#page=3")
            assert page.inner_text("p.pager").split() == ["Previous"]
            page.go_back()
            assert drawn(2) == expected[2]
            page.click("p.pager >> text=Previous")  # the first page: the file itself
            page.wait_for_url(f"{url}c/hamster.html")
            assert drawn(1) == expected[1]
            page.goto(f"{url}c/hamster.html#page=99")  # past the last: the last
            assert drawn(3) == expected[3]
            assert failures == []  # nothing missing, no CSP violation
            without_js = browser.new_page(java_script_enabled=False)
            without_js.goto(f"{url}c/hamster.html#page=2")
            assert grid_of(without_js) == expected[1]  # the first page, as the file has it
            assert "need JavaScript" in without_js.inner_text("main")
        finally:
            browser.close()


def test_an_id_that_is_not_ganpages_is_refused_in_one_line(gallery, tmp_path):
    from ganpage.errors import GanpageError

    with Gallery.open(gallery) as opened:
        record = opened.records(["approved"])[0]
        opened.add([(replace(record, id="other-tools-id", seed=9100),
                     opened.path_of(record).read_bytes())])
    with pytest.raises(GanpageError, match="not 12 hex digits.*--permalinks pages"):
        build(gallery, tmp_path / "site", permalinks="shards")
    assert build(gallery, tmp_path / "pages").counts.written  # the other layout takes it
