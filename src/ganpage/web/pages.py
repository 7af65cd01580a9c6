"""The site's pages as HTML: ``PageRenderer`` (Jinja2 templates from ``templates/``), shared by
``ganpage serve`` (which keeps rendered pages in ``page_cache.py``) and ``build-site``.

Imports no web framework and no live engine: a static build needs only this, ``config.py``
and the templates.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

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

PER_PAGE = 60  # pictures on a category page


class Category(Protocol):
    """A category as its page shows it (``catalog.Shelf``, ``snapshot.CategoryView``)."""

    slug: str
    name: str

    @property
    def count(self) -> int: ...


@dataclass(frozen=True)
class PictureText:
    """The words of a picture's page around its picture: the title's three parts, the alt
    text and the caption (its badge and the rest). One place for them, so the page
    (``picture.html``) and a permalink shard's record (``site_permalinks.py``) agree."""

    this: str  # "This" or "These"
    name: str  # the category's name as the title spells it
    does: str  # "Does" or "Do"
    alt: str
    badge: str  # "AI-generated" or "Imported"
    caption: str  # after the badge

    @property
    def title(self) -> str:
        return f"{self.this} {self.name} {self.does} Not Exist"


def picture_text(record: ImageRecord) -> PictureText:
    """The words of ``record``'s page (see ``PictureText``)."""
    this, does = title_words(record.category_name)
    if record.source is not None:
        made, badge = "imported, named by a classifier", "Imported"
        caption = (f"from {record.source}, named by the classifier {record.model_id}; "
                   "no seed")
    else:
        made, badge = f"GAN, seed {record.seed}", "AI-generated"
        caption = (f"made by a GAN ({record.model_id}, seed {record.seed}, truncation "
                   f"{record.truncation:.2f})")
    alt = (("Picture of " if record.source is not None else "AI-generated picture of ")
           + f"{with_article(record.category_name)} that {does.lower()} not exist ({made})")
    return PictureText(this, title_name(record.category_name), does, alt, badge, caption)


class PageRenderer:
    """Jinja2 templates and the site's pages made from them."""

    def __init__(self, config: SiteConfig, links: Links | None = None):
        templates = Path(str(resources.files("ganpage.web") / "templates"))
        self.env = Environment(loader=FileSystemLoader(templates),
                               autoescape=select_autoescape(["html"]))
        self.env.globals.update(title_for=title_for, title_words=title_words,
                                title_name=title_name, group_title=group_title,
                                picture_count=picture_count, with_article=with_article,
                                picture_text=picture_text)
        self.env.filters["display_name"] = display_name
        self.env.filters["in_sentence"] = in_sentence
        self.config = config
        live_nav = (("Drawn live", "live"),) if config.live_model else ()  # live_page.py
        self.links = links or Links(public_url=config.public_url, nav=live_nav)
        self._markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

    def render(self, template: str, **context: object) -> str:
        """The page; ``links`` in ``context`` overrides the renderer's (a static page's depth)."""
        return self.env.get_template(template).render(
            {"site": self.config, "links": self.links, **context})

    def picture_page(self, record: ImageRecord) -> bytes:
        """The picture's page as the server sends it."""
        return self.picture_html(record).encode()

    def picture_html(self, record: ImageRecord, template: str = "picture.html",
                     **context: object) -> str:
        """The picture's page, uncached (``context`` as in ``render``; ``template`` one that
        extends picture.html, such as the static site's home page)."""
        blurb = blurb_for(record.id, record.category_name, record.seed, record.truncation)
        return self.render(template, record=record, blurb=blurb, **context)

    def category_html(self, view: Category, shown: Sequence[ImageRecord], page: int,
                      template: str = "category.html", **context: object) -> str | None:
        """Page ``page`` (from 1) of a category's grid showing ``shown`` (that page's
        pictures), or None past its last page (``template``: one extending category.html)."""
        if page > 1 and not shown:
            return None
        more = view.count > page * PER_PAGE
        return self.render(template, view=view, records=shown, page=page, more=more,
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
