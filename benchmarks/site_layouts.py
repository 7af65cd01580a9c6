"""build-site's two permalink layouts on one gallery, side by side: a page per picture
(`--permalinks pages`) against one page and JSON shards (`--permalinks shards`). For each: a
full build and a rebuild after 10 new approved pictures (each timed as a whole command), the
site's files and bytes by kind, and the same projected to bigger galleries.

Both builds take --public-url (so the sitemaps are counted) and --image-base-url (so no picture
is copied: the copy takes the same time in both layouts); the pictures a site would hold
without it are counted from the gallery's own files (what the copy makes: the same bytes).

The projection (from a gallery whose categories fill several pages of 60, so a page's bytes
are a full page's), to ``--project`` pictures in ``--categories`` categories (default: the
gallery's): the kinds that are one file a picture (pages, pictures) grow their files and bytes
with the pictures; category pages are, with a page per picture, one per 60 pictures of a
category (half a page a category more), with shards one a category (its first page; the others
are drawn from its grid list, c/<slug>.json), each of the measured average size; shards stay at
most 2,048 files while their bytes grow with the pictures, as do the sitemaps' (one file up to
50,000 URLs, then one a category and two more), the id lists' and the grid lists' (one of each
a category); the rest is a handful of fixed files.
Usage: python benchmarks/site_layouts.py GALLERY [--work /tmp/site-layouts]
       [--project 100000 1000000] [--categories 100 1000] [--base BASE_GALLERY]  (BASE: where
       the 10 new pictures come from, as in benchmarks/scale.py; default: GALLERY itself)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale import add_new_pictures  # noqa: E402 (a script beside this one)

from ganpage.gallery import Gallery  # noqa: E402

GANPAGE = [sys.executable, "-m", "ganpage"]
PUBLIC_URL = "https://user.github.io/mysite"
IMAGE_BASE_URL = "https://pictures.example.org/gallery"
PER_PICTURE = {"images/"}  # files and bytes grow with the pictures (and p/ with pages)
GROWING_BYTES = {"pictures/", "c/*.json"}  # a file a category, bytes grow
SHARDS = 2048
PER_PAGE = 60  # pictures on a category page
SITEMAP_LIMIT = 50_000  # URLs a sitemap file


def kind_of(path: str) -> str:
    """The kind of a site's file: its top folder (``p/``, ``shards/``...), ``sitemaps/`` for
    every sitemap, ``c/*.json`` for the grid lists (shards), or ``other``."""
    if path.startswith("sitemap"):
        return "sitemaps/"
    if path.startswith("c/") and path.endswith(".json"):
        return "c/*.json"
    top = path.split("/", 1)[0]
    return top + "/" if "/" in path else "other"


def measure(site: Path) -> dict[str, list[int]]:
    """kind -> [files, bytes] of a built site, without the build's own dot files."""
    totals: dict[str, list[int]] = {}
    for folder, _, names in os.walk(site):
        for name in names:
            if name.startswith(".ganpage-site"):
                continue
            path = Path(folder, name)
            kind = kind_of(path.relative_to(site).as_posix())
            entry = totals.setdefault(kind, [0, 0])
            entry[0] += 1
            entry[1] += path.stat().st_size
    return totals


def pictures_of(gallery: Path) -> list[int]:
    """[files, bytes] of the gallery's approved pictures: what the site holds without
    --image-base-url."""
    with Gallery.open(gallery) as opened:
        records = opened.records(["approved"])
    return [len(records), sum(opened_size(gallery, r.relative_path) for r in records)]


def opened_size(gallery: Path, relative_path: str) -> int:
    return (gallery / relative_path).stat().st_size


def timed_build(gallery: Path, site: Path, permalinks: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*GANPAGE, "build-site", str(gallery), str(site), "--permalinks",
                           permalinks, "--public-url", PUBLIC_URL, "--image-base-url",
                           IMAGE_BASE_URL], check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout.splitlines()[0]


def projected(kinds: dict[str, list[int]], pictures: int, target: int, sharded: bool,
              categories: int | None = None) -> list[int]:
    """[files, bytes] of the site at ``target`` pictures in ``categories`` (None: the
    gallery's) categories (see the module's docstring)."""
    scale = target / pictures
    per_picture = PER_PICTURE if sharded else PER_PICTURE | {"p/"}  # p/view.html: one
    categories = categories or kinds["pictures/"][0]  # a list of ids a category
    category_pages = categories if sharded else -(-target // PER_PAGE) + categories // 2
    sitemaps = 1 if target + category_pages < SITEMAP_LIMIT else categories + 2
    files = {"c/": category_pages, "shards/": min(SHARDS, target), "sitemaps/": sitemaps,
             "pictures/": categories, "c/*.json": categories}
    total_files = total_bytes = 0
    for kind, (count, bytes_) in kinds.items():
        if kind == "c/":  # pages of the measured average size
            total_files += category_pages
            total_bytes += round(bytes_ / count * category_pages)
            continue
        grows = kind in per_picture | GROWING_BYTES | set(files)
        total_files += files.get(kind, round(count * scale) if kind in per_picture else count)
        total_bytes += round(bytes_ * scale) if grows else bytes_
    return [total_files, total_bytes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("gallery", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/site-layouts"))
    parser.add_argument("--project", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--categories", type=int, nargs="*", default=[0],
                        help="of the projection (0: the gallery's)")
    parser.add_argument("--base", type=Path, default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    gallery = args.work / "gallery"  # a copy: the 10 new pictures go in it, not in GALLERY
    shutil.rmtree(gallery, ignore_errors=True)
    subprocess.run(["cp", "-al", str(args.gallery), str(gallery)], check=True)
    (gallery / "gallery.sqlite").unlink()
    shutil.copy2(args.gallery / "gallery.sqlite", gallery / "gallery.sqlite")  # not a link
    picture_files = pictures_of(gallery)
    print(f"load average {os.getloadavg()[0]:.2f}; {picture_files[0]:,} pictures, "
          f"{picture_files[1] / 1e6:.1f} MB of picture files")
    sites = {}
    for permalinks in ("pages", "shards"):
        site = args.work / f"site-{permalinks}"
        shutil.rmtree(site, ignore_errors=True)
        seconds, line = timed_build(gallery, site, permalinks)
        sites[permalinks] = measure(site)
        print(f"{permalinks}: full build {seconds:.1f} s ({line})")
    add_new_pictures(gallery, args.base or args.gallery, 10)
    for permalinks in ("pages", "shards"):
        seconds, line = timed_build(gallery, args.work / f"site-{permalinks}", permalinks)
        print(f"{permalinks}: after 10 new pictures {seconds:.2f} s ({line})")
    pictures = picture_files[0]
    for permalinks, kinds in sites.items():
        with_pictures = {**kinds, "images/": picture_files}
        print(f"\n{permalinks}: files and bytes by kind at {pictures:,} pictures")
        for kind, (count, bytes_) in sorted(kinds.items()):
            print(f"  {kind:<10} {count:>9,} files {bytes_ / 1e6:>10.1f} MB")
        for target in args.project:
            for categories in args.categories:
                for label, measured in (("pictures elsewhere", kinds), ("with the pictures",
                                                                        with_pictures)):
                    files, size = projected(measured, pictures, target,
                                            permalinks == "shards", categories or None)
                    print(f"  at {target:>9,} pictures in {categories or 'its'} categories, "
                          f"{label:<18}: {files:>9,} files, {size / 1e9:.2f} GB "
                          f"({size / 2**30:.2f} GiB)")
    print("\nfolders with the most files:", Counter(
        {kind: count for kinds in sites.values() for kind, (count, _) in kinds.items()})
        .most_common(3))


if __name__ == "__main__":
    main()
