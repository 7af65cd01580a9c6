"""The "This X Does Not Exist" site: ``create_app(gallery)`` returns an ASGI app (FastAPI).

HTML pages are plain Starlette routes rendered by Jinja2 and cached per picture; the JSON API
is FastAPI so it gets an OpenAPI document. Pictures are looked up by id in the catalog, so no
request path is ever joined to a file name. Every response passes ``hygiene.Hygiene`` (security
headers, HEAD) and ``observe.Observer`` (metrics, access log); the fast path does both itself.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

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
from ganpage.errors import GanpageError
from ganpage.gallery import FORMATS, Gallery, ImageRecord
from ganpage.live.engine import LiveEngine, LiveUnavailable
from ganpage.live.settings import LiveSettings
from ganpage.web.about import demoted, story
from ganpage.web.access_log import AccessLog
from ganpage.web.catalog import HIDDEN_FILE, Catalog, CategoryView
from ganpage.web.draw import (
    IMAGE_PATH as DRAWN_IMAGE_PATH,
)
from ganpage.web.draw import (
    add_draw_routes,
    add_drawn_category_routes,
    drawn_json,
    drawn_page,
    model_categories,
    model_ready,
    unavailable,
)
from ganpage.web.hygiene import ALLOWED_METHODS, SECURITY_HEADERS, Hygiene
from ganpage.web.images import (
    ImageFiles,
    accel_redirect,
    accel_redirect_prefix,
    etag,
    etag_matches,
)
from ganpage.web.links import Links
from ganpage.web.metrics import Metrics
from ganpage.web.observe import Observer, route_labels
from ganpage.web.operations import add_operations_routes
from ganpage.web.proxies import TrustedProxies, scope_client_key
from ganpage.web.redirects import add_slash_redirects
from ganpage.web.review import ReviewAuth, ReviewDesk, add_review_routes
from ganpage.web.schemas import (
    NOT_FOUND,
    UNAVAILABLE,
    CategorySummary,
    DrawnPicture,
    Picture,
)
from ganpage.web.shared_folder import shared_folder

PAGE_HEADERS = {"Cache-Control": "no-store"}
IMAGE_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}
IMAGE_ID = re.compile(r"^[0-9a-f]{12}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
PAGE_NUMBER = re.compile(r"[0-9]{1,7}")  # ASCII digits only: '²'.isdigit() is True
PER_PAGE = 60
MAX_QUERY_LENGTH = 256
MAX_CACHED_PAGES = 4096  # rendered picture pages kept (about 2.3 kB each)


@dataclass(frozen=True)
class SiteConfig:
    """Settings of one site: what to show and how to name it."""

    site_name: str = "This X Does Not Exist"
    public_url: str = ""  # absolute base for OpenGraph URLs, e.g. https://example.org
    statuses: tuple[str, ...] = ("approved",)
    refresh_seconds: float = 2.0
    review_token: str = field(default="", repr=False)  # set: the /review routes exist
    accel_redirect: str = ""  # set (e.g. /_gallery/): nginx sends picture bytes, ganpage checks
    live_model: str = ""  # set: pictures drawn by the server (/draw), `serve --live MODEL`
    live: LiveSettings = field(default_factory=LiveSettings)
    # proxies whose X-Forwarded-For/-Proto are believed (`serve --trusted-proxy`; web/proxies.py)
    trusted_proxies: tuple[str, ...] = ()


def create_app(gallery_root: str | Path | None, config: SiteConfig | None = None,
               access_log: str | Path | None = None) -> RandomPageFastPath:
    """Build the site for the gallery at ``gallery_root`` (None: live pictures only, which
    needs ``config.live_model``), logging requests to ``access_log`` (a path, or ``-`` for
    standard output) if given. The live model loads on a thread of its own when the server
    starts or its first request comes, whichever is first."""
    config = config or SiteConfig()
    accel_redirect_prefix(config.accel_redirect)
    if gallery_root is None and not config.live_model:
        raise GanpageError("nothing to serve: give a GALLERY folder, --live MODEL, or both")
    if gallery_root is None and config.review_token:
        raise GanpageError("--review needs a GALLERY folder to review")
    gallery = Gallery.open(gallery_root, shared=True) if gallery_root is not None else None
    shared = shared_folder()
    catalog = Catalog(gallery, config.statuses, config.refresh_seconds,
                      hidden_file=shared / HIDDEN_FILE if shared is not None else None)
    pages = PageRenderer(config)
    metrics = Metrics()
    engine = LiveEngine(config.live_model, config.live, metrics) if config.live_model else None
    app = FastAPI(title="ganpage", version="1", docs_url=None, redoc_url=None,
                  description="Pictures of things that do not exist, made by a GAN.",
                  lifespan=_starting(engine), redirect_slashes=False)  # redirects.py's instead
    static_dir = Path(str(resources.files("ganpage.web") / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    _add_page_routes(app, catalog, pages, engine)
    _add_api_routes(app, catalog, engine)
    add_operations_routes(app, catalog, engine)
    if engine is not None:
        add_draw_routes(app, engine, pages)
        if gallery is None:  # with a gallery, its categories are the site's
            add_drawn_category_routes(app, engine, pages)
        engine.page_for = lambda recipe: drawn_page(pages, engine, recipe).encode()
        from ganpage.web.live_page import live_routes

        app.router.routes.extend(live_routes(config.live_model, config.site_name))
    app.state.live = engine
    if config.review_token:
        app.state.review = ReviewDesk(gallery_root)
        app.state.review_auth = ReviewAuth(config.review_token, public_url=config.public_url)
        add_review_routes(app, app.state.review, app.state.review_auth, pages.render)
    add_slash_redirects(app)
    _add_error_handlers(app, pages)
    app.state.gallery = gallery
    observer = Observer(metrics, AccessLog(access_log) if access_log else None,
                        route_labels(app.routes))
    return RandomPageFastPath(app, catalog, pages, observer, engine,
                              TrustedProxies(config.trusted_proxies))


def _starting(engine: LiveEngine | None):
    """The app's lifespan: the live model starts loading as the server starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if engine is not None:
            engine.start()
        yield

    return lifespan


