"""The review page of ``ganpage serve GALLERY --review``: every picture, per category, with its
scores and flags, approved, rejected or undone by click or key; only for whoever has the token.

The token is the one secret: ``Authorization: Bearer <token>`` for scripts, or the cookie the
login URL sets (HttpOnly, SameSite=Strict). Every change is a POST carrying the CSRF token. Both
are derived from the token, so every worker agrees on them; comparisons are constant-time.
Changes go through a connection of their own, so the catalog's ``data_version`` sees them and
``/`` follows within its refresh interval.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ganpage.errors import GanpageError
from ganpage.gallery import FORMATS, STATUSES, Gallery, ImageRecord
from ganpage.web.images import ImageFiles

TOKEN_VARIABLE = "GANPAGE_REVIEW_TOKEN"
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]{16,256}")  # what a URL fragment and a header hold
COOKIE = "ganpage_review"
COOKIE_SECONDS = 12 * 3600
CSRF_HEADER = "x-csrf-token"
DECISIONS = ("approved", "rejected")
PER_PAGE = 120
MAX_BODY_BYTES = 64 * 1024
MAX_IDS = 1000
NO_STORE = {"Cache-Control": "no-store"}
IMAGE_ID = re.compile(r"[0-9a-f]{12}")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # flag and score names in a filter
NO_FLAG = "none"  # the flag filter's value for "pictures without any flag"


def review_token(environ: Mapping[str, str] = os.environ) -> str:
    """``GANPAGE_REVIEW_TOKEN`` if set (checked), else a new random token."""
    token = environ.get(TOKEN_VARIABLE, "")
    if not token:
        return secrets.token_urlsafe(32)
    if not TOKEN_CHARACTERS.fullmatch(token):
        raise GanpageError(
            f"{TOKEN_VARIABLE} must be 16 to 256 letters, digits, '.', '_', '~' or '-'; make "
            "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token


def login_url(base: str, token: str) -> str:
    """The URL that signs a browser in. The token rides in the fragment, which browsers never
    send, so it stays out of access logs, proxies and Referer headers."""
    return f"{base.rstrip('/')}/review/login#token={token}"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def _derived(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), f"ganpage review {purpose}".encode(),
                    hashlib.sha256).hexdigest()


class ReviewAuth:
    """Checks a request's token (header or cookie) and a change's CSRF token.

    Values are compared as SHA-256 digests with ``secrets.compare_digest``: constant time, and
    the length of the secret is not given away either.
    """

    def __init__(self, token: str):
        self._token = _digest(token)
        self.session = _derived(token, "session")  # the cookie's value, never the token itself
        self._session = _digest(self.session)
        self.csrf = _derived(token, "csrf")
        self._csrf = _digest(self.csrf)

    def token_matches(self, given: str) -> bool:
        return secrets.compare_digest(_digest(given), self._token)

    def refusal(self, request: Request) -> int | None:
        """None when the request carries a valid token; else 401 (none) or 403 (a wrong one)."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, given = authorization.partition(" ")
            ok = scheme.lower() == "bearer" and self.token_matches(given.strip())
            return None if ok else 403
        cookie = request.cookies.get(COOKIE)
        if cookie is None:
            return 401
        return None if secrets.compare_digest(_digest(cookie), self._session) else 403

    def check(self, request: Request) -> None:
        """Raise 401 or 403 unless the request carries a valid token."""
        refusal = self.refusal(request)
        if refusal == 401:
            raise HTTPException(401, "sign in with the login URL `ganpage serve --review` "
                                "printed, or send Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": 'Bearer realm="ganpage review"'})
        if refusal == 403:
            raise HTTPException(403, "wrong review token; use the one `ganpage serve --review` "
                                "printed or GANPAGE_REVIEW_TOKEN")

    def check_change(self, request: Request, sent_csrf: str | None) -> None:
        """Raise 401 or 403 unless the request may change something: a valid token, not sent
        from another site, carrying the CSRF token."""
        self.check(request)
        if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
            raise HTTPException(403, "changes must come from the review page itself")
        if sent_csrf is None or not secrets.compare_digest(_digest(sent_csrf), self._csrf):
            raise HTTPException(403, f"missing or wrong CSRF token: send the {CSRF_HEADER} "
                                "header (GET /review/api/csrf), or reload /review")


