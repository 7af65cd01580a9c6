"""How the site answers an HTTP error: JSON under ``/api/`` and ``/review/api/``, one plain
line for a picture (an ``<img>`` shows no page), else the site's error page (``error.html``,
rendered by ``request.app.state.pages``). A 405 says which methods are allowed."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from ganpage.web.conventions import NO_STORE
from ganpage.web.draw import IMAGE_PATH as DRAWN_IMAGE_PATH
from ganpage.web.hygiene import ALLOWED_METHODS


def is_image_path(path: str) -> bool:
    return path.startswith("/images/") or path == DRAWN_IMAGE_PATH


async def http_error(request: Request, error: HTTPException) -> Response:
    """The answer of an ``HTTPException`` raised by any route (or by the router)."""
    headers = dict(error.headers or {})
    if error.status_code == 405 and not request.url.path.startswith("/review/"):
        # HEAD too: hygiene.Hygiene answers it as GET (/review/ has POSTs: the router's)
        headers["Allow"] = ALLOWED_METHODS
    if request.url.path.startswith(("/api/", "/review/api/")):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code,
                            headers={**NO_STORE, **headers})
    if is_image_path(request.url.path):
        return PlainTextResponse(f"{error.status_code}: {error.detail}\n",
                                 status_code=error.status_code, headers={**NO_STORE, **headers})
    body = request.app.state.pages.render("error.html", status=error.status_code,
                                          detail=error.detail)
    return HTMLResponse(body, status_code=error.status_code, headers={**NO_STORE, **headers})