class RandomPageFastPath:
    """ASGI wrapper that answers the hot request, a plain ``GET /``, from the page cache.

    The random page is most of the traffic; answering it here skips routing, middleware and
    response objects (about 2x the requests/s, see benchmarks/serve.py), while sending the
    same security headers and recording the same metrics as the rest. Without a gallery
    picture to show and with a live model, it shows a fresh picture from the live pool.
    Everything else, including ``/`` with a query string or on an empty gallery without a
    live model, goes to the full app.
    """

    HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"),
               *SECURITY_HEADERS]

    def __init__(self, app: FastAPI, catalog: Catalog, pages: PageRenderer,
                 observer: Observer, engine: LiveEngine | None = None,
                 proxies: TrustedProxies | None = None):
        self.app = app
        self.engine = engine
        self.catalog = catalog
        self.pages = pages
        self.observer = observer
        self.proxies = proxies or TrustedProxies()
        self._hygienic_app = Hygiene(app)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.proxies.resolve(scope)  # the client a trusted proxy names, for all below
        if scope["path"] == "/" and not scope["query_string"] and scope["method"] in ("GET",
                                                                                     "HEAD"):
            started = time.perf_counter()
            record = self.catalog.random_record()
            body = None
            if record is not None:
                body = self.pages.picture_page(record, self.catalog.snapshot.version)
            elif self.engine is not None and self.engine.generator is not None:
                try:
                    recipe, body = self.engine.fresh(scope_client_key(scope))
                    body = body or drawn_page(self.pages, self.engine, recipe).encode()
                except LiveUnavailable:  # past the client's rate: the app answers the 429
                    body = None
            if body is not None:
                if scope["method"] == "HEAD":
                    headers, body = [*self.HEADERS, (b"content-length", b"%d" % len(body))], b""
                else:
                    headers = [*self.HEADERS, (b"content-length", b"%d" % len(body))]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                self.observer.record(scope, "/", 200, len(body), started)
                return
        await self.observer.wrap(self._hygienic_app, scope, receive, send)

    def close(self) -> None:
        """Close the gallery index and the access log, and stop the live model."""
        if self.catalog.gallery is not None:
            self.catalog.gallery.close()
        if self.engine is not None:
            self.engine.close()
        if hasattr(self.app.state, "review"):
            self.app.state.review.close()
            self.app.state.review_auth.sessions.close()
        self.observer.close()


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


