"""Routes for the people and machines that run the site: ``/healthz`` and ``/readyz``.

``/healthz`` says the process answers (a load balancer restarts it otherwise); ``/readyz`` says
it can serve pictures: the gallery index is there and its last reading worked (send traffic
elsewhere otherwise) and, with ``--live``, that its model is loaded. Both are public (a load
balancer asks them), so they name no folder or file of the machine. The metrics are not here:
``ganpage serve`` answers them on a listener of their own, loopback only unless told otherwise
(``web/metrics.py``'s ``metrics_listener``).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ganpage.gallery import INDEX_FILE
from ganpage.live.engine import LiveEngine
from ganpage.web.catalog import Catalog
from ganpage.web.conventions import NO_STORE
from ganpage.web.routing import GET

# the folders of an absolute path (POSIX or Windows) in a message: only the last name is kept
FOLDERS = re.compile(r"(?:\b[A-Za-z]:|(?<![\w.~-]))[\\/](?:[^\\/\s'\"():,]+[\\/])+")


def without_paths(text: str) -> str:
    """``text`` with each absolute path cut to its last name (``/srv/g/gallery.sqlite`` ->
    ``gallery.sqlite``): a public answer says what is wrong, not where the files are."""
    return FOLDERS.sub("", text)


def readiness(catalog: Catalog, engine: LiveEngine | None = None) -> tuple[bool, dict]:
    """Whether the site can serve its gallery and its live model, and the facts that say so."""
    problems = []
    facts: dict = {"gallery": catalog.gallery is not None, "pictures": 0}
    if catalog.gallery is not None:
        if not (catalog.gallery.root / INDEX_FILE).is_file():
            problems.append(f"the gallery index ({INDEX_FILE}) is gone")
        if catalog.refresh_error:
            problems.append(catalog.refresh_error)
        catalog.maybe_refresh()
        facts["pictures"] = catalog.count()
    if engine is not None:
        engine.start()  # a load balancer's first look starts the model loading
        # its id once loaded: the name it was given may be a folder of this machine
        facts["live_model"] = engine.model_id if engine.generator is not None else None
        facts["model_loaded"] = engine.generator is not None
        if engine.load_error:
            problems.append(engine.load_error)
        elif engine.generator is None:
            problems.append("the live model is still loading")
    return not problems, {**facts, "problems": [without_paths(p) for p in problems]}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"}, headers=NO_STORE)


async def readyz(request: Request) -> Response:
    state = request.app.state
    ready, facts = await run_in_threadpool(readiness, state.catalog, state.live)
    return JSONResponse({"status": "ready" if ready else "not ready", **facts},
                        status_code=200 if ready else 503, headers=NO_STORE)


OPERATIONS_ROUTES = [Route("/healthz", healthz, methods=GET),
                     Route("/readyz", readyz, methods=GET)]
