"""The review's routes (only with ``serve --review``): ``/review``, its login and logout, its
pictures, the form's decisions and the JSON API under ``/review/api/``.

The endpoints are module-level and read ``request.app.state``: ``review`` (the
``decisions.ReviewDesk``), ``review_auth`` (``auth.ReviewAuth``) and ``pages`` (to render). A
body is read only after the request has signed in (the login form's after the throttle), and
never past ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ganpage.gallery import FORMATS, numeric_scores
from ganpage.web.conventions import NO_STORE, is_image_id
from ganpage.web.review.auth import CSRF_HEADER, ReviewAuth
from ganpage.web.review.decisions import card_json, checked_decision, checked_ids
from ganpage.web.review.filters import NO_FLAG, SCORE_SAMPLE, ReviewFilter
from ganpage.web.routing import GET

MAX_BODY_BYTES = 64 * 1024
POST = ["POST"]  # the review's changes (GET and HEAD only look)


async def _body(request: Request) -> bytes:
    """The request's body, refused with 413 by its Content-Length before a byte is read, and
    read no further than ``MAX_BODY_BYTES`` when it has none (chunked)."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise HTTPException(400, "Content-Length must be a number of bytes")
    if declared and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    return bytes(body)


async def _form(request: Request) -> dict[str, str]:
    """A form's fields (the page's forms are url-encoded: the standard library reads them)."""
    body = await _body(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"):
        return {}
    try:
        return dict(parse_qsl(body.decode("ascii"), max_num_fields=8))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form is not url-encoded") from None


async def _json_body(request: Request) -> dict:
    body = await _body(request)
    try:
        value = json.loads(body)
    except ValueError:
        raise HTTPException(400, "the body must be JSON, like {\"ids\": [...], \"status\": "
                            "\"rejected\"}") from None
    if not isinstance(value, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return value


def page(request: Request, template: str, status_code: int = 200,
         **context: object) -> HTMLResponse:
    """A review page: never cached, never indexed."""
    return HTMLResponse(request.app.state.pages.render(template, **context),
                        status_code=status_code, headers={**NO_STORE, "X-Robots-Tag": "noindex"})


def login_refused(request: Request, error: HTTPException) -> HTMLResponse:
    """The login form again, saying why the request was refused."""
    auth: ReviewAuth = request.app.state.review_auth
    refused = page(request, "review_login.html", status_code=error.status_code,
                   wrong=error.status_code == 403, ended=error.status_code == 401 and (
                       auth.cookie_name(request) in request.cookies),
                   throttled=error.detail if error.status_code == 429 else "")
    refused.headers.update(error.headers or {})
    return refused


async def login_page(request: Request) -> Response:
    return page(request, "review_login.html")


async def login(request: Request) -> Response:
    auth: ReviewAuth = request.app.state.review_auth
    try:
        auth.throttle(request)  # before the token is looked at
    except HTTPException as error:
        return login_refused(request, error)
    token = (await _form(request)).get("token")
    if token is None or not auth.token_matches(token):
        auth.wrong_token(request)
        return page(request, "review_login.html", status_code=403, wrong=True)
    session, _ = auth.sessions.begin()
    response = RedirectResponse("/review", status_code=303, headers=NO_STORE)
    auth.set_cookie(request, response, session)
    return response


async def logout(request: Request) -> Response:
    auth: ReviewAuth = request.app.state.review_auth
    csrf = auth.signed_in(request)  # before the body is read
    auth.check_change(request, csrf, (await _form(request)).get("csrf"))
    cookie = request.cookies.get(auth.cookie_name(request))
    if cookie:
        auth.sessions.end(cookie)  # the cookie is worth nothing now, in every worker
    response = RedirectResponse("/review/login", status_code=303, headers=NO_STORE)
    auth.set_cookie(request, response, None)
    return response


async def review(request: Request) -> Response:
    try:
        csrf = request.app.state.review_auth.signed_in(request)
    except HTTPException as error:
        return login_refused(request, error)
    chosen = ReviewFilter.from_query(request.query_params)
    view = await run_in_threadpool(request.app.state.review.view, chosen)
    return page(request, "review.html", view=view, chosen=chosen, csrf=csrf,
                scores=numeric_scores, no_flag=NO_FLAG, sample=SCORE_SAMPLE)


async def picture(request: Request) -> Response:
    request.app.state.review_auth.check(request)
    image_id = request.path_params["image_id"]
    found = (await run_in_threadpool(request.app.state.review.picture, image_id)
             if is_image_id(image_id) else None)
    if found is None:
        raise HTTPException(404, "no such picture")
    record, data = found
    return Response(data, media_type=FORMATS[record.format],
                    headers={"Cache-Control": "private, max-age=3600"})


async def api_csrf(request: Request) -> Response:
    csrf = request.app.state.review_auth.signed_in(request)
    return JSONResponse({"csrf": csrf, "header": CSRF_HEADER}, headers=NO_STORE)


async def api_images(request: Request) -> Response:
    request.app.state.review_auth.check(request)
    chosen = ReviewFilter.from_query(request.query_params)
    view = await run_in_threadpool(request.app.state.review.view, chosen)
    cards = [card_json(r) for group in view.groups for r in group[3]]
    return JSONResponse({"total": view.total, "page": chosen.page, "more": view.more,
                         "counts": view.counts, "images": cards}, headers=NO_STORE)


async def api_decide(request: Request) -> Response:
    auth: ReviewAuth = request.app.state.review_auth
    auth.check_change(request, auth.signed_in(request), request.headers.get(CSRF_HEADER))
    body = await _json_body(request)
    ids, status = checked_ids(body.get("ids")), checked_decision(body.get("status"))
    changed = await run_in_threadpool(request.app.state.review.decide, ids, status)
    return JSONResponse({"changed": changed}, headers=NO_STORE)


async def api_undo(request: Request) -> Response:
    auth: ReviewAuth = request.app.state.review_auth
    auth.check_change(request, auth.signed_in(request), request.headers.get(CSRF_HEADER))
    ids = checked_ids((await _json_body(request)).get("ids"))
    return JSONResponse({"changed": await run_in_threadpool(request.app.state.review.undo, ids)},
                        headers=NO_STORE)


async def form_decide(request: Request) -> Response:
    auth: ReviewAuth = request.app.state.review_auth
    csrf = auth.signed_in(request)  # before the body is read
    form = await _form(request)
    auth.check_change(request, csrf, form.get("csrf"))
    ids = checked_ids([form.get("id")])
    await run_in_threadpool(request.app.state.review.decide, ids,
                            checked_decision(form.get("status")))
    back = ReviewFilter.from_query(dict(parse_qsl(form.get("back", "")))).query()
    return RedirectResponse(f"/review?{back}#p-{ids[0]}" if back else f"/review#p-{ids[0]}",
                            status_code=303, headers=NO_STORE)


REVIEW_ROUTES = [Route("/review", review, methods=GET),
                 Route("/review/login", login_page, methods=GET),
                 Route("/review/login", login, methods=POST),
                 Route("/review/logout", logout, methods=POST),
                 Route("/review/decide", form_decide, methods=POST),
                 Route("/review/images/{image_id}", picture, methods=GET),
                 Route("/review/api/csrf", api_csrf, methods=GET),
                 Route("/review/api/images", api_images, methods=GET),
                 Route("/review/api/decide", api_decide, methods=POST),
                 Route("/review/api/undo", api_undo, methods=POST)]
