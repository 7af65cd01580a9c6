"""Routes for the people and machines that run the site: ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz`` says the process answers (a load balancer restarts it otherwise); ``/readyz`` says
it can serve pictures: the gallery index is there and its last reading worked (send traffic
elsewhere otherwise) and, with ``--live``, that its model is loaded.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ganpage.gallery import INDEX_FILE
from ganpage.live.engine import LiveEngine
from ganpage.web.catalog import Catalog
from ganpage.web.metrics import Metrics

NO_STORE = {"Cache-Control": "no-store"}


def readiness(catalog: Catalog, engine: LiveEngine | None = None) -> tuple[bool, dict]:
    """Whether the site can serve its gallery and its live model, and the facts that say so."""
    problems = []
    facts: dict = {"gallery": None, "pictures": 0}
    if catalog.gallery is not None:
        index = catalog.gallery.root / INDEX_FILE
        if not index.is_file():
            problems.append(f"the gallery index {index} is gone")
        if catalog.refresh_error:
            problems.append(catalog.refresh_error)
        facts = {"gallery": str(catalog.gallery.root), "pictures": len(catalog.current().by_id)}
    if engine is not None:
        engine.start()  # a load balancer's first look starts the model loading
        facts["live_model"] = engine.model_name
        facts["model_loaded"] = engine.generator is not None
        if engine.load_error:
            problems.append(engine.load_error)
        elif engine.generator is None:
            problems.append("the live model is still loading")
    return not problems, {**facts, "problems": problems}


def add_operations_routes(app: FastAPI, catalog: Catalog, metrics: Metrics,
                          engine: LiveEngine | None = None) -> None:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        ready, facts = await run_in_threadpool(readiness, catalog, engine)
        return JSONResponse({"status": "ready" if ready else "not ready", **facts},
                            status_code=200 if ready else 503, headers=NO_STORE)

    async def metrics_page(request: Request) -> Response:
        metrics.flush()  # here, on the event loop that counts
        body, content_type = await run_in_threadpool(metrics.exposition)
        return Response(body, headers={**NO_STORE, "Content-Type": content_type})

    app.add_route("/healthz", healthz, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/readyz", readyz, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/metrics", metrics_page, methods=["GET", "HEAD"], include_in_schema=False)
