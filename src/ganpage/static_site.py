"""``ganpage build-site``: the gallery's showable pictures as a static site for any host.

The pages are ``ganpage serve``'s, rendered by the same ``PageRenderer`` with relative links
(``web/links.py``), so the site works from any sub-path. ``index.html`` holds one picture (the
page without JavaScript) and ``static/random.js`` swaps in a random one from ``pictures.json``.
No page has an inline script or style, so a strict Content-Security-Policy holds (each page
carries one in a meta tag; ``_headers`` adds the other security headers on Netlify and
Cloudflare Pages). With a live model the site gains ``live.html`` (``web/live_page.py``).

A rebuild reads the gallery's change log (``site_changes.py``) and makes only the files the
changed pictures touch: their pages and pictures, their categories' pages and lists, and the
site-wide files (``static_pages.SiteSummary``, read by a few SQL queries); the first build, or
one the log cannot answer, makes everything from a ``Snapshot`` of the gallery. With
``--permalinks shards`` a picture's permalink is a record in a JSON shard instead of a page
(``site_permalinks.py``): a rebuild makes the shards of the changed pictures again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord
from ganpage.progress import progress_bar
from ganpage.site_changes import Rebuild, build_key, plan_rebuild
from ganpage.site_hosts import host_notes
from ganpage.site_permalinks import LAYOUTS, shard_files_of, shard_id_range, shard_of
from ganpage.site_writer import BuiltFrom, Scope, SiteWriter, WriteCounts
from ganpage.static_pages import (
    PICTURES_SHARD,
    SITEMAP_PAGES,
    SITEMAP_SHARD,
    CategoryCount,
    Files,
    SiteSummary,
    StaticPages,
)
from ganpage.web.config import SiteConfig
from ganpage.web.links import Links
from ganpage.web.live_page import RUNTIMES, LivePage
from ganpage.web.snapshot import CategoryView, Snapshot


@dataclass
class SiteReport:
    """What a build made: file counts, pictures shown and skipped, and what was left out."""

    counts: WriteCounts
    pictures: int = 0
    categories: int = 0
    skipped: list[str] = field(default_factory=list)  # "<id>: why"
    notes: list[str] = field(default_factory=list)
    incremental: bool = False  # only the changed pictures' files were made
    fullest_folder: tuple[str, int] = ("", 0)  # (folder, files in it), from the counts


@dataclass(frozen=True)
class SiteOptions:
    public_url: str = ""  # https://user.github.io/mysite: absolute URLs in OpenGraph, sitemap
    statuses: tuple[str, ...] = ("approved",)
    site_name: str = "This X Does Not Exist"
    live_model: str = ""  # set: live.html draws this model's pictures in the browser
    live_webgpu: bool = True  # False: live.html runs WebAssembly only (no 28.7 MB WebGPU build)
    full: bool = False  # make every file, even where the change log says what changed
    image_base_url: str = ""  # set: pages link pictures there (a CDN), none copied into the site
    permalinks: str = "pages"  # or "shards": records in JSON shards, one page shows any


class NeedsFullBuild(Exception):
    """An incremental build found what only a full build makes right: a changed picture's
    file missing or damaged (the full build leaves it out of every page and count), or the
    sitemap's layout changing (one file, or one per category past 50,000 URLs)."""


def build_site(gallery_root: Path, out: Path, options: SiteOptions | None = None,
               show_progress: bool = True) -> SiteReport:
    """Build (or bring up to date) the static site of ``gallery_root`` in ``out``."""
    options = options or SiteOptions()
    public_url = checked_public_url(options.public_url)
    image_base_url = checked_public_url(options.image_base_url, "--image-base-url")
    _check_folders(gallery_root, out)
    if options.permalinks not in LAYOUTS:
        raise GanpageError(f"--permalinks {options.permalinks!r}: choose one of "
                           f"{', '.join(LAYOUTS)}")
    live = _live_page(options.live_model, options.site_name, options.live_webgpu)
    config = SiteConfig(site_name=options.site_name, public_url=public_url,
                        statuses=options.statuses)
    key = site_key(gallery_root, options, live)
    with Gallery.open(gallery_root) as gallery, SiteWriter(out) as writer:
        rebuild = plan_rebuild(gallery, writer.built_from, key)
        pages = StaticPages(config, live, image_base_url, options.permalinks)
        report = SiteReport(writer.counts)
        if rebuild.touched is not None and not options.full:
            try:
                _write_changes(gallery, rebuild, pages, writer, report, key)
            except NeedsFullBuild:
                writer.restart()
        if not report.incremental:
            _write_everything(gallery, rebuild, pages, writer, report, key, show_progress)
        totals = replace(writer.totals(), fullest_folder=report.fullest_folder)
        report.notes.extend(host_notes(totals, pictures_inside=not image_base_url,
                                       sharded=pages.sharded))
    if not public_url:
        report.notes.append("no --public-url: sitemap.xml and OpenGraph's absolute URLs left "
                            "out, " + ("404.html links start at the host's root (so on GitHub "
                                       "Pages, which shows permalinks through 404.html, they "
                                       "work only from a site at the host's root)"
                                       if pages.sharded else
                                       "404.html links relative to the site's root"))
    return report


