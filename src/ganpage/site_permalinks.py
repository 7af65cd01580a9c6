"""A static site's permalinks without a page per picture (``build-site --permalinks shards``):
each picture's record (what its page shows) sits in one of ``SHARDS`` JSON files picked by its
id, and one page, ``p/view.html``, shows any of them: the host answers ``p/<id>.html`` with it
(``_redirects`` on Netlify, Cloudflare Pages and GitLab Pages; ``404.html`` on GitHub Pages)
and ``static/permalink.js`` reads the id from the address, fetches its shard and fills in the
picture. The permalink's address is the same in both layouts. A category has one page in this
layout, its first: ``static/category.js`` draws the others (``c/<slug>.html#page=N``) from the
category's list, ``c/<slug>.json`` (``category_list_json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from ganpage.blurb import blurb_for, in_sentence
from ganpage.errors import GanpageError
from ganpage.gallery import ImageRecord
from ganpage.web.conventions import is_image_id
from ganpage.web.pages import Category, picture_text

LAYOUTS = ("pages", "shards")  # --permalinks: a page per picture, or records in JSON shards
# 2,048 shards: ~490 records (~240 KB, ~26 KB gzipped) a shard at a million pictures, the site
# then ~6,000 files with 1,000 categories (a page, a grid list, a list of ids and a sitemap
# each), well under Cloudflare Pages' 20,000 (docs/static-site.md). The first 3 hex digits of
# an id (ids are hashes: uniform) pick the shard, two prefixes a shard.
SHARDS = 2048
PREFIXES = 16**3  # values of an id's first 3 hex digits
SHARD_PATH = "shards/{shard}.json"  # not under p/: Cloudflare applies /p/* before its files
CATEGORY_LIST = "c/{slug}.json"  # what category.js draws a category's further pages from
VIEW_PAGE = "p/view.html"  # the page that shows any picture of a shard (depth 1, as p/<id>.html)
REDIRECTS = "_redirects"


def shard_of(image_id: str) -> int:
    """The shard that holds ``image_id``'s record (``static/picture.js`` computes the same)."""
    if not is_image_id(image_id):  # another tool's id: picture.js could never show it
        raise GanpageError(f"picture {image_id!r} has an id that is not 12 hex digits, which "
                           "--permalinks shards needs; build with --permalinks pages")
    return int(image_id[:3], 16) * SHARDS // PREFIXES


def shard_path(shard: int) -> str:
    """``shards/0042.json``: the file of shard number ``shard``."""
    return SHARD_PATH.format(shard=f"{shard:04d}")


def shard_id_range(shard: int) -> tuple[str, str]:
    """[low, high) of the ids in ``shard``, as strings (ids are lower-case hex: "g" sorts
    after every one)."""
    step = PREFIXES // SHARDS
    high = f"{(shard + 1) * step:03x}" if shard + 1 < SHARDS else "g"
    return f"{shard * step:03x}", high


def shard_files_of(records: Iterable[ImageRecord]) -> dict[int, list[ImageRecord]]:
    """``records`` grouped by their shard."""
    shards: dict[int, list[ImageRecord]] = {}
    for record in records:
        shards.setdefault(shard_of(record.id), []).append(record)
    return shards


def picture_record(record: ImageRecord) -> dict:
    """What ``p/view.html`` shows of a picture, the words as its own page has them (plain
    text: the page puts them in with textContent, never as HTML)."""
    text = picture_text(record)
    blurb = blurb_for(record.id, record.category_name, record.seed, record.truncation)
    return {"slug": record.category, "this": text.this, "name": text.name, "does": text.does,
            "alt": text.alt, "badge": text.badge, "caption": text.caption,
            "blurb": blurb.text, "author": blurb.author, "path": record.relative_path,
            "width": record.width, "height": record.height}


def shard_json(records: Iterable[ImageRecord]) -> bytes:
    """A shard's file: {id: record}, sorted by id, one line."""
    shard = {record.id: picture_record(record) for record in sorted(records, key=lambda r: r.id)}
    return (json.dumps(shard, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def category_list_json(view: Category, records: Iterable[ImageRecord]) -> bytes:
    """A category's grid list (``CATEGORY_LIST``), its pictures in the order of its pages: what
    ``static/category.js`` needs to draw any page as category.html does. One line, kept small
    (a million pictures in 1,000 categories: ~38 bytes a picture): the alt text's words once
    (a picture's alt adds ", seed N" unless it was imported: seed null), then per picture
    [id, format, width, height, seed]; its file is ``<slug>/<id>.<format>``. Plain text: the
    script sets it as attributes."""
    pictures = [[record.id, record.format, record.width, record.height,
                 record.seed if record.source is None else None] for record in records]
    grid = {"slug": view.slug, "alt": f"AI-generated {in_sentence(view.name)}",
            "pictures": pictures}
    return (json.dumps(grid, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def redirects(public_url: str) -> bytes:
    """``_redirects``: ``p/<id>`` and ``p/<id>.html`` answered by the view page (a rewrite of
    one path segment, ``:id``, so nothing deeper, such as a script's address resolved against
    ``p/<id>/``, is answered with the page;
    status 200; Netlify and GitLab Pages serve a file that exists instead, Cloudflare Pages
    applies the rule first, hence the shards outside ``p/``). GitLab Pages' project sites
    need the project's path on both sides: the path of ``public_url``."""
    path = urlsplit(public_url).path.rstrip("/")
    return ("# ganpage build-site --permalinks shards: every picture's permalink is shown by "
            "p/view.html\n"
            f"{path}/p/:id  {path}/{VIEW_PAGE}  200\n").encode()
