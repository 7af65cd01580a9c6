"""``/live`` and ``/live/<file>`` of ``ganpage serve --live MODEL``: the live page
(``live_page.py``) and its files, from a fixed table (no request path becomes a file name).

The endpoints read ``request.app.state.live_page``, a ``ServedLivePage``; the first request
waits for the model's ONNX export (on a thread; cached on disk for later starts).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from ganpage.web.live_page import ISOLATION_HEADERS, LIVE_CONTENT_SECURITY_POLICY, LivePage
from ganpage.web.routing import GET

MEDIA_TYPES = {".svg": "image/svg+xml", ".js": "text/javascript", ".mjs": "text/javascript",
               ".css": "text/css",
               ".json": "application/json", ".wasm": "application/wasm",
               ".onnx": "application/octet-stream", "": "text/plain; charset=utf-8"}


class ServedLivePage:
    """A server's live page: made once, by the first request that needs it."""

    def __init__(self, model: str, site_name: str = "This X Does Not Exist", home: str = "/"):
        self.page = LivePage(model, site_name, home)
        self._ready = threading.Lock()

    def prepared(self) -> tuple[str, bytes, dict[str, Path]]:
        """(the page, ``live.json``, asset name -> file), the ONNX export made if need be."""
        with self._ready:
            return self.page.html(), json.dumps(self.page.info()).encode(), self.page.files()


async def live(request: Request) -> Response:
    html, _, _ = await run_in_threadpool(request.app.state.live_page.prepared)
    return HTMLResponse(html, headers=_headers(LIVE_CONTENT_SECURITY_POLICY))


async def asset(request: Request) -> Response:
    _, info, files = await run_in_threadpool(request.app.state.live_page.prepared)
    name = request.path_params["name"]
    if name == "live.json":
        return Response(info, media_type="application/json", headers=_headers())
    if name not in files:
        return Response("not found\n", status_code=404, media_type="text/plain")
    return FileResponse(files[name], media_type=MEDIA_TYPES[Path(name).suffix],
                        headers=_headers())


LIVE_PAGE_ROUTES = [Route("/live", live, methods=GET),
                    Route("/live/{name:path}", asset, methods=GET)]


def _headers(csp: str | None = None) -> dict[str, str]:
    headers = {**ISOLATION_HEADERS, "Cache-Control": "no-cache"}
    if csp:
        headers["Content-Security-Policy"] = csp
    return headers