def site_key(gallery_root: Path, options: SiteOptions, live: LivePage | None) -> str:
    """The key a build of these options records: another key, another full build."""
    return build_key(gallery_root, {**asdict(options), "full": False,
                                    "live": live.info() if live else None})


def _write_everything(gallery: Gallery, rebuild: Rebuild, pages: StaticPages,
                      writer: SiteWriter, report: SiteReport, key: str,
                      show_progress: bool) -> None:
    """The full build: every file from a snapshot of the gallery; the files of earlier builds
    that it did not make are removed."""
    statuses = pages.config.statuses
    snapshot = Snapshot.load(gallery, statuses)
    if not snapshot.by_id:
        raise GanpageError(f"{gallery.root} has no {' or '.join(statuses)} picture "
                           "to put on a site; approve some with `ganpage gallery approve "
                           f"{gallery.root} --all`, or pass --show pending")
    writer.forget_built_from()  # killed from here on, the next build is a full one
    with progress_bar(transient=True) as bar:
        task = bar.add_task("copying pictures", total=len(snapshot.by_id), unit="file",
                            stats="", visible=show_progress and not pages.image_base_url)
        if not pages.image_base_url:  # else they are served from there, as the gallery has them
            _copy_images(gallery, snapshot, writer, report, lambda: bar.advance(task))
        if not snapshot.by_id:
            raise GanpageError(f"no picture of {gallery.root} could be copied "
                               f"({report.skipped[0]}); run `ganpage gallery verify "
                               f"{gallery.root}`")
        files = pages.static_files() | _permalink_files(pages, snapshot.by_id.values())
        split = pages.sitemap_split(snapshot.category_list)
        for view in snapshot.category_list:
            files |= pages.category_files(view, sitemaps=split)
        files |= pages.site_files(SiteSummary(
            snapshot.category_list, min(snapshot.by_id.values(), key=lambda r: r.id),
            snapshot.model_cards, lambda: snapshot.by_id.keys()))
        task = bar.add_task("writing pages", total=len(files), unit="file", stats="",
                            visible=show_progress)
        _write_files(writer, files, lambda: bar.advance(task))
    # a skipped picture is in the index's counts: only a full build leaves it out
    writer.finish(BuiltFrom(key, None if report.skipped else rebuild.seq))
    report.pictures, report.categories = len(snapshot.by_id), len(snapshot.category_list)
    report.fullest_folder = pages.fullest_folder(snapshot.category_list, report.pictures)


