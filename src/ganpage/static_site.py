"""``ganpage build-site``: the gallery's showable pictures as a static site for any host.

The pages are ``ganpage serve``'s, rendered by the same ``PageRenderer`` with relative links
(``web/links.py``), so the site works from any sub-path. ``index.html`` holds one picture (the
page without JavaScript) and ``static/random.js`` swaps in a random one from ``pictures.json``.
No page has an inline script or style, so a strict Content-Security-Policy holds (each page
carries one in a meta tag; ``_headers`` adds the other security headers on Netlify and
Cloudflare Pages). With a live model the site gains ``live.html`` (``web/live_page.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord
from ganpage.progress import progress_bar
from ganpage.site_writer import SiteWriter, WriteCounts
from ganpage.web.config import SiteConfig
from ganpage.web.conventions import IMMUTABLE
from ganpage.web.hygiene import CONTENT_SECURITY_POLICY
from ganpage.web.links import Links
from ganpage.web.live_page import ASSETS, ISOLATION_HEADERS, PAGE, RUNTIMES, LivePage
from ganpage.web.pages import PER_PAGE, PageRenderer
from ganpage.web.snapshot import Snapshot

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"}
LIVE_NAV = "Drawn live"  # the navigation's link to live.html
LARGE_FILE_BYTES = 25 * 2**20  # Cloudflare Pages' limit per file (docs/static-site.md)
STATIC_FILES = ("site.css", "favicon.svg", "random.js")  # of web/static/, what the pages use
PICTURES_MANIFEST = "pictures.json"
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
META_CSP_IGNORED = ("frame-ancestors",)  # browsers ignore these in a <meta> policy


@dataclass
class SiteReport:
    """What a build made: file counts, pictures shown and skipped, and what was left out."""

    counts: WriteCounts
    pictures: int = 0
    categories: int = 0
    skipped: list[str] = field(default_factory=list)  # "<id>: why"
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SiteOptions:
    public_url: str = ""  # https://user.github.io/mysite: absolute URLs in OpenGraph, sitemap
    statuses: tuple[str, ...] = ("approved",)
    site_name: str = "This X Does Not Exist"
    live_model: str = ""  # set: live.html draws this model's pictures in the browser
    live_webgpu: bool = True  # False: live.html runs WebAssembly only (no 28.7 MB WebGPU build)


def build_site(gallery_root: Path, out: Path, options: SiteOptions | None = None,
               show_progress: bool = True) -> SiteReport:
    """Build (or bring up to date) the static site of ``gallery_root`` in ``out``."""
    options = options or SiteOptions()
    public_url = checked_public_url(options.public_url)
    _check_folders(gallery_root, out)
    live = _live_page(options.live_model, options.site_name, options.live_webgpu)
    with Gallery.open(gallery_root) as gallery:
        snapshot = Snapshot.load(gallery, options.statuses)
        if not snapshot.by_id:
            raise GanpageError(f"{gallery_root} has no {' or '.join(options.statuses)} picture "
                               "to put on a site; approve some with `ganpage gallery approve "
                               f"{gallery_root} --all`, or pass --show pending")
        with SiteWriter(out) as writer:
            report = SiteReport(writer.counts)
            config = SiteConfig(site_name=options.site_name, public_url=public_url,
                                statuses=options.statuses)
            _write_site(gallery, snapshot, writer, report, config, live, show_progress)
            report.counts = writer.finish()
    report.pictures, report.categories = len(snapshot.by_id), len(snapshot.category_list)
    report.notes.extend(_large_file_notes(out))
    if not public_url:
        report.notes.append("no --public-url: sitemap.xml and OpenGraph's absolute URLs left "
                            "out, 404.html links relative to the site's root")
    return report


def _write_site(gallery: Gallery, snapshot: Snapshot, writer: SiteWriter, report: SiteReport,
                config: SiteConfig, live: LivePage | None, show_progress: bool) -> None:
    """The pictures first, then the pages (which link to them), each file only if changed."""
    with progress_bar(transient=True) as bar:
        task = bar.add_task("copying pictures", total=len(snapshot.by_id), unit="file",
                            stats="", visible=show_progress)
        _copy_images(gallery, snapshot, writer, report, lambda: bar.advance(task))
        if not snapshot.by_id:
            raise GanpageError(f"no picture of {gallery.root} could be copied "
                               f"({report.skipped[0]}); run `ganpage gallery verify "
                               f"{gallery.root}`")
        files = StaticPages(config, snapshot, live).files()
        writer.claim(list(files))
        task = bar.add_task("writing pages", total=len(files), unit="file", stats="",
                            visible=show_progress)
        for path, make in files.items():
            writer.write(path, make())
            bar.advance(task)


def checked_public_url(url: str) -> str:
    """``url`` without a trailing slash, or a GanpageError naming what is wrong with it."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment:
        raise GanpageError(f"--public-url {url!r} must be an http(s) address of the site's "
                           "folder without query or fragment, e.g. https://user.github.io/mysite")
    return url.rstrip("/")


