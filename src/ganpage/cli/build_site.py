"""``ganpage build-site``: a gallery's approved pictures as a static site for any host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import Permalinks, Status

app = typer.Typer()


@app.command("build-site")
def build_site_command(
    gallery: Annotated[Path, typer.Argument(help="Gallery folder made by `ganpage generate`.")],
    out: Annotated[Path, typer.Argument(
        help="Folder for the site: new, empty, or an earlier build (brought up to date).")],
    public_url: Annotated[str, typer.Option(
        help="Where the site will live (https://user.github.io/mysite): absolute URLs for "
        "OpenGraph, sitemap.xml and 404.html.")] = "",
    show: Annotated[list[Status], typer.Option(
        help="Curation statuses to show; repeatable.")] = [Status.APPROVED],  # noqa: B006
    site_name: str = "This X Does Not Exist",
    live: Annotated[str, typer.Option(
        help="Add live.html, where this model (built-in name, folder or repo id) draws "
        "pictures in the visitor's browser (ONNX, onnxruntime-web; works offline).")] = "",
    webgpu: Annotated[bool, typer.Option(
        help="With --live: ship onnxruntime-web's WebGPU build beside its WebAssembly one "
        "(28.7 MB, fetched only by browsers with a GPU; --no-webgpu for hosts that take no "
        "file over 25 MiB, such as Cloudflare Pages).")] = True,
    image_base_url: Annotated[str, typer.Option(
        help="Where the gallery's picture folders are served from (object storage or a CDN, "
        "e.g. https://pictures.example.org/gallery): pages link pictures there and the site "
        "holds only pages, half the files of a big gallery.")] = "",
    permalinks: Annotated[Permalinks, typer.Option(
        help="pages: a page per picture (p/<id>.html). shards: the pictures' records in 2,048 "
        "JSON files and one page that shows any of them at the same address (p/<id>.html, "
        "through _redirects or 404.html; needs JavaScript), so a gallery of a million fits "
        "free hosts (docs/static-site.md).")] = "pages",
    full: Annotated[bool, typer.Option(
        help="Make every file again, even where the gallery's change log says which pictures "
        "changed (e.g. after editing or deleting files of the site by hand).")] = False,
) -> None:
    """Build a static site of a gallery's pictures: the pages of `ganpage serve` with relative
    links, for GitHub Pages, Netlify, Cloudflare Pages, nginx or any folder on a web server.

    A rebuild after curation makes only the files of the pictures that changed since the last
    build (read from the gallery's change log), their categories' pages and the site-wide
    files, and removes the pages of pictures no longer shown; other options, or a log that
    cannot say, make a full build.

    [bold]Examples[/bold]

    ganpage build-site gallery/ site/

    ganpage build-site gallery/ site/ --public-url https://user.github.io/mysite

    ganpage build-site gallery/ site/ --live emoji64

    ganpage build-site gallery/ site/ --image-base-url https://pictures.example.org/gallery

    ganpage build-site gallery/ site/ --permalinks shards --image-base-url https://pictures.example.org/gallery

    python -m http.server -d site/ 8000
    """
    from ganpage.outputs import removed_on_error
    from ganpage.static_site import SiteOptions, build_site

    options = SiteOptions(public_url, tuple(s.value for s in show), site_name, live, webgpu,
                          full, image_base_url, permalinks)
    with removed_on_error(out):
        report = build_site(gallery, out, options)
    counts = report.counts
    kind = "changes since the last build" if report.incremental else "full build"
    typer.echo(f"site: {out} ({report.pictures:,} pictures in {report.categories:,} "
               f"categories; {kind}; files: {counts.written:,} written, {counts.unchanged:,} "
               f"unchanged, {counts.removed:,} removed)")
    if report.skipped:
        typer.echo(f"skipped {len(report.skipped)} pictures whose file is missing or damaged, "
                   f"e.g. {report.skipped[0]}; run `ganpage gallery verify {gallery}`")
    for note in report.notes:
        typer.echo(f"note: {note}")