def _write_changes(gallery: Gallery, rebuild: Rebuild, pages: StaticPages, writer: SiteWriter,
                   report: SiteReport, key: str) -> None:
    """The incremental build: the files of the pictures and categories in ``rebuild.touched``
    and the site-wide files; the files of earlier builds in that scope that it did not make
    (pages of pictures no longer shown, a category's pages past its end) are removed."""
    statuses = pages.config.statuses
    summary = _summary(gallery, statuses)
    if summary is None:
        return  # nothing to show: the full build says so
    touched_ids = sorted({image_id for image_id, _ in rebuild.touched})  # a move: 2 entries
    shown = [record for record in map(gallery.get, touched_ids)
             if record is not None and record.status in statuses]
    split = pages.sitemap_split(summary.categories)
    if split != writer.has(SITEMAP_PAGES):  # the sitemap's layout changes: every category's
        raise NeedsFullBuild("sitemap layout")
    if not pages.image_base_url:
        _copy_changed_images(gallery, shown, writer)
    views = [CategoryView(slug, records[0].category_name, records)
             for slug in sorted({category for _, category in rebuild.touched})
             if (records := gallery.records(statuses, category=slug))]
    if pages.sharded:  # each touched shard again, from all of its records
        files = pages.shard_files({shard: gallery.records_by_id(statuses, *shard_id_range(shard))
                                   for shard in sorted({shard_of(i) for i in touched_ids})})
    else:  # static and live files change only with the key
        files = pages.picture_files(shown)
    for view in views:
        files |= pages.category_files(view, sitemaps=split)
    files |= pages.site_files(summary)
    _write_files(writer, files, lambda: None)
    writer.finish(BuiltFrom(key, rebuild.seq), _scope(rebuild, pages, files))
    report.incremental = True
    report.pictures = sum(view.count for view in summary.categories)
    report.categories = len(summary.categories)
    report.fullest_folder = pages.fullest_folder(summary.categories, report.pictures)


def _copy_changed_images(gallery: Gallery, shown: list[ImageRecord], writer: SiteWriter) -> None:
    writer.claim(image_path(record) for record in shown)
    for record in shown:
        if not writer.copy(image_path(record), gallery.path_of(record), record.sha256):
            raise NeedsFullBuild(f"{record.id}: its file is missing or damaged")


def _summary(gallery: Gallery, statuses: tuple[str, ...]) -> SiteSummary | None:
    """The site-wide files' data from the index, without reading every picture."""
    home = gallery.first_by_id(statuses)
    if home is None:
        return None
    counts = [CategoryCount(*row) for row in gallery.category_counts(statuses)]
    categories = sorted(counts, key=lambda view: view.name.lower())  # as Snapshot sorts
    return SiteSummary(categories, home, gallery.model_cards(), lambda: gallery.ids(statuses))


def _scope(rebuild: Rebuild, pages: StaticPages, files: Files) -> Scope:
    """What an incremental build answers for: what it wrote, each touched picture's page and
    file (under the category it was in or is in now), each touched category's pages, list and
    sitemaps."""
    scope = Scope(paths=set(files), prefixes={"sitemap-"})
    for image_id, category in rebuild.touched or ():
        scope.paths.add(pages.permalink_path(image_id))  # its page, or its shard
        scope.prefixes.add(f"images/{category}/{image_id}.")
        scope.prefixes.add(pages.top.path("category", slug=category).removesuffix("html"))
        scope.paths.add(PICTURES_SHARD.format(slug=category))
        scope.prefixes.add(SITEMAP_SHARD.format(slug=category, part="").removesuffix("xml"))
    return scope


def _permalink_files(pages: StaticPages, records: Iterable[ImageRecord]) -> Files:
    """Every picture's permalink: its page, or the shards (``--permalinks shards``)."""
    return pages.shard_files(shard_files_of(records)) if pages.sharded \
        else pages.picture_files(records)


def _write_files(writer: SiteWriter, files: Files, advance: Callable[[], None]) -> None:
    """Claim every path, then write each file (only if its bytes changed)."""
    writer.claim(list(files))
    for path, make in files.items():
        writer.write(path, make())
        advance()


# what an address written into pages, _redirects, robots.txt and the CSP may not hold: it would
# split a line or a policy (RFC 3986 leaves them out of URLs, or they need percent-encoding)
URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\"'<>;\\^`{|}*!]")


def checked_public_url(url: str, option: str = "--public-url") -> str:
    """``url`` without a trailing slash, or a GanpageError naming what is wrong with it."""
    if not url:
        return ""
    if URL_UNSAFE.search(url):
        raise GanpageError(f"{option} {url!r} holds a space, quote or other character an "
                           "address needs percent-encoded; write it encoded (%20 for a space)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment:
        raise GanpageError(f"{option} {url!r} must be an http(s) address of a folder without "
                           "query or fragment, e.g. https://user.github.io/mysite")
    if ":" in parts.path:  # _redirects reads ":name" in a path as a placeholder
        raise GanpageError(f"{option} {url!r} has a ':' in its path; write it as %3A")
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
