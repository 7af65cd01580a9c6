"""``ganpage data ...``: make training data sets from image folders, the emoji set or URL
lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import MAX_CHOICE_SEED, Resize
from ganpage.errors import GanpageError

NPM_CACHE = Path("~/.cache/ganpage/npm").expanduser()

app = typer.Typer(help="Make training data sets: image folders, the emoji set, URL lists.",
                  no_args_is_help=True, rich_markup_mode="rich")


@app.command("folder")
def data_folder(
    source: Annotated[Path, typer.Argument(help="Folder of pictures, one sub-folder per class.")],
    out: Annotated[Path, typer.Option(help="Data set folder to write.")],
    size: Annotated[int, typer.Option(help="Square picture size: 32, 64, 128 or 256.")] = 128,
    resize: Resize = "crop",
) -> None:
    """Import a folder of pictures: validate, square, drop duplicates, report rejects.

    [bold]Examples[/bold]

    ganpage data folder photos/ --size 128 --out data/photos128

    ganpage data folder scans/ --size 64 --resize pad --out data/scans64
    """
    from ganpage.data.decode import ResizeMode
    from ganpage.data.folder import import_folder
    from ganpage.outputs import removed_on_error, writable_folder

    if size not in (32, 64, 128, 256):
        raise GanpageError(f"--size must be 32, 64, 128 or 256, got {size}")
    if not source.is_dir():
        raise GanpageError(f"{source} is not a folder")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = import_folder(source, out, size, ResizeMode(resize))
    _print_report(out, report)


def _print_report(out: Path, report: dict) -> None:
    per_class = list(report["images_per_class"].values()) or [0]
    typer.echo(f"{out}: {report['classes']} classes, {report['images']} pictures "
               f"({min(per_class)}-{max(per_class)} per class); rejected: "
               f"{report['rejected_by_reason'] or 'none'} (details in {out}/report.json)")


@app.command("urls")
def data_urls(
    url_list: Annotated[Path, typer.Argument(help="URL list: '<wnid>_<n> <url>' or one URL a "
                                             "line; plain or gzip.")],
    out: Annotated[Path, typer.Option(help="Data set folder (also holds urls.sqlite).")],
    sample: Annotated[int, typer.Option(min=1, help="How many lines to sample uniformly.")]
    = 35000,
    seed: Annotated[int, typer.Option(min=0, max=MAX_CHOICE_SEED)] = 0,
    size: Annotated[int, typer.Option(min=8, max=1024)] = 128,
    resize: Resize = "crop",
    concurrency: Annotated[int, typer.Option(min=1, help="Downloads at once.")] = 64,
    per_host: Annotated[int, typer.Option(min=1, help="Downloads at once per host.")] = 8,
    max_mb: Annotated[float, typer.Option(min=0.001, help="Largest download kept, in MB.")]
    = 10.0,
    retries: Annotated[int, typer.Option(min=0, max=20)] = 2,
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="Allow private/loopback addresses (local test servers).")]
    = False,
    names: Annotated[Path | None, typer.Option(help="TSV of '<wnid> <display name>' lines.")]
    = None,
    placeholders: Annotated[Path | None, typer.Option(
        help="Extra sha256 list of placeholder images to reject.")] = None,
    placeholder_repeats: Annotated[int, typer.Option(
        min=0, help="Bytes served for this many different URLs are a 'photo unavailable' "
                    "placeholder and rejected (0: off).")] = 10,
) -> None:
    """Sample a URL list, download, validate and resize; re-run to resume.

    [bold]Examples[/bold]

    ganpage data urls fall11_urls.txt --sample 35000 --seed 0 --size 128 --out data/imagenet35k

    ganpage data urls my-urls.txt.gz --sample 1000 --out data/mine --concurrency 16
    """
    from ganpage.data.decode import ResizeMode
    from ganpage.data.urls import (
        DownloadSettings,
        download_url_list,
        load_placeholder_hashes,
        read_class_names,
    )
    from ganpage.outputs import removed_on_error, writable_folder

    settings = DownloadSettings(
        size=size, resize=ResizeMode(resize), concurrency=concurrency, per_host=per_host,
        max_bytes=int(max_mb * 1024 * 1024), retries=retries, allow_private=allow_private,
        placeholder_sha256=load_placeholder_hashes(placeholders),
        placeholder_repeats=placeholder_repeats)
    wnid_names = read_class_names(names) if names is not None else {}
    if not url_list.is_file():
        raise GanpageError(f"no URL list at {url_list}")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = download_url_list(url_list, out, sample, seed, settings, wnid_names)
    typer.echo(f"{out}: {report['images']} pictures in {report['classes']} classes from "
               f"{sum(report['outcomes'].values())} sampled URLs ({report['bad_lines']} bad "
               f"lines); outcomes: {report['outcomes']}")


@app.command("emoji")
def data_emoji(
    out: Annotated[Path, typer.Option(help="Data set folder to write.")] = Path("data/emoji64"),
    size: Annotated[int, typer.Option(min=8, max=1024, help="Square picture size in pixels.")]
    = 64,
    tarballs: Annotated[Path | None, typer.Option(
        help="Folder with the pinned npm tarballs, instead of fetching them with npm pack.")]
    = None,
    cache: Annotated[Path, typer.Option(help="Where fetched tarballs are kept.")]
    = NPM_CACHE,
    min_per_class: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    """Build the emoji data set of the built-in model from 12 openly licensed emoji sets on npm.

    [bold]Examples[/bold]

    ganpage data emoji --size 64 --out data/emoji64

    ganpage data emoji --tarballs ./npm-tarballs --out data/emoji64
    """
    from ganpage.data.emoji import build_emoji_dataset
    from ganpage.outputs import removed_on_error, writable_folder

    if tarballs is not None and not tarballs.is_dir():
        raise GanpageError(f"--tarballs {tarballs} is not a folder")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = build_emoji_dataset(out, size, cache, tarballs, min_per_class)
    _print_report(out, report)


@app.command("subset")
def data_subset(
    data: Annotated[Path, typer.Argument(help="The data set to take classes from.")],
    out: Annotated[Path, typer.Option(help="Data set folder to write.")],
    classes: Annotated[int, typer.Option(min=2, help="How many classes to keep.")] = 128,
    choose: Annotated[str, typer.Option(
        help="most: the classes with the most pictures (ties by name); spread: evenly over "
             "the class list.")] = "most",
) -> None:
    """A data set of some classes of another, pictures and manifest rows (sources, licences,
    styles) kept as they were.

    [bold]Examples[/bold]

    ganpage data subset data/emoji32 --classes 128 --out data/emoji32-top128
    """
    from ganpage.data.subset import write_subset
    from ganpage.outputs import removed_on_error, writable_folder

    with removed_on_error(out):
        writable_folder(out, "--out")
        report = write_subset(data, classes, out, choose)
    _print_report(out, report)