def image_url(record: ImageRecord) -> str:
    return f"/images/{record.relative_path}"


def _html(body: str | bytes, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


def _check_query(request: Request) -> None:
    if len(request.url.query) > MAX_QUERY_LENGTH:
        raise HTTPException(400, "query string too long")


def _add_page_routes(app: FastAPI, catalog: Catalog, pages: PageRenderer,
                     engine: LiveEngine | None = None) -> None:
    files = ImageFiles(catalog.gallery)
    accel_prefix = pages.config.accel_redirect

    async def home(request: Request) -> Response:
        _check_query(request)
        record = catalog.random_record()
        if record is None and engine is not None:
            try:
                await engine.ready()
            except LiveUnavailable as error:
                raise unavailable(error) from None
            try:
                recipe, page = engine.fresh(scope_client_key(request.scope))
            except LiveUnavailable as error:
                raise unavailable(error) from None
            return _html(page or drawn_page(pages, engine, recipe))
        if record is None:
            snapshot = catalog.current()
            return _html(pages.render("empty.html", pending=snapshot.pending_count,
                                      statuses=catalog.statuses))
        return _html(pages.picture_page(record, catalog.snapshot.version))

    async def permalink(request: Request) -> Response:
        _check_query(request)
        record = catalog.current().by_id.get(request.path_params["image_id"])
        if record is None:
            raise HTTPException(404, "no picture with that id")
        return _html(pages.picture_page(record, catalog.snapshot.version))

    async def category(request: Request) -> Response:
        view = catalog.current().categories.get(request.path_params["slug"])
        if view is None:
            raise HTTPException(404, "no such category")
        body = pages.category_html(view, _page_number(request))
        if body is None:
            raise HTTPException(404, "no such page")
        return _html(body)

    async def categories(request: Request) -> Response:
        _check_query(request)
        return _html(pages.render("categories.html", categories=catalog.current().category_list))

    async def about(request: Request) -> Response:
        _check_query(request)
        cards = dict(catalog.current().model_cards)
        if engine is not None and engine.generator is not None:  # the live model's card too
            cards.setdefault(engine.model_id, engine.generator.card)
        return _html(pages.about_html(cards))

    async def image(request: Request) -> Response:
        stem, _, extension = request.path_params["filename"].partition(".")
        record = catalog.current().by_id.get(stem)
        if (record is None or record.category != request.path_params["slug"]
                or record.format != extension):
            raise HTTPException(404, "no such image")
        headers = {**IMAGE_HEADERS, "ETag": etag(record)}
        try:
            if etag_matches(request.headers.get("if-none-match", ""), headers["ETag"]):
                if await run_in_threadpool(files.unchanged, record):
                    return Response(status_code=304, headers=headers)
            elif accel_prefix:  # nginx sends the file ganpage has just checked
                if await run_in_threadpool(files.unchanged, record):
                    headers["X-Accel-Redirect"] = accel_redirect(accel_prefix, record)
                    return Response(media_type=FORMATS[record.format], headers=headers)
            else:
                data = await run_in_threadpool(files.read, record)
                if data is not None:
                    return Response(data, media_type=FORMATS[record.format], headers=headers)
        except OSError:  # the machine's trouble (EMFILE, EIO), not the picture's
            raise HTTPException(503, "the picture cannot be read now; try again",
                                headers={"Retry-After": "5"}) from None
        catalog.hide(record.id)  # deleted or damaged under the server: no longer shown
        pages.forget(record.id)
        raise HTTPException(404, "no such image")

    async def favicon(request: Request) -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    app.add_route("/", home, methods=["GET", "HEAD"])
    app.add_route("/p/{image_id}", permalink, methods=["GET", "HEAD"])
    if catalog.gallery is not None or engine is None:  # else draw.py's: the model's categories
        app.add_route("/c/{slug}", category, methods=["GET", "HEAD"])
        app.add_route("/categories", categories, methods=["GET", "HEAD"])
    app.add_route("/about", about, methods=["GET", "HEAD"])
    app.add_route("/images/{slug}/{filename}", image, methods=["GET", "HEAD"])
    app.add_route("/favicon.ico", favicon, methods=["GET", "HEAD"])


def _page_number(request: Request) -> int:
    _check_query(request)
    raw = request.query_params.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= 1_000_000:
        raise HTTPException(400, "page must be a whole number from 1")
    return int(raw)


def _record_json(record: ImageRecord) -> dict:
    return {
        "id": record.id, "category": record.category, "category_name": record.category_name,
        "model_id": record.model_id, "seed": record.seed, "truncation": record.truncation,
        "width": record.width, "height": record.height, "sha256": record.sha256,
        "created_at": record.created_at, "status": record.status, "scores": record.scores,
        "source": record.source,  # imported pictures (seed null): the original file name
        "image_url": image_url(record), "permalink": f"/p/{record.id}",
        "author": blurb_for(record.id, record.category_name, record.seed,
                            record.truncation).author,
    }


def _add_api_routes(app: FastAPI, catalog: Catalog, engine: LiveEngine | None) -> None:
    """The JSON API. With a live model, ``/api/random`` is what ``/`` shows: a gallery picture
    if there is one to show, else a fresh drawn one; without a gallery, ``/api/categories``
    lists the model's categories (count null: any seed draws a picture)."""
    live_only = catalog.gallery is None  # then there is a live model
    random_picture = (Picture if engine is None else DrawnPicture if live_only
                      else Picture | DrawnPicture)

    @app.get("/api/random", summary="A random picture: random category, then random picture",
             response_model=random_picture,
             responses=NOT_FOUND if engine is None else UNAVAILABLE)
    async def api_random(request: Request) -> JSONResponse:
        record = catalog.random_record()
        if record is not None:
            return JSONResponse(_record_json(record), headers=PAGE_HEADERS)
        if engine is None:
            raise HTTPException(404, "the gallery has no picture to show yet")
        await model_ready(engine)
        try:  # the pool's (its picture cached for image_url), or new; under the client's rate
            recipe, _ = engine.fresh(scope_client_key(request.scope))
        except LiveUnavailable as error:
            raise unavailable(error) from None
        return JSONResponse(drawn_json(engine, recipe), headers=PAGE_HEADERS)

    @app.get("/api/images/{image_id}", summary="One gallery picture's recipe and metadata",
             response_model=Picture, responses=NOT_FOUND)
    async def api_image(image_id: str) -> JSONResponse:
        if live_only:
            raise HTTPException(404, "this site has no gallery: a drawn picture is named by its "
                                     "recipe, /draw?category=<slug>&seed=<n>")
        record = catalog.current().by_id.get(image_id) if IMAGE_ID.match(image_id) else None
        if record is None:
            raise HTTPException(404, "no picture with that id")
        return JSONResponse(_record_json(record))

    @app.get("/api/categories", summary="Categories with their picture counts",
             response_model=list[CategorySummary], responses=UNAVAILABLE if live_only else None)
    async def api_categories() -> JSONResponse:
        if live_only:
            await model_ready(engine)
            return JSONResponse([_category_json(c.slug, c.name, None)
                                 for c in model_categories(engine)])
        return JSONResponse([_category_json(v.slug, v.name, len(v.records))
                             for v in catalog.current().category_list])


def _category_json(slug: str, name: str, count: int | None) -> dict:
    return {"slug": slug, "name": name, "title": title_for(name), "count": count,
            "url": f"/c/{slug}"}


def _is_image_path(path: str) -> bool:
    return path.startswith("/images/") or path == DRAWN_IMAGE_PATH


def _add_error_handlers(app: FastAPI, pages: PageRenderer) -> None:
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        if error.status_code == 405 and not request.url.path.startswith("/review/"):
            # HEAD too: hygiene.Hygiene answers it as GET (/review/ has POSTs: the router's)
            headers["Allow"] = ALLOWED_METHODS
        if request.url.path.startswith(("/api/", "/review/api/")):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code,
                                headers={**PAGE_HEADERS, **headers})
        if _is_image_path(request.url.path):  # an <img> shows no page: one short line
            return PlainTextResponse(f"{error.status_code}: {error.detail}\n",
                                     status_code=error.status_code,
                                     headers={**PAGE_HEADERS, **headers})
        body = pages.render("error.html", status=error.status_code, detail=error.detail)
        return HTMLResponse(body, status_code=error.status_code,
                            headers={**PAGE_HEADERS, **headers})

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
