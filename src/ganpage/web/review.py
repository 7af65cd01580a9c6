"""The review page of ``ganpage serve GALLERY --review``: every picture, per category, with its
scores and flags, approved, rejected or undone by click or key; only for whoever has the token.

The token is the one secret: ``Authorization: Bearer <token>`` for scripts, or a session that
signing in with it starts (``review_sessions.py``: kept by the server, shared by its workers,
ended by signing out or after ``SESSION_SECONDS``; its cookie is HttpOnly, SameSite=Strict, and
``Secure`` with a ``__Host-`` name when the site is served over https). Every change is a POST
carrying the CSRF token (the session's own; for Bearer clients one derived from the token), from
the site's own origin. Wrong tokens are throttled per client; a body is read only after the
request has signed in (the login form's excepted), and never past ``MAX_BODY_BYTES``.
Comparisons are constant-time. Changes go through a connection of their own, so the catalog's
``data_version`` sees them and ``/`` follows within its refresh interval.
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
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ganpage.errors import GanpageError
from ganpage.gallery import FORMATS, STATUSES, Gallery, ImageRecord
from ganpage.web.images import ImageFiles
from ganpage.web.proxies import client_key
from ganpage.web.review_sessions import ReviewSessions, sessions_for_this_server

TOKEN_VARIABLE = "GANPAGE_REVIEW_TOKEN"
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]+")  # what a URL fragment and a header hold
# The least a token may be: 32 characters (128 bits as hex) with 8 different ones at least;
# secrets.token_urlsafe(32), what a new one is, has 43 and about 31.
MIN_TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 256
MIN_TOKEN_CHARACTERS = 8
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
COOKIE = "ganpage_review"  # over plain http, Path=/review
SECURE_COOKIE = "__Host-ganpage_review"  # over https: Secure, Path=/, no Domain
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


def token_problem(token: str) -> str:
    """Why ``token`` may not be the review token ("" if it may)."""
    if not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH or not (
            TOKEN_CHARACTERS.fullmatch(token)):
        return (f"must be {MIN_TOKEN_LENGTH} to {MAX_TOKEN_LENGTH} letters, digits, '.', '_', "
                "'~' or '-'")
    if len(set(token)) < MIN_TOKEN_CHARACTERS:
        return (f"is too easy to guess: it has fewer than {MIN_TOKEN_CHARACTERS} different "
                "characters")
    return ""


def review_token(environ: Mapping[str, str] = os.environ) -> str:
    """``GANPAGE_REVIEW_TOKEN`` if set (checked), else a new random token."""
    token = environ.get(TOKEN_VARIABLE, "")
    if not token:
        return secrets.token_urlsafe(32)
    problem = token_problem(token)
    if problem:
        raise GanpageError(f"{TOKEN_VARIABLE} {problem}; make one with: {MAKE_TOKEN}")
    return token


def login_url(base: str, token: str) -> str:
    """The URL that signs a browser in. The token rides in the fragment, which browsers never
    send, so it stays out of access logs, proxies and Referer headers."""
    return f"{base.rstrip('/')}/review/login#token={token}"


def login_line(base: str, token: str, terminal: bool,
               environ: Mapping[str, str] = os.environ) -> str:
    """What ``serve --review`` prints at start: the login URL with the token only when the
    token was just made and the line goes to a terminal (a token from ``GANPAGE_REVIEW_TOKEN``
    is never printed); a new token with no terminal to show it on is one line of error, as it
    would otherwise land in a log (systemd's journal) or nowhere."""
    if environ.get(TOKEN_VARIABLE) == token:
        return f"review page: {base.rstrip('/')}/review/login (sign in with {TOKEN_VARIABLE})"
    if not terminal:
        raise GanpageError(f"--review made a new token, but standard output is not a terminal, "
                           f"so it would go to a log; set {TOKEN_VARIABLE} (make one with: "
                           f"{MAKE_TOKEN}) and sign in with it at /review/login")
    return f"review page: {login_url(base, token)}"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def _derived(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), f"ganpage review {purpose}".encode(),
                    hashlib.sha256).hexdigest()