def numeric_scores(record: ImageRecord) -> dict[str, float]:
    """The record's numeric scores, one level of nesting spelt ``outer.inner``."""
    scores: dict[str, float] = {}
    for name, value in record.scores.items():
        inner = value if isinstance(value, dict) else {"": value}
        for key, number in inner.items():
            if isinstance(number, int | float) and not isinstance(number, bool):
                scores[f"{name}.{key}" if key else name] = float(number)
    return scores


@dataclass(frozen=True)
class ReviewFilter:
    """What the review page shows: filters by category, status, flag and a score range, and
    the page. Built only from checked query values; ``query()`` spells it back."""

    category: str = ""
    status: str = ""
    flag: str = ""  # a flag name, or NO_FLAG for pictures without any
    score: str = ""  # a score name: shown pictures have it (within min..max), lowest first
    min: float | None = None
    max: float | None = None
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ReviewFilter:
        """The filter a query asks for; a 400 naming the first bad value."""
        values: dict[str, object] = {}
        checks = {"category": SLUG, "flag": NAME, "score": NAME}
        for name, pattern in checks.items():
            if params.get(name):
                values[name] = _matching(name, params[name], pattern)
        if params.get("status"):
            if params["status"] not in STATUSES:
                raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}")
            values["status"] = params["status"]
        for bound in ("min", "max"):
            if params.get(bound):
                values[bound] = _number(bound, params[bound])
        if params.get("page"):
            raw = params["page"]
            if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) < 1:
                raise HTTPException(400, "page must be a whole number from 1")
            values["page"] = int(raw)
        return cls(**values)  # type: ignore[arg-type]

    def keeps(self, record: ImageRecord) -> bool:
        if self.category and record.category != self.category:
            return False
        if self.status and record.status != self.status:
            return False
        if self.flag and (record.flags if self.flag == NO_FLAG else self.flag not in record.flags):
            return False
        if self.score:
            value = numeric_scores(record).get(self.score)
            if value is None or (self.min is not None and value < self.min):
                return False
            if self.max is not None and value > self.max:
                return False
        return True

    def query(self, **changes: object) -> str:
        """The query string of this filter (with ``changes``), defaults left out."""
        chosen = replace(self, **changes)  # type: ignore[arg-type]
        pairs = [(f.name, getattr(chosen, f.name)) for f in fields(chosen)]
        return urlencode([(k, v) for k, v in pairs
                          if v not in ("", None) and (k, v) != ("page", 1)])


def _matching(name: str, value: str, pattern: re.Pattern) -> str:
    if not pattern.fullmatch(value):
        raise HTTPException(400, f"{name} {value[:40]!r} is not a valid {name} name")
    return value


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or len(raw) > 32:
        raise HTTPException(400, f"{name} must be a number, like 0.5")
    return value


class ReviewDesk:
    """The review's own connection to the gallery index, used one thread at a time. Writing
    here, not through the catalog's connection, is what lets the catalog notice the change."""

    def __init__(self, gallery_root: str | Path):
        self.gallery = Gallery.open(gallery_root, shared=True)
        self.files = ImageFiles(self.gallery)
        self._lock = threading.Lock()

    def records(self) -> list[ImageRecord]:
        with self._lock:
            return self.gallery.records(STATUSES)

    def get(self, image_id: str) -> ImageRecord | None:
        with self._lock:
            return self.gallery.get(image_id)

    def picture(self, image_id: str) -> tuple[ImageRecord, bytes] | None:
        with self._lock:
            record = self.gallery.get(image_id)
            data = self.files.read(record) if record is not None else None
        return (record, data) if record is not None and data is not None else None

    def decide(self, ids: list[str], status: str) -> list[dict]:
        """Set ``status`` on every picture of ``ids`` (all of them exist, or none changes)."""
        with self._lock:
            self._check_exist(ids)
            self.gallery.set_status(status, ids, decided_by="review")
            return [card_json(self.gallery.get(i)) for i in ids]  # type: ignore[arg-type]

    def undo(self, ids: list[str]) -> list[dict]:
        """Revert each picture's latest decision (status and who decided, as before it)."""
        with self._lock:
            self._check_exist(ids)
            for image_id in ids:
                self.gallery.undo(image_id, decided_by="review")
            return [card_json(self.gallery.get(i)) for i in ids]  # type: ignore[arg-type]

    def _check_exist(self, ids: list[str]) -> None:
        missing = sorted(set(ids) - self.gallery.existing_ids(ids))
        if missing:
            raise HTTPException(404, f"no picture with the id {', '.join(missing[:10])}"
                                f"{' ...' if len(missing) > 10 else ''}; nothing was changed")

    def close(self) -> None:
        self.gallery.close()


