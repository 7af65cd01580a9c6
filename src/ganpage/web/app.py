"""The "This X Does Not Exist" site: ``create_app(gallery)`` returns an ASGI app (FastAPI).

This module only assembles the site: what the routes share goes into ``app.state``
(``catalog``, ``pages``, ``random_pages``, ``files``, ``live``, ``live_page``, ``review``,
``review_auth``) and
the route tables of ``page_routes.py``, ``api.py``, ``operations.py``, ``draw.py``,
``live_page_routes.py`` and ``review/`` are added in the site's order. Every response passes
``hygiene.Hygiene`` (security headers, HEAD) and ``observe.Observer`` (metrics, access log);
the fast path (``fast_path.py``) does both itself.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.live.engine import LiveEngine
from ganpage.live.settings import LiveSettings
from ganpage.web.access_log import AccessLog
from ganpage.web.api import add_api_routes
from ganpage.web.catalog import HIDDEN_FILE, Catalog
from ganpage.web.config import SiteConfig
from ganpage.web.draw import DRAW_ROUTES, DRAWN_CATEGORY_ROUTES, drawn_page
from ganpage.web.error_pages import http_error
from ganpage.web.fast_path import RandomPageFastPath
from ganpage.web.images import ImageFiles, accel_redirect_prefix
from ganpage.web.live_page_routes import LIVE_PAGE_ROUTES, ServedLivePage
from ganpage.web.metrics import Metrics
from ganpage.web.observe import Observer, route_labels
from ganpage.web.operations import OPERATIONS_ROUTES
from ganpage.web.page_cache import RandomPages
from ganpage.web.page_routes import page_routes
from ganpage.web.pages import PageRenderer
from ganpage.web.proxies import TrustedProxies
from ganpage.web.redirects import add_slash_redirects
from ganpage.web.review.auth import ReviewAuth
from ganpage.web.review.decisions import ReviewDesk
from ganpage.web.review.routes import REVIEW_ROUTES
from ganpage.web.shared_folder import shared_folder

__all__ = ["SiteConfig", "create_app"]  # SiteConfig lives in config.py; callers pass one here


def create_app(gallery_root: str | Path | None, config: SiteConfig | None = None,
               access_log: str | Path | None = None,
               load_catalog: bool = True) -> RandomPageFastPath:
    """Build the site for the gallery at ``gallery_root`` (None: live pictures only, which
    needs ``config.live_model``), logging requests to ``access_log`` (a path, or ``-`` for
    standard output) if given. The live model loads on a thread of its own when the server
    starts or its first request comes, whichever is first. ``load_catalog`` False: the
    showable pictures are not read (a check of the settings that serves nothing)."""
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
    if load_catalog:
        catalog.load()
    pages = PageRenderer(config)
    random_pages = RandomPages(catalog, pages.picture_page)
    catalog.on_change = random_pages.forget
    metrics = Metrics()
    engine = (LiveEngine(config.live_model, config.live or LiveSettings(), metrics)
              if config.live_model else None)
    app = FastAPI(title="ganpage", version="1", docs_url=None, redoc_url=None,
                  description="Pictures of things that do not exist, made by a GAN.",
                  lifespan=_starting(engine), redirect_slashes=False,  # redirects.py's instead
                  exception_handlers={HTTPException: http_error})
    app.state.gallery, app.state.catalog, app.state.pages = gallery, catalog, pages
    app.state.random_pages = random_pages
    app.state.files, app.state.live = ImageFiles(gallery), engine
    _add_routes(app, config, gallery is not None, engine)
    if engine is not None:
        engine.page_for = lambda recipe: drawn_page(pages, engine, recipe).encode()
    if config.review_token:
        app.state.review = ReviewDesk(gallery_root)
        app.state.review_auth = ReviewAuth(config.review_token, public_url=config.public_url)
        app.router.routes.extend(REVIEW_ROUTES)
    add_slash_redirects(app)
    observer = Observer(metrics, AccessLog(access_log) if access_log else None,
                        route_labels(app.routes))
    return RandomPageFastPath(app, random_pages, pages, observer, engine,
                              TrustedProxies(config.trusted_proxies))


def _add_routes(app: FastAPI, config: SiteConfig, gallery: bool,
                engine: LiveEngine | None) -> None:
    """The public routes, in the site's order (the review's and the redirect come after)."""
    static_dir = Path(str(resources.files("ganpage.web") / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    # with a gallery, its categories are the site's; without one, the model's (draw.py)
    app.router.routes.extend(page_routes(gallery_categories=gallery or engine is None))
    add_api_routes(app, gallery=gallery, live=engine is not None)
    app.router.routes.extend(OPERATIONS_ROUTES)
    if engine is not None:
        app.router.routes.extend(DRAW_ROUTES if gallery else
                                 [*DRAW_ROUTES, *DRAWN_CATEGORY_ROUTES])
        app.state.live_page = ServedLivePage(config.live_model, config.site_name)
        app.router.routes.extend(LIVE_PAGE_ROUTES)


def _starting(engine: LiveEngine | None):
    """The app's lifespan: the live model starts loading as the server starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if engine is not None:
            engine.start()
        yield

    return lifespan