def _authority(scheme: str, netloc: str) -> tuple[str, int | None]:
    """(host, port) of an origin or a Host header, the scheme's default port filled in."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return ("", None)
    return ((parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme))


class ReviewAuth:
    """Who may use the review: a request's Bearer token or session, a change's CSRF token and
    origin; wrong tokens throttled per client.

    The token is compared as a SHA-256 digest with ``secrets.compare_digest``: constant time,
    and the length of the secret is not given away either.
    """

    def __init__(self, token: str, sessions: ReviewSessions | None = None,
                 public_url: str = ""):
        problem = token_problem(token)
        if problem:
            raise GanpageError(f"the review token {problem}; make one with: {MAKE_TOKEN}")
        self._token = _digest(token)
        self.csrf = _derived(token, "csrf")  # a Bearer client's: it holds the token anyway
        self._csrf = _digest(self.csrf)
        self.sessions = sessions if sessions is not None else sessions_for_this_server()
        self.public_url = public_url.rstrip("/")

    def token_matches(self, given: str) -> bool:
        return secrets.compare_digest(_digest(given), self._token)

    def secure(self, request: Request) -> bool:
        """Whether the site is served over https (the request, after a trusted proxy's
        X-Forwarded-Proto, or --public-url says so): the cookie is then Secure."""
        return request.url.scheme == "https" or self.public_url.startswith("https://")

    def cookie_name(self, request: Request) -> str:
        return SECURE_COOKIE if self.secure(request) else COOKIE

    def set_cookie(self, request: Request, response: Response, session: str | None) -> None:
        """Give the browser the session's cookie (None: delete it)."""
        secure = self.secure(request)
        options = {"path": "/" if secure else "/review", "httponly": True,
                   "samesite": "strict", "secure": secure}
        if session is None:
            response.delete_cookie(self.cookie_name(request), **options)  # type: ignore[arg-type]
        else:
            response.set_cookie(self.cookie_name(request), session,
                                max_age=int(self.sessions.lifetime), **options)  # type: ignore[arg-type]

    def throttle(self, request: Request) -> None:
        """Raise 429 while the request's client has tried too many wrong tokens."""
        wait = self.sessions.wait_needed(client_key(request.client.host if request.client
                                                    else "unknown"))
        if wait > 0:
            raise HTTPException(429, "too many wrong review tokens from your address; try again "
                                f"in {math.ceil(wait)} s", headers={
                                    "Retry-After": str(math.ceil(wait)), **NO_STORE})

    def wrong_token(self, request: Request) -> None:
        self.sessions.tried_wrong(client_key(request.client.host if request.client
                                             else "unknown"))

    def signed_in(self, request: Request) -> str:
        """The CSRF token that the request's sign-in (a Bearer token or a session) must send
        with changes; raises 401 (none, or a session that ended), 403 (a wrong token) or 429
        (too many wrong ones: the token is not even looked at)."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            self.throttle(request)
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(given.strip()):
                return self.csrf
            self.wrong_token(request)
            raise HTTPException(403, "wrong review token; use the one `ganpage serve --review` "
                                "printed or GANPAGE_REVIEW_TOKEN")
        cookie = request.cookies.get(self.cookie_name(request))
        csrf = self.sessions.csrf_of(cookie) if cookie else None
        if csrf is None:
            raise HTTPException(401, "sign in with the login URL `ganpage serve --review` "
                                "printed, or send Authorization: Bearer <token>" if cookie is None
                                else "your review session has ended (signed out, expired or the "
                                "server restarted); sign in again at /review/login",
                                headers={"WWW-Authenticate": 'Bearer realm="ganpage review"'})
        return csrf

    def check(self, request: Request) -> None:
        """Raise 401, 403 or 429 unless the request is signed in."""
        self.signed_in(request)

    def check_change(self, request: Request, expected_csrf: str, sent_csrf: str | None) -> None:
        """Raise 403 unless a signed-in request (``expected_csrf``: ``signed_in``'s) may change
        something: sent from the site's own pages, carrying the CSRF token."""
        if request.headers.get("sec-fetch-site", "same-origin") != "same-origin" or (
                not self.same_origin(request)):
            raise HTTPException(403, "changes must come from the review page itself")
        if sent_csrf is None or not secrets.compare_digest(_digest(sent_csrf),
                                                           _digest(expected_csrf)):
            raise HTTPException(403, f"missing or wrong CSRF token: send the {CSRF_HEADER} "
                                "header (GET /review/api/csrf), or reload /review")

    def same_origin(self, request: Request) -> bool:
        """Whether the request's Origin, if it sent one, is this site: the host it asked for
        (its Host header) or --public-url's. Browsers send Origin with every POST; a script
        that sends none still needs the CSRF token."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        scheme = origin.partition("://")[0].lower()
        if scheme not in ("http", "https"):
            return False  # "null": a sandboxed frame, a file, a redirect across sites
        sent = _authority(scheme, origin.partition("://")[2])
        allowed = {_authority(scheme, request.headers.get("host", ""))}
        if self.public_url:
            public = urlsplit(self.public_url)
            allowed.add(_authority(public.scheme, public.netloc))
        return sent[0] != "" and sent in allowed


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

    def login_refused(request: Request, error: HTTPException) -> HTMLResponse:
        refused = page("review_login.html", status_code=error.status_code,
                       wrong=error.status_code == 403, ended=error.status_code == 401 and (
                           auth.cookie_name(request) in request.cookies),
                       throttled=error.detail if error.status_code == 429 else "")
        refused.headers.update(error.headers or {})
        return refused

    async def login_page(request: Request) -> Response:
        return page("review_login.html")

    async def login(request: Request) -> Response:
        try:
            auth.throttle(request)  # before the token is looked at
        except HTTPException as error:
            return login_refused(request, error)
        token = (await _form(request)).get("token")
        if token is None or not auth.token_matches(token):
            auth.wrong_token(request)
            return page("review_login.html", status_code=403, wrong=True)
        session, _ = auth.sessions.begin()
        response = RedirectResponse("/review", status_code=303, headers=NO_STORE)
        auth.set_cookie(request, response, session)
        return response

    async def logout(request: Request) -> Response:
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
            csrf = auth.signed_in(request)
        except HTTPException as error:
            return login_refused(request, error)
        chosen = ReviewFilter.from_query(request.query_params)
        view = ReviewView.of(await run_in_threadpool(desk.records), chosen)
        return page("review.html", view=view, chosen=chosen, csrf=csrf,
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
        csrf = auth.signed_in(request)
        return JSONResponse({"csrf": csrf, "header": CSRF_HEADER}, headers=NO_STORE)

    async def api_images(request: Request) -> Response:
        auth.check(request)
        chosen = ReviewFilter.from_query(request.query_params)
        view = ReviewView.of(await run_in_threadpool(desk.records), chosen)
        cards = [card_json(r) for group in view.groups for r in group[3]]
        return JSONResponse({"total": view.total, "page": chosen.page, "more": view.more,
                             "counts": view.counts, "images": cards}, headers=NO_STORE)

    async def api_decide(request: Request) -> Response:
        auth.check_change(request, auth.signed_in(request), request.headers.get(CSRF_HEADER))
        body = await _json_body(request)
        ids, status = _checked_ids(body.get("ids")), _checked_decision(body.get("status"))
        changed = await run_in_threadpool(desk.decide, ids, status)
        return JSONResponse({"changed": changed}, headers=NO_STORE)

    async def api_undo(request: Request) -> Response:
        auth.check_change(request, auth.signed_in(request), request.headers.get(CSRF_HEADER))
        ids = _checked_ids((await _json_body(request)).get("ids"))
        return JSONResponse({"changed": await run_in_threadpool(desk.undo, ids)},
                            headers=NO_STORE)

    async def form_decide(request: Request) -> Response:
        csrf = auth.signed_in(request)  # before the body is read
        form = await _form(request)
        auth.check_change(request, csrf, form.get("csrf"))
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
