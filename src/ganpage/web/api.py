"""The JSON API (FastAPI, so ``/openapi.json`` documents it with ``schemas.py``'s answers):
``/api/random``, ``/api/images/<id>`` and ``/api/categories``.

The endpoints are module-level and read ``request.app.state`` (``catalog``, ``live``). With a
live model, ``/api/random`` is what ``/`` shows: a gallery picture if there is one to show,
else a fresh drawn one; without a gallery, ``/api/categories`` lists the model's categories
(count null: any seed draws a picture).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ganpage.blurb import blurb_for, title_for
from ganpage.gallery import ImageRecord
from ganpage.live.engine import LiveUnavailable
from ganpage.web.conventions import NO_STORE, is_image_id
from ganpage.web.draw import drawn_json, model_categories
from ganpage.web.proxies import scope_client_key
from ganpage.web.routing import model_ready, unavailable
from ganpage.web.schemas import NOT_FOUND, UNAVAILABLE, CategorySummary, DrawnPicture, Picture


def image_url(record: ImageRecord) -> str:
    return f"/images/{record.relative_path}"


def record_json(record: ImageRecord) -> dict:
    """A gallery picture as the API answers it (``schemas.Picture``)."""
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


def category_json(slug: str, name: str, count: int | None) -> dict:
    return {"slug": slug, "name": name, "title": title_for(name), "count": count,
            "url": f"/c/{slug}"}


async def api_random(request: Request) -> JSONResponse:
    record = request.app.state.catalog.random_record()
    if record is not None:
        return JSONResponse(record_json(record), headers=NO_STORE)
    engine = request.app.state.live
    if engine is None:
        raise HTTPException(404, "the gallery has no picture to show yet")
    await model_ready(engine)
    try:  # the pool's (its picture cached for image_url), or new; under the client's rate
        recipe, _ = engine.fresh(scope_client_key(request.scope))
    except LiveUnavailable as error:
        raise unavailable(error) from None
    return JSONResponse(drawn_json(engine, recipe), headers=NO_STORE)


async def api_image(image_id: str, request: Request) -> JSONResponse:
    catalog = request.app.state.catalog
    if catalog.gallery is None:
        raise HTTPException(404, "this site has no gallery: a drawn picture is named by its "
                                 "recipe, /draw?category=<slug>&seed=<n>")
    record = catalog.record(image_id) if is_image_id(image_id) else None
    if record is None:
        raise HTTPException(404, "no picture with that id")
    return JSONResponse(record_json(record))


async def api_categories(request: Request) -> JSONResponse:
    catalog, engine = request.app.state.catalog, request.app.state.live
    if catalog.gallery is None:  # a live-only site: the model's categories
        await model_ready(engine)
        return JSONResponse([category_json(c.slug, c.name, None)
                             for c in model_categories(engine)])
    return JSONResponse([category_json(v.slug, v.name, v.count)
                         for v in catalog.categories()])


def add_api_routes(app: FastAPI, gallery: bool, live: bool) -> None:
    """Add the API to ``app``; what its OpenAPI document says each route answers depends on
    whether the site has a ``gallery`` and a ``live`` model."""
    random_picture = (Picture if not live else DrawnPicture if not gallery
                      else Picture | DrawnPicture)
    app.add_api_route("/api/random", api_random, methods=["GET"], response_model=random_picture,
                      summary="A random picture: random category, then random picture",
                      responses=UNAVAILABLE if live else NOT_FOUND)
    app.add_api_route("/api/images/{image_id}", api_image, methods=["GET"],
                      summary="One gallery picture's recipe and metadata",
                      response_model=Picture, responses=NOT_FOUND)
    app.add_api_route("/api/categories", api_categories, methods=["GET"],
                      summary="Categories with their picture counts",
                      response_model=list[CategorySummary],
                      responses=UNAVAILABLE if not gallery else None)
