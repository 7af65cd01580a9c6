"""What each file of the static site holds: path -> a function making its bytes, by part (a
picture's page, a category's pages and its share of ``pictures.json``, the site-wide files), so
a full build and an incremental one (``static_site.py``) make each file the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ganpage.gallery import ImageRecord
from ganpage.site_permalinks import (
    CATEGORY_LIST,
    REDIRECTS,
    SHARD_PATH,
    SHARDS,
    VIEW_PAGE,
    category_list_json,
    redirects,
    shard_json,
    shard_of,
    shard_path,
)
from ganpage.web.config import SiteConfig
from ganpage.web.conventions import IMMUTABLE
from ganpage.web.hygiene import CONTENT_SECURITY_POLICY
from ganpage.web.links import Links
from ganpage.web.live_page import ASSETS, ISOLATION_HEADERS, PAGE, LivePage
from ganpage.web.pages import PER_PAGE, Category, PageRenderer
from ganpage.web.snapshot import CategoryView

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"}
LIVE_NAV = "Drawn live"  # the navigation's link to live.html
STATIC_FILES = ("site.css", "favicon.svg", "random.js")  # of web/static/, what the pages use
# what p/view.html, 404.html and the category pages add (shards)
SHARD_SCRIPTS = ("permalink.js", "picture.js", "category.js")
PICTURES_MANIFEST = "pictures.json"
PICTURES_SHARD = "pictures/{slug}.json"  # a category's ids, fetched by random.js
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
SITEMAP_PAGES = "sitemap-pages.xml"  # the site-wide pages, when each category has a sitemap
SITEMAP_SHARD = "sitemaps/{slug}{part}.xml"  # a category's pages, part "" then ".2", ".3"...
META_CSP_IGNORED = ("frame-ancestors",)  # browsers ignore these in a <meta> policy

Files = dict[str, Callable[[], bytes]]


@dataclass(frozen=True)
class CategoryCount:
    """A category as ``categories.html`` and the sitemap need it: no pictures, their count."""

    slug: str
    name: str
    count: int


@dataclass
class SiteSummary:
    """What the site-wide files need: every category (sorted by name) with its count, the home
    page's picture, the models' cards, and every shown picture's id (read only for a sitemap)."""

    categories: Sequence[Category]
    home: ImageRecord
    model_cards: dict[str, str]
    picture_ids: Callable[[], Iterable[str]]


