"""The review token, the one secret of ``serve --review``: what a token must be, where it comes
from (``GANPAGE_REVIEW_TOKEN``, else a new one) and the line ``serve`` prints about it (the
token only when it was just made, and only to a terminal)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping

from ganpage.errors import GanpageError

TOKEN_VARIABLE = "GANPAGE_REVIEW_TOKEN"
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]+")  # what a URL fragment and a header hold
# The least a token may be: 32 characters (128 bits as hex) with 8 different ones at least;
# secrets.token_urlsafe(32), what a new one is, has 43 and about 31.
MIN_TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 256
MIN_TOKEN_CHARACTERS = 8
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


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
