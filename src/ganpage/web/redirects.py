"""``/about/`` -> ``/about``: a path with a trailing slash redirected to the page without it.

Starlette's own redirect (``redirect_slashes``, turned off in ``create_app``) builds an absolute
URL from the request's Host header and scheme, so ``Host: evil.example`` was sent to
``http://evil.example/about`` (and behind TLS, to ``http``). This one answers a relative
``Location``, a path only, and only when a route of the site takes it; a path that would read
as another host (``//evil.example/``) is never a redirect.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

TRAILING = "/{path:path}/"  # the route that takes every path ending in a slash


def add_slash_redirects(app: FastAPI) -> None:
    """Add the redirect as the last route of ``app`` (after every page it may point to)."""
    app.add_route(TRAILING, without_slash, methods=["GET", "HEAD"], include_in_schema=False)


async def without_slash(request: Request) -> Response:
    """308 to the path without its trailing slashes when a route takes that, else 404."""
    target = request.url.path.rstrip("/")
    if not target or target.startswith("//") or "\\" in target or not _routed(request, target):
        raise HTTPException(404, "no such page")
    query = request.scope["query_string"].decode("latin-1")
    return RedirectResponse(f"{target}?{query}" if query else target, status_code=308)


def _routed(request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path}
    return any(route.path != TRAILING and route.matches(scope)[0] is Match.FULL
               for route in request.app.router.routes if hasattr(route, "path"))
