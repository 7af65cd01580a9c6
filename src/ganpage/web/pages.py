"""The site's pages as HTML: ``PageRenderer`` (Jinja2 templates from ``templates/`` and a
per-picture cache of rendered permalink pages), shared by ``ganpage serve`` and ``build-site``.

Imports no web framework and no live engine: a static build needs only this, ``config.py``
and the templates.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt

from ganpage.blurb import (
    blurb_for,
    display_name,
    group_title,
    in_sentence,
    picture_count,
    title_for,
    title_name,
    title_words,
    with_article,
)
from ganpage.gallery import ImageRecord
from ganpage.web.about import demoted, story
from ganpage.web.config import SiteConfig
from ganpage.web.links import Links

if TYPE_CHECKING:
    from ganpage.web.catalog import CategoryView

PER_PAGE = 60  # pictures on a category page
MAX_CACHED_PAGES = 4096  # rendered picture pages kept (about 2.3 kB each)


class PageRenderer:
    """Jinja2 templates plus a per-picture cache of the rendered permalink page."""

    def __init__(self, config: SiteConfig, links: Links | None = None):
        templates = Path(str(resources.files("ganpage.web") / "templates"))
        self.env = Environment(loader=FileSystemLoader(templates),
                               autoescape=select_autoescape(["html"]))
        self.env.globals.update(title_for=title_for, title_words=title_words,
                                title_name=title_name, group_title=group_title,
                                picture_count=picture_count, with_article=with_article)
        self.env.filters["display_name"] = display_name
        self.env.filters["in_sentence"] = in_sentence
        self.config = config
        live_nav = (("Drawn live", "live"),) if config.live_model else ()  # live_page.py
        self.links = links or Links(public_url=config.public_url, nav=live_nav)
        self._picture_cache: dict[str, bytes] = {}  # at most MAX_CACHED_PAGES, oldest out first
        self._cache_version = -1
        self._markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

    def render(self, template: str, **context: object) -> str:
        """The page; ``links`` in ``context`` overrides the renderer's (a static page's depth)."""
        return self.env.get_template(template).render(
            {"site": self.config, "links": self.links, **context})

    def picture_page(self, record: ImageRecord, version: int) -> bytes:
        """The picture's page, rendered once per gallery version."""
        if version != self._cache_version:
            self._picture_cache.clear()
            self._cache_version = version
        page = self._picture_cache.get(record.id)
        if page is None:
            page = self.picture_html(record).encode()
            if len(self._picture_cache) >= MAX_CACHED_PAGES:
                del self._picture_cache[next(iter(self._picture_cache))]
            self._picture_cache[record.id] = page
        return page

    def picture_html(self, record: ImageRecord, template: str = "picture.html",
                     **context: object) -> str:
        """The picture's page, uncached (``context`` as in ``render``; ``template`` one that
        extends picture.html, such as the static site's home page)."""
        blurb = blurb_for(record.id, record.category_name, record.seed, record.truncation)
        return self.render(template, record=record, blurb=blurb, **context)

    def category_html(self, view: CategoryView, page: int, **context: object) -> str | None:
        """Page ``page`` (from 1) of a category's grid, or None past its last page."""
        shown = view.records[(page - 1) * PER_PAGE: page * PER_PAGE]
        if page > 1 and not shown:
            return None
        more = len(view.records) > page * PER_PAGE
        return self.render("category.html", view=view, records=shown, page=page, more=more,
                           **context)

    def about_html(self, model_cards: dict[str, str], live: bool | None = None,
                   **context: object) -> str:
        """The about page: how each model's pictures were made (``about.story``), which
        pictures are shown (``live``: whether some are drawn live; by default, whether the site
        has a live model), how GANs work, a built-in model's credits and each full card."""
        stories = [story(model, card) for model, card in model_cards.items()]
        models = [(told, self._markdown.renderInline(told.opening),
                   demoted(self.markdown(told.card))) for told in stories]
        credits = {model: self.markdown(shipped_attributions()[model])
                   for model in model_cards if model in shipped_attributions()}
        live = bool(self.config.live_model) if live is None else live
        return self.render("about.html", models=models, credits=credits, live=live, **context)

    def forget(self, image_id: str) -> None:
        """Drop a picture's cached page (it is no longer shown)."""
        self._picture_cache.pop(image_id, None)

    def markdown(self, text: str) -> str:
        return self._markdown.render(text)


@functools.cache
def shipped_attributions() -> dict[str, str]:
    """model_id -> the Markdown credits of the art a built-in model was trained on
    (``resources/attributions/<model_id>.md``; see NOTICE). Looked up by id, so no model id
    from a gallery ever becomes a path."""
    folder = resources.files("ganpage") / "resources" / "attributions"
    return {item.name.removesuffix(".md"): item.read_text(encoding="utf-8")
            for item in folder.iterdir() if item.name.endswith(".md")}