def card_json(record: ImageRecord) -> dict:
    """What the review page and its API say about one picture."""
    return {"id": record.id, "category": record.category,
            "category_name": record.category_name, "seed": record.seed,
            "truncation": record.truncation, "status": record.status,
            "decided_by": record.decided_by, "decided_at": record.decided_at,
            "scores": numeric_scores(record), "flags": list(record.flags),
            "image_url": f"/review/images/{record.id}", "permalink": f"/p/{record.id}"}


@dataclass
class ReviewView:
    """One page of the review: the filtered pictures grouped by category, and the choices the
    filter form offers."""

    groups: list[tuple[str, str, int, list[ImageRecord]]]  # (slug, name, matching, shown)
    total: int
    more: bool
    counts: dict[str, int]
    categories: list[tuple[str, str]]
    flags: list[str]
    score_names: list[str]

    @classmethod
    def of(cls, records: list[ImageRecord], chosen: ReviewFilter) -> ReviewView:
        kept = [r for r in records if chosen.keeps(r)]
        if chosen.score:
            kept.sort(key=lambda r: numeric_scores(r)[chosen.score])
        kept.sort(key=lambda r: r.category_name.lower())  # stable: score order within each
        per_category: dict[str, int] = {}
        for record in kept:
            per_category[record.category] = per_category.get(record.category, 0) + 1
        start = (chosen.page - 1) * PER_PAGE
        groups: dict[str, tuple[str, str, int, list[ImageRecord]]] = {}
        for record in kept[start:start + PER_PAGE]:
            group = groups.setdefault(record.category, (
                record.category, record.category_name, per_category[record.category], []))
            group[3].append(record)
        counts = {status: sum(r.status == status for r in records) for status in STATUSES}
        names = {r.category: r.category_name for r in records}
        return cls(list(groups.values()), len(kept), len(kept) > start + PER_PAGE, counts,
                   sorted(names.items(), key=lambda item: item[1].lower()),
                   sorted({f for r in records for f in r.flags}),
                   sorted({s for r in records for s in numeric_scores(r)}))


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    return body


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


def _checked_ids(value: object) -> list[str]:
    if (not isinstance(value, list) or not 1 <= len(value) <= MAX_IDS
            or not all(isinstance(i, str) and IMAGE_ID.fullmatch(i) for i in value)):
        raise HTTPException(400, f"ids must be a list of 1 to {MAX_IDS} picture ids "
                            "(12 hex digits each)")
    return list(dict.fromkeys(value))


def _checked_decision(value: object) -> str:
    if value not in DECISIONS:
        raise HTTPException(400, f"status must be one of {', '.join(DECISIONS)}")
    return str(value)


