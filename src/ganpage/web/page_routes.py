"""The site's HTML pages and picture files as route tables: ``/``, ``/p/<id>``, ``/c/<slug>``,
``/categories``, ``/about``, ``/images/<slug>/<file>`` and ``/favicon.ico``.

Each endpoint reads what it needs from ``request.app.state`` (``catalog``, ``pages``,
``random_pages``, ``files``, ``live``: set by ``app.create_app``). A picture is found by its
id in the catalog, so no request path is ever joined to a file name.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ganpage.gallery import FORMATS
from ganpage.live.engine import LiveUnavailable
from ganpage.web.conventions import IMMUTABLE
from ganpage.web.draw import drawn_page
from ganpage.web.images import accel_redirect, etag, etag_matches
from ganpage.web.pages import PER_PAGE
from ganpage.web.proxies import scope_client_key
from ganpage.web.routing import GET, check_query, html, unavailable

PAGE_NUMBER = re.compile(r"[0-9]{1,7}")  # ASCII digits only: '²'.isdigit() is True


async def home(request: Request) -> Response:
    """A random picture's page (the fast path answers most of these: ``fast_path.py``)."""
    check_query(request)
    state = request.app.state
    page = state.random_pages.random_page()
    if page is None and state.live is not None:
        try:
            await state.live.ready()
            recipe, page = state.live.fresh(scope_client_key(request.scope))
        except LiveUnavailable as error:
            raise unavailable(error) from None
        return html(page or drawn_page(state.pages, state.live, recipe))
    if page is None:
        return html(state.pages.render("empty.html", pending=state.catalog.pending_count(),
                                       statuses=state.catalog.statuses))
    return html(page)


async def permalink(request: Request) -> Response:
    check_query(request)
    state = request.app.state
    record = state.catalog.record(request.path_params["image_id"])
    if record is None:
        raise HTTPException(404, "no picture with that id")
    return html(state.random_pages.page_of(record))


async def category(request: Request) -> Response:
    catalog = request.app.state.catalog
    view = catalog.category(request.path_params["slug"])
    if view is None:
        raise HTTPException(404, "no such category")
    page = page_number(request)
    shown = catalog.records(view, (page - 1) * PER_PAGE, page * PER_PAGE)
    body = request.app.state.pages.category_html(view, shown, page)
    if body is None:
        raise HTTPException(404, "no such page")
    return html(body)


async def categories(request: Request) -> Response:
    check_query(request)
    listed = request.app.state.catalog.categories()
    return html(request.app.state.pages.render("categories.html", categories=listed))


async def about(request: Request) -> Response:
    check_query(request)
    cards = dict(request.app.state.catalog.model_cards)
    engine = request.app.state.live
    if engine is not None and engine.generator is not None:  # the live model's card too
        cards.setdefault(engine.model_id, engine.generator.card)
    return html(request.app.state.pages.about_html(cards))


async def image(request: Request) -> Response:
    """A shown picture's file, sent only while it still hashes to its row's sha256; a file
    deleted or damaged under the server is a 404, and the picture leaves the site."""
    state = request.app.state
    stem, _, extension = request.path_params["filename"].partition(".")
    record = state.catalog.record(stem)
    if (record is None or record.category != request.path_params["slug"]
            or record.format != extension):
        raise HTTPException(404, "no such image")
    headers = {**IMMUTABLE, "ETag": etag(record)}
    accel_prefix = state.pages.config.accel_redirect
    try:
        if etag_matches(request.headers.get("if-none-match", ""), headers["ETag"]):
            if await run_in_threadpool(state.files.unchanged, record):
                return Response(status_code=304, headers=headers)
        elif accel_prefix:  # nginx sends the file ganpage has just checked
            if await run_in_threadpool(state.files.unchanged, record):
                headers["X-Accel-Redirect"] = accel_redirect(accel_prefix, record)
                return Response(media_type=FORMATS[record.format], headers=headers)
        else:
            data = await run_in_threadpool(state.files.read, record)
            if data is not None:
                return Response(data, media_type=FORMATS[record.format], headers=headers)
    except OSError:  # the machine's trouble (EMFILE, EIO), not the picture's
        raise HTTPException(503, "the picture cannot be read now; try again",
                            headers={"Retry-After": "5"}) from None
    state.catalog.hide(record.id)  # deleted or damaged under the server: no longer shown
    state.random_pages.forget({record.id})
    raise HTTPException(404, "no such image")


async def favicon(request: Request) -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


def page_number(request: Request) -> int:
    """The ``page`` of a category page's query (1 if none); 400 unless a whole number."""
    check_query(request)
    raw = request.query_params.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= 1_000_000:
        raise HTTPException(400, "page must be a whole number from 1")
    return int(raw)


# A site with a gallery, or without a live model, lists the gallery's categories; a live-only
# site has draw.py's (the model's) instead.
HOME_ROUTES = [Route("/", home, methods=GET), Route("/p/{image_id}", permalink, methods=GET)]
GALLERY_CATEGORY_ROUTES = [Route("/c/{slug}", category, methods=GET),
                           Route("/categories", categories, methods=GET)]
OTHER_ROUTES = [Route("/about", about, methods=GET),
                Route("/images/{slug}/{filename}", image, methods=GET),
                Route("/favicon.ico", favicon, methods=GET)]


def page_routes(gallery_categories: bool) -> list[Route]:
    """The page routes in the site's order; ``gallery_categories``: with the gallery's."""
    return [*HOME_ROUTES, *(GALLERY_CATEGORY_ROUTES if gallery_categories else []),
            *OTHER_ROUTES]
