"""Who may use the review: a request's Bearer token or session (``sessions.py``), a change's
CSRF token and ``Origin``, and wrong tokens throttled per client. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ganpage.errors import GanpageError
from ganpage.web.conventions import NO_STORE
from ganpage.web.proxies import client_key
from ganpage.web.review.sessions import ReviewSessions, sessions_for_this_server
from ganpage.web.review.tokens import MAKE_TOKEN, token_problem

COOKIE = "ganpage_review"  # over plain http, Path=/review
SECURE_COOKIE = "__Host-ganpage_review"  # over https: Secure, Path=/, no Domain
CSRF_HEADER = "x-csrf-token"


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