def add_review_routes(app: FastAPI, desk: ReviewDesk, auth: ReviewAuth, render) -> None:
    """Add ``/review``, its login, pictures and API to ``app``. ``render(template, **context)``
    renders a page. Only called when the site runs with ``--review``."""

    def page(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
        return HTMLResponse(render(template, **context), status_code=status_code,
                            headers={**NO_STORE, "X-Robots-Tag": "noindex"})

    async def login_page(request: Request) -> Response:
        return page("review_login.html")

    async def login(request: Request) -> Response:
        token = (await _form(request)).get("token")
        if token is None or not auth.token_matches(token):
            return page("review_login.html", status_code=403, wrong=True)
        response = RedirectResponse("/review", status_code=303, headers=NO_STORE)
        response.set_cookie(COOKIE, auth.session, max_age=COOKIE_SECONDS, path="/review",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    async def logout(request: Request) -> Response:
        auth.check_change(request, (await _form(request)).get("csrf"))
        response = RedirectResponse("/review/login", status_code=303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path="/review", httponly=True, samesite="strict")
        return response

    async def review(request: Request) -> Response:
        refusal = auth.refusal(request)
        if refusal is not None:
            return page("review_login.html", status_code=refusal, wrong=refusal == 403)
        chosen = ReviewFilter.from_query(request.query_params)
        view = ReviewView.of(await run_in_threadpool(desk.records), chosen)
        return page("review.html", view=view, chosen=chosen, csrf=auth.csrf,
                    scores=numeric_scores, no_flag=NO_FLAG)

    async def picture(request: Request) -> Response:
        auth.check(request)
        image_id = request.path_params["image_id"]
        found = await run_in_threadpool(desk.picture, image_id) if IMAGE_ID.fullmatch(
            image_id) else None
        if found is None:
            raise HTTPException(404, "no such picture")
        record, data = found
        return Response(data, media_type=FORMATS[record.format],
                        headers={"Cache-Control": "private, max-age=3600"})

    async def api_csrf(request: Request) -> Response:
        auth.check(request)
        return JSONResponse({"csrf": auth.csrf, "header": CSRF_HEADER}, headers=NO_STORE)

    async def api_images(request: Request) -> Response:
        auth.check(request)
        chosen = ReviewFilter.from_query(request.query_params)
        view = ReviewView.of(await run_in_threadpool(desk.records), chosen)
        cards = [card_json(r) for group in view.groups for r in group[3]]
        return JSONResponse({"total": view.total, "page": chosen.page, "more": view.more,
                             "counts": view.counts, "images": cards}, headers=NO_STORE)

    async def api_decide(request: Request) -> Response:
        auth.check_change(request, request.headers.get(CSRF_HEADER))
        body = await _json_body(request)
        ids, status = _checked_ids(body.get("ids")), _checked_decision(body.get("status"))
        changed = await run_in_threadpool(desk.decide, ids, status)
        return JSONResponse({"changed": changed}, headers=NO_STORE)

    async def api_undo(request: Request) -> Response:
        auth.check_change(request, request.headers.get(CSRF_HEADER))
        ids = _checked_ids((await _json_body(request)).get("ids"))
        return JSONResponse({"changed": await run_in_threadpool(desk.undo, ids)},
                            headers=NO_STORE)

    async def form_decide(request: Request) -> Response:
        form = await _form(request)
        auth.check_change(request, form.get("csrf"))
        ids = _checked_ids([form.get("id")])
        await run_in_threadpool(desk.decide, ids, _checked_decision(form.get("status")))
        back = ReviewFilter.from_query(dict(parse_qsl(form.get("back", "")))).query()
        return RedirectResponse(f"/review?{back}#p-{ids[0]}" if back else f"/review#p-{ids[0]}",
                                status_code=303, headers=NO_STORE)

    routes = [("/review", review, ["GET", "HEAD"]),
              ("/review/login", login_page, ["GET", "HEAD"]),
              ("/review/login", login, ["POST"]),
              ("/review/logout", logout, ["POST"]),
              ("/review/decide", form_decide, ["POST"]),
              ("/review/images/{image_id}", picture, ["GET", "HEAD"]),
              ("/review/api/csrf", api_csrf, ["GET", "HEAD"]),
              ("/review/api/images", api_images, ["GET", "HEAD"]),
              ("/review/api/decide", api_decide, ["POST"]),
              ("/review/api/undo", api_undo, ["POST"])]
    for path, endpoint, methods in routes:
        app.add_route(path, endpoint, methods=methods, include_in_schema=False)