def page_count(pictures: int) -> int:
    """How many pages a category of ``pictures`` has (one even when empty)."""
    return max(1, -(-pictures // PER_PAGE))


class StaticPages:
    """The site's files but the pictures, by part."""

    def __init__(self, config: SiteConfig, live: LivePage | None = None,
                 image_base_url: str = "", permalinks: str = "pages"):
        self.config = config
        self.live = live
        self.image_base_url = image_base_url  # set: pictures live there, not in the site
        self.sharded = permalinks == "shards"  # records in JSON shards, not a page a picture
        self.top = self.links(0)
        self.renderer = PageRenderer(config, links=self.top)
        self.meta_csp = meta_policy(image_base_url)

    def links(self, depth: int, base: str | None = None) -> Links:
        """The links of a page ``depth`` folders below the site's root."""
        return Links(base="../" * depth if base is None else base,
                     public_url=self.config.public_url,
                     style="sharded" if self.sharded else "static",
                     nav=((LIVE_NAV, PAGE),) if self.live else (),
                     image_base=self.image_base_url)

    def picture_path(self, image_id: str) -> str:
        return self.top.path("picture", id=image_id)

    def category_pages(self, pictures: int) -> int:
        """How many page files a category of ``pictures`` has: one a page, or with shards one
        (``static/category.js`` draws the others from its list)."""
        return 1 if self.sharded else page_count(pictures)

    def category_paths(self, slug: str, pictures: int) -> list[str]:
        """The paths of a category's page files, the first one ``c/<slug>.html``."""
        return [self.top.path("category" if page == 1 else "category_page", slug=slug,
                              page=page) for page in range(1, self.category_pages(pictures) + 1)]

    def permalink_path(self, image_id: str) -> str:
        """The file that holds a picture's permalink: its page, or its shard."""
        return shard_path(shard_of(image_id)) if self.sharded else self.picture_path(image_id)

    def static_files(self) -> Files:
        names = STATIC_FILES + SHARD_SCRIPTS if self.sharded else STATIC_FILES
        files = {self.top.path("static", name=name): _static_file(name) for name in names}
        if self.live:
            files.update(live_files(self.live))
        return files

    def picture_files(self, records: Iterable[ImageRecord]) -> Files:
        return {self.picture_path(record.id): self._picture(record) for record in records}

    def shard_files(self, shards: dict[int, list[ImageRecord]]) -> Files:
        """Each shard's file from every shown record of it (``site_permalinks.py``)."""
        return {shard_path(shard): (lambda records=records: shard_json(records))
                for shard, records in shards.items() if records}

    def fullest_folder(self, categories: Sequence[Category], pictures: int) -> tuple[str, int]:
        """The folder of the site with the most files, from the counts (Netlify's limit is
        per folder): ``p/`` (a page a picture), ``shards/``, ``c/`` (a category's pages) or
        a category's pictures."""
        lists = len(categories) if self.sharded else 0  # c/<slug>.json beside its page
        folders = [("c/", lists + sum(self.category_pages(view.count) for view in categories)),
                   ("shards/", min(SHARDS, pictures)) if self.sharded else ("p/", pictures)]
        if not self.image_base_url and categories:
            biggest = max(categories, key=lambda view: view.count)
            folders.append((f"images/{biggest.slug}/", biggest.count))
        return max(folders, key=lambda folder: folder[1])

    def category_files(self, view: CategoryView, sitemaps: bool = False) -> Files:
        """The category's pages (with shards: its first page and its grid list), its list of
        ids for random.js, and with ``sitemaps`` (see ``sitemap_split``) its sitemaps."""
        files = {path: self._category(view, page, sitemaps)
                 for page, path in enumerate(self.category_paths(view.slug, view.count), 1)}
        if self.sharded:
            files[CATEGORY_LIST.format(slug=view.slug)] = lambda: category_list_json(
                view, view.records)
        files[PICTURES_SHARD.format(slug=view.slug)] = lambda: _json(
            [record.id for record in view.records])
        return files | self.category_sitemaps(view) if sitemaps else files

    def site_files(self, summary: SiteSummary) -> Files:
        """Every file that is not one picture's or one category's: written on every build."""
        files: Files = {
            "index.html": lambda: self._index(summary.home),
            self.top.path("categories"): lambda: self._categories(summary.categories),
            self.top.path("about"): lambda: self._about(summary.model_cards),
            "404.html": lambda: self._not_found(summary.home),
            PICTURES_MANIFEST: lambda: self._pictures_manifest(summary.categories),
            "robots.txt": self._robots, "_headers": self._headers, ".nojekyll": lambda: b""}
        if self.sharded:
            files[VIEW_PAGE] = lambda: self._permalink_page(summary.home, self._view_links())
            files[REDIRECTS] = lambda: redirects(self.config.public_url)
        if self.config.public_url:
            files.update(self._sitemaps(summary))
        return files

    def _view_links(self) -> Links:
        """``p/view.html`` answers ``p/<id>.html``, and a host may answer ``p/<id>/`` with it
        too: with a public URL its links start at that URL's path, so they hold at any depth."""
        if self.config.public_url:
            return self.links(0, urlsplit(self.config.public_url).path.rstrip("/") + "/")
        return self.links(1)

    def _page(self, depth: int) -> dict:
        return {"links": self.links(depth), "meta_csp": self.meta_csp}

    def _picture(self, record: ImageRecord) -> Callable[[], bytes]:
        return lambda: self.renderer.picture_html(record, **self._page(1)).encode()

    def _category(self, view: CategoryView, page: int, sitemaps: bool) -> Callable[[], bytes]:
        shown = view.records[(page - 1) * PER_PAGE: page * PER_PAGE]
        if self.sharded:
            return lambda: (self.renderer.category_html(
                view, shown, page, template="category_sharded.html",
                grid=self._grid(view, sitemaps), **self._page(1)) or "").encode()
        return lambda: (self.renderer.category_html(view, shown, page, **self._page(1))
                        or "").encode()

    def _grid(self, view: CategoryView, sitemaps: bool) -> dict:
        """What ``category_sharded.html`` tells ``static/category.js``: the paths from the
        site's root of the category's list, a picture's page and file, the first page and the
        others; the pictures a page; and for the line shown without JavaScript, the number of
        pages and the sitemap that lists the category's pictures (none without a public URL)."""
        sitemap = ""
        if self.config.public_url:
            sitemap = self._category_sitemap_names(view)[0] if sitemaps else "sitemap.xml"
        return {"list": CATEGORY_LIST.format(slug=view.slug),
                "picture": self.top.path("picture", id="{id}"),
                "image": (f"{self.image_base_url}/{{path}}" if self.image_base_url
                          else self.top.path("image", path="{path}")),
                "first": self.top.path("category", slug=view.slug),
                "page": self.top.path("category_page", slug=view.slug, page="{page}"),
                "per_page": PER_PAGE, "pages": page_count(view.count),
                "sitemap": "../" + sitemap if sitemap else ""}

    def _index(self, home: ImageRecord) -> bytes:
        """The home page: a picture chosen by its id (the page without JavaScript, the same
        on every build while that picture is shown), ``random.js`` swapping in another."""
        return self.renderer.picture_html(home, template="static_index.html",
                                          **self._page(0), **self._shards(self.top)).encode()

    def _shards(self, links: Links) -> dict:
        """What ``_picture_template.html`` needs to show any picture from its shard (sharded
        sites only): the paths, from the site's root, with ``{name}`` to fill in."""
        if not self.sharded:
            return {}
        return {"shards": {"shard": SHARD_PATH, "picture": links.path("picture", id="{id}"),
                           "category": links.path("category", slug="{slug}"),
                           "image": (f"{self.image_base_url}/{{path}}" if self.image_base_url
                                     else links.path("image", path="{path}"))}}

    def _permalink_page(self, home: ImageRecord, links: Links, status: int | None = None,
                        detail: str = "No picture has this address.") -> bytes:
        """p/view.html (``status`` None) or a sharded site's 404.html (``status`` 404): the
        not-found text, hidden on the view page until its script finds no such picture; the
        script, and the home page's picture for a visitor without JavaScript."""
        return self.renderer.picture_html(
            home, template="permalink.html", status=status, detail=detail, links=links,
            meta_csp=self.meta_csp, **self._shards(links)).encode()

    def _categories(self, categories: Sequence[Category]) -> bytes:
        return self.renderer.render("categories.html", categories=categories,
                                    **self._page(0)).encode()

    def _about(self, model_cards: dict[str, str]) -> bytes:
        return self.renderer.about_html(model_cards, live=self.live is not None,
                                        **self._page(0)).encode()

    def _not_found(self, home: ImageRecord) -> bytes:
        """Hosts answer any missing path with 404.html, at any depth: with a public URL its
        links start at that URL's path (``/mysite/``), else they are relative to the root; a
        sharded site's start at ``/``, since it also shows permalinks (GitHub Pages has no
        rewrites) at ``p/<id>.html``, where relative links would point into ``p/``."""
        if self.config.public_url:
            base = urlsplit(self.config.public_url).path.rstrip("/") + "/"
        else:
            base = "/" if self.sharded else ""
        detail = "No page has this address."
        if self.sharded:
            return self._permalink_page(home, self.links(0, base), 404, detail)
        return self.renderer.render("error.html", status=404, detail=detail,
                                    links=self.links(0, base), meta_csp=self.meta_csp).encode()

    def _pictures_manifest(self, categories: Sequence[Category]) -> bytes:
        """What random.js picks from: a random category, then a random picture of it from
        that category's own list (as ``ganpage serve`` does), whose page is ``page`` with the
        id put in. One list per category: a new picture rewrites its category's list only,
        and a visitor fetches one category's ids, not the whole gallery's."""
        manifest: dict[str, object] = {"page": self.picture_path("{id}"), "categories": [
            {"slug": view.slug, "pictures": PICTURES_SHARD.format(slug=view.slug)}
            for view in categories]}
        if self.sharded:  # no page to fetch: random.js reads the picture's shard
            manifest["sharded"] = True
        return _json(manifest)

    def _robots(self) -> bytes:
        lines = ["User-agent: *", "Allow: /"]
        if self.config.public_url:
            lines.append(f"Sitemap: {self.config.public_url}/sitemap.xml")
        return ("\n".join(lines) + "\n").encode()

    def _headers(self) -> bytes:
        """Netlify's and Cloudflare Pages' ``_headers``: the server's security headers, and
        pictures cached for good (their name is their recipe's hash). The policy stays in each
        page's meta tag: both hosts add every matching rule's headers, and a second policy for
        all pages would block the live page's WebAssembly; X-Frame-Options forbids framing."""
        rules = {"/*": SECURITY_HEADERS,
                 "/images/*": IMMUTABLE}
        if self.live:  # threads for onnxruntime-web (Cloudflare serves live.html as /live)
            rules.update({f"/{PAGE}": ISOLATION_HEADERS, "/live": ISOLATION_HEADERS,
                          f"/{ASSETS}/*": ISOLATION_HEADERS})
        return "".join(f"{pattern}\n" + "".join(f"  {name}: {value}\n"
                                                for name, value in headers.items())
                       for pattern, headers in rules.items()).encode()

    def sitemap_split(self, categories: Sequence[Category]) -> bool:
        """Whether the site has a sitemap and more URLs than one sitemap takes: then each
        category has its own (``sitemaps/<slug>.xml``), so a change rewrites its category's
        only and no build has to list every id."""
        urls = len(self._top_pages())
        urls += sum(self.category_pages(view.count) + view.count for view in categories)
        return bool(self.config.public_url) and urls > SITEMAP_LIMIT

    def category_sitemaps(self, view: CategoryView) -> Files:
        """A category's pages and its pictures' pages, 50,000 URLs a file."""
        urls: list[str] = []

        def chunk(n: int) -> bytes:
            if not urls:
                urls.extend(self._urls(sorted(
                    self.category_paths(view.slug, view.count)
                    + [self.picture_path(record.id) for record in view.records])))
            return _sitemap(urls[n * SITEMAP_LIMIT:(n + 1) * SITEMAP_LIMIT])

        return {name: (lambda n=n: chunk(n))
                for n, name in enumerate(self._category_sitemap_names(view))}

    def _category_sitemap_names(self, view: Category) -> list[str]:
        chunks = -(-(self.category_pages(view.count) + view.count) // SITEMAP_LIMIT)
        return [SITEMAP_SHARD.format(slug=view.slug, part="" if n == 1 else f".{n}")
                for n in range(1, chunks + 1)]

    def _top_pages(self) -> list[str]:
        pages = ["index.html", self.top.path("categories"), self.top.path("about")]
        return pages + [PAGE] if self.live else pages

    def _urls(self, paths: Iterable[str]) -> list[str]:
        return [self.config.public_url + "/" + ("" if p == "index.html" else p) for p in paths]

    def page_paths(self, summary: SiteSummary) -> list[str]:
        """Every page a sitemap lists (all but 404.html), sorted."""
        pages = self._top_pages()
        for view in summary.categories:
            pages += self.category_paths(view.slug, view.count)
        pages += (self.picture_path(image_id) for image_id in summary.picture_ids())
        return sorted(pages)

    def _sitemaps(self, summary: SiteSummary) -> Files:
        """sitemap.xml of every page; past 50,000 URLs, an index of ``sitemap-pages.xml`` (the
        site-wide pages) and each category's own (made with its pages, ``category_sitemaps``)."""
        if not self.sitemap_split(summary.categories):
            return {"sitemap.xml": lambda: _sitemap(self._urls(self.page_paths(summary)))}
        names = [SITEMAP_PAGES] + [name for view in summary.categories
                                   for name in self._category_sitemap_names(view)]
        return {SITEMAP_PAGES: lambda: _sitemap(self._urls(sorted(self._top_pages()))),
                "sitemap.xml": lambda: _sitemap_index(self._urls(names))}


def meta_policy(image_base_url: str = "") -> str:
    """The server's Content-Security-Policy as a page's meta tag holds it: without what
    browsers ignore there, and with the pictures' origin when they are served from elsewhere."""
    parts = [part for part in CONTENT_SECURITY_POLICY.split("; ")
             if part.split(" ")[0] not in META_CSP_IGNORED]
    if image_base_url:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(image_base_url))
        parts = [f"{part} {origin}" if part.startswith("img-src ") else part for part in parts]
    return "; ".join(parts)


def live_files(live: LivePage) -> Files:
    """``live.html`` and its ``live/`` folder (scripts, runtime, the model's ONNX), as
    ``write_live_page`` writes them, for the site's writer to track."""
    files: Files = {
        PAGE: lambda: live.html().encode(),
        f"{ASSETS}/live.json": lambda: json.dumps(live.info()).encode()}
    for name, source in live.files().items():
        files[f"{ASSETS}/{name}"] = source.read_bytes
    return files


def _json(value: object) -> bytes:
    return (json.dumps(value, separators=(",", ":")) + "\n").encode()


def _static_file(name: str) -> Callable[[], bytes]:
    return lambda: (resources.files("ganpage.web") / "static" / name).read_bytes()


def _sitemap(urls: Sequence[str]) -> bytes:
    body = "".join(f"<url><loc>{escape(url)}</loc></url>\n" for url in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{body}</urlset>\n").encode()


def _sitemap_index(urls: Sequence[str]) -> bytes:
    body = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>\n" for url in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{body}</sitemapindex>\n").encode()