def _live_page(model: str, site_name: str, webgpu: bool) -> LivePage | None:
    """The live page of ``model``, its ONNX export made (or found in the cache) now, so a
    model that cannot be exported stops the build before anything is written."""
    if not model:
        return None
    runtimes = RUNTIMES if webgpu else tuple(r for r in RUNTIMES if r != "webgpu")
    page = LivePage(model, site_name, home="./", runtimes=runtimes)
    page.manifest  # noqa: B018 (exports the model)
    return page


def _large_file_notes(out: Path) -> list[str]:
    """A note for each file of the site that some free static hosts refuse (Cloudflare Pages:
    25 MiB a file), with what to do about it."""
    notes = []
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.stat().st_size > LARGE_FILE_BYTES:
            name = path.relative_to(out).as_posix()
            fix = (" (build with --no-webgpu to leave the WebGPU runtime out)"
                   if "asyncify" in name else "")
            notes.append(f"{name} is {path.stat().st_size / 2**20:.1f} MiB, more than "
                         f"Cloudflare Pages takes (25 MiB a file){fix}; GitHub Pages, Netlify "
                         "and nginx serve it")
    return notes


def _check_folders(gallery_root: Path, out: Path) -> None:
    gallery, site = gallery_root.resolve(), out.resolve()
    if site == gallery or gallery in site.parents or site in gallery.parents:
        raise GanpageError(f"the site folder {out} and the gallery {gallery_root} must not "
                           "contain each other; choose another OUT")


def _copy_images(gallery: Gallery, snapshot: Snapshot, writer: SiteWriter, report: SiteReport,
                 advance: Callable[[], None]) -> None:
    """Copy each picture's file, checked against its sha256; a missing or damaged one is left
    out of the site and counted in ``report.skipped``."""
    records = list(snapshot.by_id.values())
    writer.claim([image_path(record) for record in records])
    for record in records:
        if not writer.copy(image_path(record), gallery.path_of(record), record.sha256):
            report.skipped.append(f"{record.id}: {record.relative_path} is missing or does not "
                                  "match its sha256")
            snapshot.remove(record.id)
        advance()


def image_path(record: ImageRecord) -> str:
    return Links(style="static").path("image", path=record.relative_path)


