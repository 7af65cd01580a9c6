"""``RandomPageFastPath``: the ASGI app a server runs, answering the hot ``GET /`` straight
from the page cache and handing everything else to the full site (``app.create_app``)."""

from __future__ import annotations

import time

from fastapi import FastAPI

from ganpage.live.engine import LiveEngine, LiveUnavailable
from ganpage.web.conventions import NO_STORE
from ganpage.web.draw import drawn_page
from ganpage.web.hygiene import SECURITY_HEADERS, Hygiene
from ganpage.web.observe import Observer
from ganpage.web.page_cache import RandomPages
from ganpage.web.pages import PageRenderer
from ganpage.web.proxies import TrustedProxies, scope_client_key


class RandomPageFastPath:
    """ASGI wrapper that answers the hot request, a plain ``GET /``, from the page cache.

    The random page is most of the traffic; answering it here skips routing, middleware and
    response objects (about 2x the requests/s, see benchmarks/serve.py), while sending the
    same security headers and recording the same metrics as the rest. Without a gallery
    picture to show and with a live model, it shows a fresh picture from the live pool.
    Everything else, including ``/`` with a query string or on an empty gallery without a
    live model, goes to the full app.
    """

    HEADERS = [(b"content-type", b"text/html; charset=utf-8"),
               *((name.lower().encode(), value.encode()) for name, value in NO_STORE.items()),
               *SECURITY_HEADERS]

    def __init__(self, app: FastAPI, random_pages: RandomPages, pages: PageRenderer,
                 observer: Observer, engine: LiveEngine | None = None,
                 proxies: TrustedProxies | None = None):
        self.app = app
        self.engine = engine
        self.random_pages = random_pages
        self.catalog = random_pages.catalog
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
            body = self.random_pages.random_page()
            if body is None and self.engine is not None and self.engine.generator is not None:
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
        self.catalog.close()
        if self.catalog.gallery is not None:
            self.catalog.gallery.close()
        if self.engine is not None:
            self.engine.close()
        if hasattr(self.app.state, "review"):
            self.app.state.review.close()
            self.app.state.review_auth.sessions.close()
        self.observer.close()
