"""Pictures drawn by the server (``serve --live MODEL``): ``/draw?category=&seed=&truncation=``
is a picture's page, ``/draw/image.webp?...`` the picture, both read by ``recipe.py``. Without
a gallery, ``/categories`` lists the model's categories and ``/c/<slug>`` shows a category's
fresh pictures from the pool, each linking to its permalink; ``drawn_json`` is a drawn picture
as the JSON API (``/api/random``) answers it.

A drawn picture is a pure function of (model, recipe), so its ETag is the recipe's image id and
a client that has it gets a 304 without the model running. The tag is weak (``W/``, RFC 9110
8.8.1): the same recipe drawn in another batch, or on another CPU, can differ from it in a few
values by one 8-bit level, the same picture but not the same bytes. A recipe has one URL: any
other spelling of it (``seed=01``, ``truncation=.7``, no truncation, other parameters) is a 301
to its canonical one (``Recipe.query()``), so caches keep one copy of each picture.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ganpage.blurb import blurb_for
from ganpage.categories import Category
from ganpage.gallery import image_id
from ganpage.live.engine import IMAGE_FORMAT, LiveEngine, LiveUnavailable
from ganpage.recipe import QUERY_KEYS, Recipe, RecipeError, parse_recipe, redirect_query
from ganpage.web.images import etag_matches
from ganpage.web.proxies import scope_client_key
from ganpage.web.routing import GET, check_query, html, model_ready, unavailable

PAGE_PATH = "/draw"
IMAGE_PATH = f"/draw/image.{IMAGE_FORMAT}"
# A recipe draws the same picture until the model changes; a day keeps a new model's visible.
IMAGE_HEADERS = {"Cache-Control": "public, max-age=86400"}


def permalink(recipe: Recipe) -> str:
    return f"{PAGE_PATH}?{recipe.query()}"


def image_link(recipe: Recipe) -> str:
    return f"{IMAGE_PATH}?{recipe.query()}"


def drawn_id(engine: LiveEngine, recipe: Recipe) -> str:
    """The recipe's image id: the id a gallery picture of this recipe has."""
    return image_id(engine.model_id, recipe.category.id, recipe.seed, recipe.truncation)


def recipe_etag(engine: LiveEngine, recipe: Recipe) -> str:
    return 'W/"' + drawn_id(engine, recipe) + '"'


def drawn_page(pages, engine: LiveEngine, recipe: Recipe, another: str = "/") -> str:
    """The page of a drawn picture: the same look as a gallery picture's page."""
    picture_id = drawn_id(engine, recipe)
    blurb = blurb_for(picture_id, recipe.category.name, recipe.seed, recipe.truncation)
    return pages.render("drawn.html", recipe=recipe, blurb=blurb, model_id=engine.model_id,
                        size=engine.image_size, image=image_link(recipe),
                        permalink=permalink(recipe), another=another)


def drawn_json(engine: LiveEngine, recipe: Recipe) -> dict:
    """A drawn picture as the JSON API answers it (``schemas.DrawnPicture``)."""
    picture_id = drawn_id(engine, recipe)
    return {
        "id": picture_id, "category": recipe.category.slug,
        "category_name": recipe.category.name, "model_id": engine.model_id,
        "seed": recipe.seed, "truncation": recipe.truncation,
        "width": engine.image_size, "height": engine.image_size,
        "image_url": image_link(recipe), "permalink": permalink(recipe),
        "author": blurb_for(picture_id, recipe.category.name, recipe.seed,
                            recipe.truncation).author,
    }


def model_categories(engine: LiveEngine) -> list[Category]:
    """The model's categories as a live-only site lists them: by name."""
    return sorted(engine.categories, key=lambda category: category.name.lower())


def requested_recipe(request: Request, engine: LiveEngine) -> Recipe:
    """The recipe of the query (404 with one line for one that names no picture)."""
    check_query(request)
    params = request.query_params
    for key in QUERY_KEYS:
        if len(params.getlist(key)) > 1:
            raise HTTPException(400, f"give {key} once")
    try:
        return parse_recipe(engine.categories, params.get("category"), params.get("seed"),
                            params.get("truncation"))
    except RecipeError as error:
        raise HTTPException(404, str(error)) from None


def client_of(request: Request) -> str:
    """The client's name for the rate limit: its address (the one a trusted proxy names, see
    ``web/proxies.py``), an IPv6 client's /64."""
    return scope_client_key(request.scope)


def moved_to_canonical(request: Request, path: str, recipe: Recipe) -> Response | None:
    """A 301 to the recipe's canonical URL under ``path`` when the query spells it otherwise;
    relative, so it never names a host (and never the one a request's Host header claims)."""
    moved = redirect_query(request.scope["query_string"].decode("latin-1"), recipe)
    if moved is None:
        return None
    return RedirectResponse(f"{path}?{moved}", status_code=301, headers=IMAGE_HEADERS)


async def draw_page(request: Request) -> Response:
    """A drawn picture's page, ``/draw?category=&seed=&truncation=``."""
    engine = request.app.state.live
    await model_ready(engine)
    recipe = requested_recipe(request, engine)
    moved = moved_to_canonical(request, PAGE_PATH, recipe)
    if moved is not None:
        return moved
    return html(drawn_page(request.app.state.pages, engine, recipe))


async def draw_image(request: Request) -> Response:
    """A drawn picture, ``/draw/image.webp?...``; a 304 for its recipe's ETag, undrawn."""
    engine = request.app.state.live
    try:
        await engine.ready()
        recipe = requested_recipe(request, engine)
        moved = moved_to_canonical(request, IMAGE_PATH, recipe)
        if moved is not None:
            return moved
        headers = {**IMAGE_HEADERS, "ETag": recipe_etag(engine, recipe)}
        if etag_matches(request.headers.get("if-none-match", ""), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        data = await engine.picture(recipe, client_of(request))
    except LiveUnavailable as error:
        raise unavailable(error) from None
    return Response(data, media_type=f"image/{IMAGE_FORMAT}", headers=headers)


async def drawn_categories(request: Request) -> Response:
    """``/categories`` of a site without a gallery: the model's categories."""
    check_query(request)
    engine = request.app.state.live
    await model_ready(engine)
    return html(request.app.state.pages.render("categories.html",
                                               categories=model_categories(engine)))


async def drawn_category(request: Request) -> Response:
    """``/c/<slug>`` of a site without a gallery: the category's fresh pictures (the pool's,
    so a page costs at most one picture drawn)."""
    check_query(request)
    engine = request.app.state.live
    await model_ready(engine)
    chosen = engine.categories.by_slug(request.path_params["slug"])
    if chosen is None:
        raise HTTPException(404, "no such category")
    try:
        fresh = engine.fresh_of(chosen.id, client_of(request))
    except LiveUnavailable as error:
        raise unavailable(error) from None
    pictures = [(permalink(recipe), image_link(recipe), recipe.seed) for recipe in fresh]
    return html(request.app.state.pages.render("drawn_category.html", category=chosen,
                                               pictures=pictures, size=engine.image_size))


DRAW_ROUTES = [Route(PAGE_PATH, draw_page, methods=GET),
               Route(IMAGE_PATH, draw_image, methods=GET)]
# a site with a gallery lists the gallery's categories (page_routes.py)
DRAWN_CATEGORY_ROUTES = [Route("/c/{slug}", drawn_category, methods=GET),
                         Route("/categories", drawn_categories, methods=GET)]