class StaticPages:
    """Every file of the site but the pictures: path -> a function making its bytes."""

    def __init__(self, config: SiteConfig, snapshot: Snapshot, live: LivePage | None = None):
        self.config = config
        self.snapshot = snapshot
        self.live = live
        self.renderer = PageRenderer(config, links=self.links(0))
        self.meta_csp = "; ".join(
            part for part in CONTENT_SECURITY_POLICY.split("; ")
            if part.split(" ")[0] not in META_CSP_IGNORED)

    def links(self, depth: int, base: str | None = None) -> Links:
        """The links of a page ``depth`` folders below the site's root."""
        return Links(base="../" * depth if base is None else base,
                     public_url=self.config.public_url, style="static",
                     nav=((LIVE_NAV, PAGE),) if self.live else ())

    def files(self) -> dict[str, Callable[[], bytes]]:
        """In the order they are written: each file before the pages that link to it."""
        top = self.links(0)
        files: dict[str, Callable[[], bytes]] = {}
        for name in STATIC_FILES:
            files[top.path("static", name=name)] = _static_file(name)
        if self.live:
            files.update(live_files(self.live))
        for record in self.snapshot.by_id.values():
            files[top.path("picture", id=record.id)] = self._picture(record)
        for view in self.snapshot.category_list:
            for page in range(1, max(1, -(-len(view.records) // PER_PAGE)) + 1):
                path = top.path("category" if page == 1 else "category_page", slug=view.slug,
                                page=page)
                files[path] = self._category(view, page)
        files.update({
            "index.html": self._index, top.path("categories"): self._categories,
            top.path("about"): self._about, "404.html": self._not_found,
            PICTURES_MANIFEST: self._pictures_manifest, "robots.txt": self._robots,
            "_headers": self._headers, ".nojekyll": lambda: b""})
        if self.config.public_url:
            files.update(self._sitemaps(list(files)))
        return files

    def _page(self, depth: int) -> dict:
        return {"links": self.links(depth), "meta_csp": self.meta_csp}

    def _picture(self, record: ImageRecord) -> Callable[[], bytes]:
        return lambda: self.renderer.picture_html(record, **self._page(1)).encode()

    def _category(self, view, page: int) -> Callable[[], bytes]:
        shown = view.records[(page - 1) * PER_PAGE: page * PER_PAGE]
        return lambda: (self.renderer.category_html(view, shown, page, **self._page(1))
                        or "").encode()

    def _index(self) -> bytes:
        """The home page: a picture chosen by its id (the page without JavaScript, the same
        on every build while that picture is shown), ``random.js`` swapping in another."""
        first = min(self.snapshot.by_id.values(), key=lambda record: record.id)
        return self.renderer.picture_html(first, template="static_index.html",
                                          **self._page(0)).encode()

    def _categories(self) -> bytes:
        return self.renderer.render("categories.html", categories=self.snapshot.category_list,
                                    **self._page(0)).encode()

    def _about(self) -> bytes:
        return self.renderer.about_html(self.snapshot.model_cards, live=self.live is not None,
                                        **self._page(0)).encode()

    def _not_found(self) -> bytes:
        """Hosts answer any missing path with 404.html, at any depth: with a public URL its
        links start at that URL's path (``/mysite/``), else they are relative to the root."""
        base = urlsplit(self.config.public_url).path.rstrip("/") + "/" \
            if self.config.public_url else ""
        return self.renderer.render("error.html", status=404, detail="No page has this address.",
                                    links=self.links(0, base), meta_csp=self.meta_csp).encode()

    def _pictures_manifest(self) -> bytes:
        """What random.js picks from: a random category, then a random picture of it (as
        ``ganpage serve`` does), whose page is ``page`` with the id put in."""
        manifest = {"page": self.links(0).path("picture", id="{id}"), "categories": [
            {"slug": view.slug, "pictures": [record.id for record in view.records]}
            for view in self.snapshot.category_list]}
        return (json.dumps(manifest, separators=(",", ":")) + "\n").encode()

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

    def _sitemaps(self, paths: Sequence[str]) -> dict[str, Callable[[], bytes]]:
        """sitemap.xml of every page (an index of numbered sitemaps past 50,000 URLs)."""
        pages = sorted(path for path in paths if path.endswith(".html") and path != "404.html")
        urls = [self.config.public_url + "/" + ("" if p == "index.html" else p) for p in pages]
        if len(urls) <= SITEMAP_LIMIT:
            return {"sitemap.xml": lambda: _sitemap(urls)}
        chunks = [urls[i:i + SITEMAP_LIMIT] for i in range(0, len(urls), SITEMAP_LIMIT)]
        files: dict[str, Callable[[], bytes]] = {
            f"sitemap-{n}.xml": (lambda chunk=chunk: _sitemap(chunk))
            for n, chunk in enumerate(chunks, 1)}
        files["sitemap.xml"] = lambda: _sitemap_index(
            [f"{self.config.public_url}/sitemap-{n}.xml" for n in range(1, len(chunks) + 1)])
        return files


def live_files(live: LivePage) -> dict[str, Callable[[], bytes]]:
    """``live.html`` and its ``live/`` folder (scripts, runtime, the model's ONNX), as
    ``write_live_page`` writes them, for the site's writer to track."""
    files: dict[str, Callable[[], bytes]] = {
        PAGE: lambda: live.html().encode(),
        f"{ASSETS}/live.json": lambda: json.dumps(live.info()).encode()}
    for name, source in live.files().items():
        files[f"{ASSETS}/{name}"] = source.read_bytes
    return files


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
