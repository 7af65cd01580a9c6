"""The review page (web/review/: tokens, sessions, auth, filters, decisions, routes): its
token, sessions, cookie, CSRF and origin checks, throttled wrong tokens, bodies read only when
allowed and never past the cap, the login URL printed only when it should be, its API and
filters (Starlette's TestClient, the app called as ASGI, real servers with two workers), and one
real browser rejecting a picture by keyboard."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import secrets
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.web.app import SiteConfig, create_app
from ganpage.web.review.auth import COOKIE, SECURE_COOKIE, ReviewAuth
from ganpage.web.review.filters import ReviewFilter
from ganpage.web.review.routes import MAX_BODY_BYTES
from ganpage.web.review.sessions import SESSION_SECONDS, TRIES, TRY_SECONDS
from ganpage.web.review.tokens import login_line, login_url, review_token
from helpers.browser import CHROMIUM, CHROMIUM_ARGS
from helpers.servers import free_port, wait_for_http

TOKEN = "test-review-token-0123456789-abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    """A copy of the tiny gallery (12 approved pictures) that a test may change."""
    return Path(shutil.copytree(tiny_gallery, tmp_path / "gallery"))


@pytest.fixture
def client(gallery: Path):
    app = create_app(gallery, SiteConfig(review_token=TOKEN, refresh_seconds=0))
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    app.close()


def statuses(gallery: Path) -> dict[str, str]:
    with Gallery.open(gallery) as opened:
        return {r.id: r.status for r in opened.records()}


def csrf_of(client: TestClient) -> str:
    return client.get("/review/api/csrf", headers=BEARER).json()["csrf"]


def some_id(gallery: Path) -> str:
    return sorted(statuses(gallery))[0]


def from_address(client: TestClient, address: str) -> TestClient:
    """Another client of the same app, from ``address`` (wrong tokens are counted per client)."""
    return TestClient(client.app, base_url="http://127.0.0.1", client=(address, 5000))


def signed_in(client: TestClient) -> str:
    """Sign ``client`` in with the login form; the session's CSRF token."""
    assert client.post("/review/login", data={"token": TOKEN},
                       follow_redirects=False).status_code == 303
    return client.get("/review/api/csrf").json()["csrf"]


# -- the token ----------------------------------------------------------------------------------

def test_without_review_the_routes_do_not_exist_and_public_pages_never_link_to_them(gallery):
    plain = TestClient(create_app(gallery))
    for path in ("/review", "/review/login", "/review/api/images", "/review/api/csrf"):
        assert plain.get(path, headers=BEARER).status_code == 404, path
    assert plain.post("/review/api/decide", headers=BEARER, json={}).status_code in (404, 405)
    reviewed = TestClient(create_app(gallery, SiteConfig(review_token=TOKEN)))
    picture = reviewed.get("/api/random").json()
    for path in ("/", picture["permalink"], "/c/bagel", "/categories", "/about",
                 "/openapi.json"):
        assert "/review" not in reviewed.get(path).text, path


def test_without_a_valid_token_review_and_its_api_refuse_and_change_nothing(client, gallery):
    before = statuses(gallery)
    image_id = some_id(gallery)
    wrong = {"Authorization": "Bearer not-the-token-at-all-000"}
    for number, (headers, expected) in enumerate((
            ({}, 401), (wrong, 403), ({"Authorization": TOKEN}, 403),
            ({"Authorization": f"Basic {TOKEN}"}, 403))):
        client = from_address(client, f"10.0.0.{number + 1}")  # 5 wrong tries each
        assert client.get("/review/api/images", headers=headers).status_code == expected
        assert client.get("/review/api/csrf", headers=headers).status_code == expected
        assert client.get(f"/review/images/{image_id}", headers=headers).status_code == expected
        page = client.get("/review", headers=headers)
        assert page.status_code == expected and 'id="login-form"' in page.text
        assert image_id not in page.text
        answer = client.post("/review/api/decide", json={"ids": [image_id], "status": "rejected"},
                             headers={**headers, "X-CSRF-Token": ReviewAuth(TOKEN).csrf})
        assert answer.status_code == expected
    assert client.get("/review/api/images").headers["www-authenticate"].startswith("Bearer")
    client.cookies.set(COOKIE, "forged-cookie-value", path="/review")
    assert client.get("/review/api/images").status_code == 401  # no such session
    assert statuses(gallery) == before


def test_the_login_form_sets_an_httponly_samesite_strict_cookie(client):
    assert client.post("/review/login", data={"token": "wrong-token-wrong-token"},
                       follow_redirects=False).status_code == 403
    assert COOKIE not in client.cookies
    answer = client.post("/review/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/review" in cookie
    assert TOKEN not in cookie  # the cookie holds a session's id, nothing of the token
    assert "Secure" not in cookie and f"Max-Age={SESSION_SECONDS}" in cookie
    assert client.get("/review").status_code == 200
    assert client.get("/review/api/images").json()["total"] == 12


def test_tokens_from_the_environment_are_checked_and_a_missing_one_is_made():
    made = review_token({})
    assert len(made) >= 40 and made != review_token({})
    assert review_token({"GANPAGE_REVIEW_TOKEN": TOKEN}) == TOKEN
    for good in (secrets.token_urlsafe(32), secrets.token_hex(16)):
        assert review_token({"GANPAGE_REVIEW_TOKEN": good}) == good
    for bad in ("short", "has space in the token here", "x" * 300, "ünicode-token-0123456",
                "test-review-token-0123456789",  # 28 characters: under the minimum of 32
                "a" * 32, "aaaaaaaaaaaaaaaa" * 3, "abcdefg" * 6):  # fewer than 8 different
        with pytest.raises(GanpageError, match="GANPAGE_REVIEW_TOKEN") as caught:
            review_token({"GANPAGE_REVIEW_TOKEN": bad})
        assert "\n" not in str(caught.value) and "secrets.token_urlsafe" in str(caught.value)
    with pytest.raises(GanpageError, match="the review token is too easy to guess"):
        ReviewAuth("a" * 40)  # a site made in code is held to the same minimum
    assert login_url("http://127.0.0.1:8000/", TOKEN) == (
        f"http://127.0.0.1:8000/review/login#token={TOKEN}")


def test_the_token_is_printed_only_when_made_and_only_to_a_terminal():
    base, made = "http://127.0.0.1:8000", review_token({})
    chosen = {"GANPAGE_REVIEW_TOKEN": TOKEN}
    assert login_line(base, made, terminal=True, environ={}) == (
        f"review page: {login_url(base, made)}")
    for terminal in (True, False):  # a token the owner chose is never printed
        line = login_line(base, TOKEN, terminal=terminal, environ=chosen)
        assert TOKEN not in line and line.endswith("(sign in with GANPAGE_REVIEW_TOKEN)")
    with pytest.raises(GanpageError, match="not a terminal.*set GANPAGE_REVIEW_TOKEN") as caught:
        login_line(base, made, terminal=False, environ={})
    assert made not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_a_new_token_with_no_terminal_to_show_it_stops_the_server_in_one_line(gallery, reap):
    environment = {key: value for key, value in os.environ.items()
                   if key != "GANPAGE_REVIEW_TOKEN"}
    process = reap(subprocess.Popen(  # its own group: reaped whole if it serves instead
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--review",
         "--port", str(free_port()), "--metrics-port", "0"], env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "#token=" not in stdout + stderr
    assert len(stderr.strip().splitlines()) == 1 and "set GANPAGE_REVIEW_TOKEN" in stderr


@pytest.mark.slow
def test_a_new_token_is_printed_to_a_terminal(gallery, reap):
    environment = {key: value for key, value in os.environ.items()
                   if key != "GANPAGE_REVIEW_TOKEN"}
    port = free_port()
    terminal, child_end = pty.openpty()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--review",
         "--port", str(port), "--metrics-port", "0"],
        env=environment, stdin=subprocess.DEVNULL, stdout=child_end,
        stderr=subprocess.DEVNULL, start_new_session=True))
    os.close(child_end)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while b"#token=" not in shown or not shown.endswith(b"\n"):
            assert time.monotonic() < deadline and process.poll() is None, shown
            if select.select([terminal], [], [], 0.5)[0]:
                shown += os.read(terminal, 4096)
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(terminal)
    url = re.search(rb"review page: (\S+)", shown).group(1).decode()
    assert url.startswith(f"http://127.0.0.1:{port}/review/login#token=")
    assert len(url.split("#token=")[1]) >= 40


def test_each_sign_in_is_a_session_of_its_own_with_its_own_csrf(client, gallery):
    first, second = client, from_address(client, "10.0.0.9")
    first_csrf, second_csrf = signed_in(first), signed_in(second)
    assert first.cookies[COOKIE] != second.cookies[COOKIE] and first_csrf != second_csrf
    assert TOKEN not in (first_csrf, second_csrf, first.cookies[COOKIE])
    body = {"ids": [some_id(gallery)], "status": "rejected"}
    assert first.post("/review/api/decide", json=body,
                      headers={"X-CSRF-Token": second_csrf}).status_code == 403
    assert statuses(gallery)[some_id(gallery)] == "approved"
    bearer = client.get("/review/api/csrf", headers=BEARER).json()["csrf"]
    assert bearer == ReviewAuth(TOKEN).csrf  # a script's: every worker derives the same


def test_signing_out_ends_the_session_for_good(client, gallery):
    csrf = signed_in(client)
    cookie = client.cookies[COOKIE]
    answer = client.post("/review/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/review/login"
    assert COOKIE not in client.cookies
    client.cookies.set(COOKIE, cookie, path="/review")  # the old cookie, kept by someone
    assert client.get("/review/api/images").status_code == 401
    page = client.get("/review")
    assert page.status_code == 401 and "Your sign-in has ended" in page.text
    assert client.post("/review/api/decide", json={"ids": [some_id(gallery)],
                                                   "status": "rejected"},
                       headers={"X-CSRF-Token": csrf}).status_code == 401
    assert statuses(gallery)[some_id(gallery)] == "approved"


def test_a_session_expires(client):
    signed_in(client)
    assert client.get("/review/api/images").status_code == 200
    sessions = client.app.app.state.review_auth.sessions
    sessions.clock = lambda: time.time() + SESSION_SECONDS + 1
    assert client.get("/review/api/images").status_code == 401


def test_over_https_the_cookie_is_secure_with_a_host_prefix(gallery):
    told = create_app(gallery, SiteConfig(review_token=TOKEN,
                                          public_url="https://site.example"))
    proxied = create_app(gallery, SiteConfig(review_token=TOKEN,
                                             trusted_proxies=("127.0.0.1",)))
    https = {"X-Forwarded-Proto": "https"}
    cases = [(told, "127.0.0.1", {}, True), (proxied, "127.0.0.1", https, True),
             (proxied, "127.0.0.1", {}, False), (proxied, "10.0.0.5", https, False)]
    for app, address, headers, secure in cases:
        client = TestClient(app, base_url="http://127.0.0.1", client=(address, 5000))
        answer = client.post("/review/login", data={"token": TOKEN}, headers=headers,
                             follow_redirects=False)
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SECURE_COOKIE}=" if secure else f"{COOKIE}="), cookie
        assert ("Secure" in cookie) == secure and ("Path=/;" in cookie) == secure
        session = cookie.split(";")[0].split("=", 1)[1]
        name = SECURE_COOKIE if secure else COOKIE
        assert client.get("/review/api/images", headers={**headers, "Cookie": f"{name}={session}"}
                          ).status_code == 200
    told.close()
    proxied.close()


def test_wrong_tokens_are_throttled_per_client_and_then_the_right_one_waits_too(client):
    for _ in range(TRIES // 2):
        assert client.post("/review/login", data={"token": "x" * 40}).status_code == 403
        assert client.get("/review/api/images", headers={
            "Authorization": "Bearer " + "y" * 40}).status_code == 403
    refused = client.post("/review/login", data={"token": TOKEN}, follow_redirects=False)
    assert refused.status_code == 429 and COOKIE not in client.cookies
    assert 1 <= int(refused.headers["retry-after"]) <= TRY_SECONDS + 1
    assert "too many wrong review tokens" in refused.text.lower()
    throttled = client.get("/review/api/images", headers=BEARER)
    assert throttled.status_code == 429 and "\n" not in throttled.json()["detail"]
    elsewhere = from_address(client, "10.0.0.7")  # another client is not held up
    assert elsewhere.get("/review/api/images", headers=BEARER).status_code == 200
    sessions = client.app.app.state.review_auth.sessions
    sessions.clock = lambda: time.time() + TRY_SECONDS  # one more try a while later
    assert client.get("/review/api/images", headers=BEARER).status_code == 200


def test_ipv6_clients_of_one_64_share_their_wrong_tries(client):
    for host in range(TRIES):
        other = from_address(client, f"2001:db8:1:2::{host + 1:x}")
        assert other.get("/review/api/images", headers={
            "Authorization": "Bearer " + "z" * 40}).status_code == 403
    same_block = from_address(client, "2001:db8:1:2:ffff::1")
    assert same_block.get("/review/api/images", headers=BEARER).status_code == 429
    next_block = from_address(client, "2001:db8:1:3::1")
    assert next_block.get("/review/api/images", headers=BEARER).status_code == 200


# -- CSRF ---------------------------------------------------------------------------------------

def test_a_change_without_the_csrf_token_changes_nothing(client, gallery):
    csrf = signed_in(client)
    before, image_id = statuses(gallery), some_id(gallery)
    body = {"ids": [image_id], "status": "rejected"}
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64},
                    {"X-CSRF-Token": TOKEN}, {"X-CSRF-Token": ReviewAuth(TOKEN).csrf}):
        assert client.post("/review/api/decide", json=body, headers=headers).status_code == 403
    form = {"id": image_id, "status": "rejected"}
    assert client.post("/review/decide", data=form, follow_redirects=False).status_code == 403
    assert client.post("/review/decide", data={**form, "csrf": "nope"},
                       follow_redirects=False).status_code == 403
    # the right token, but sent from another site's page
    assert client.post("/review/api/decide", json=body, headers={
        "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/review/logout", follow_redirects=False).status_code == 403
    assert statuses(gallery) == before


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://evil.example", False), ("null", False), ("http://127.0.0.1.evil.example", False),
    ("http://127.0.0.1:8080", False), ("http://127.0.0.1", True), ("HTTP://127.0.0.1:80", True),
])
def test_a_change_from_another_origin_changes_nothing(client, gallery, origin, allowed):
    image_id = some_id(gallery)
    answer = client.post("/review/api/decide", json={"ids": [image_id], "status": "rejected"},
                         headers={**BEARER, "X-CSRF-Token": csrf_of(client), "Origin": origin})
    assert answer.status_code == (200 if allowed else 403), answer.text
    assert statuses(gallery)[image_id] == ("rejected" if allowed else "approved")
    csrf = signed_in(client)
    form = client.post("/review/decide", data={"id": image_id, "status": "approved",
                                               "csrf": csrf},
                       headers={"Origin": origin}, follow_redirects=False)
    assert form.status_code == (303 if allowed else 403)


def test_the_public_url_is_an_origin_of_the_site_too(gallery):
    app = create_app(gallery, SiteConfig(review_token=TOKEN, public_url="https://site.example"))
    client = TestClient(app, base_url="http://127.0.0.1")
    headers = {**BEARER, "X-CSRF-Token": csrf_of(client)}
    for origin, status in (("https://site.example", 200), ("https://other.example", 403)):
        answer = client.post("/review/api/decide", headers={**headers, "Origin": origin},
                             json={"ids": [some_id(gallery)], "status": "rejected"})
        assert answer.status_code == status
    app.close()


# -- bodies -------------------------------------------------------------------------------------

CHUNK = 64 * 1024


def post_asgi(app, path: str, headers: dict[str, str], chunks: int) -> tuple[int, int]:
    """POST ``chunks`` pieces of 64 kB to ``app`` as a server hands a body over, on demand;
    (the status answered, the bytes the app took)."""
    taken, sent, answer = 0, 0, {}

    async def receive() -> dict:
        nonlocal taken, sent
        if sent == chunks:
            return {"type": "http.disconnect"}
        sent += 1
        taken += CHUNK
        return {"type": "http.request", "body": b"t" * CHUNK, "more_body": sent < chunks}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(app(scope, receive, send))
    return answer["status"], taken


def test_bodies_are_refused_by_their_length_and_read_no_further_than_the_cap(gallery):
    app = create_app(gallery, SiteConfig(review_token=TOKEN))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    huge = {**form, "Content-Length": str(512 * 1024 * 1024)}
    assert post_asgi(app, "/review/login", huge, chunks=128) == (413, 0)  # said: not read
    status, taken = post_asgi(app, "/review/login", form, chunks=128)  # chunked: 8 MB
    assert status == 413 and taken <= MAX_BODY_BYTES + CHUNK
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-CSRF-Token": ReviewAuth(TOKEN).csrf}
    status, taken = post_asgi(app, "/review/api/decide", {**bearer, **form}, chunks=128)
    assert status == 413 and taken <= MAX_BODY_BYTES + CHUNK
    app.close()


@pytest.mark.parametrize("path", ["/review/decide", "/review/logout", "/review/api/decide",
                                  "/review/api/undo"])
def test_a_body_is_not_read_before_the_token_is_checked(gallery, path):
    app = create_app(gallery, SiteConfig(review_token=TOKEN))
    form = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "40000"}
    assert post_asgi(app, path, form, chunks=1) == (401, 0)
    wrong = {**form, "Authorization": "Bearer " + "w" * 40}
    assert post_asgi(app, path, wrong, chunks=1) == (403, 0)
    app.close()


def test_the_page_carries_the_csrf_token_its_forms_and_script_send(client, gallery):
    csrf = signed_in(client)  # the session's own
    page = client.get("/review").text
    assert f'<meta name="csrf-token" content="{csrf}">' in page
    assert page.count(f'name="csrf" value="{csrf}"') == 13  # 12 cards and the sign-out form
    assert "<script" not in page.replace('<script src="/static/review.js" defer></script>', "")
    image_id = some_id(gallery)
    answer = client.post("/review/decide", data={"id": image_id, "status": "rejected",
                                                 "csrf": csrf, "back": "status=approved"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/review?status=approved#p-{image_id}"
    assert statuses(gallery)[image_id] == "rejected"


# -- the API and what / shows -------------------------------------------------------------------

def test_decide_with_bearer_and_csrf_and_the_site_follows(client, gallery):
    image_id = some_id(gallery)
    headers = {**BEARER, "X-CSRF-Token": csrf_of(client)}
    assert client.get(f"/p/{image_id}").status_code == 200
    answer = client.post("/review/api/decide", json={"ids": [image_id], "status": "rejected"},
                         headers=headers)
    assert answer.status_code == 200
    assert [(c["id"], c["status"]) for c in answer.json()["changed"]] == [(image_id, "rejected")]
    assert statuses(gallery)[image_id] == "rejected"
    deadline = time.monotonic() + 5  # the catalog reloads in the background
    while client.get(f"/p/{image_id}").status_code != 404:
        assert time.monotonic() < deadline, "/ still shows the rejected picture"
        time.sleep(0.05)
    assert image_id not in {client.get("/api/random").json()["id"] for _ in range(60)}
    shown = client.get("/review/api/images?status=rejected", headers=BEARER).json()
    assert [c["id"] for c in shown["images"]] == [image_id]
    assert client.get(f"/review/images/{image_id}", headers=BEARER).content[:4] == b"RIFF"


def test_undo_restores_the_status_and_who_decided(client, gallery):
    image_id = some_id(gallery)
    headers = {**BEARER, "X-CSRF-Token": csrf_of(client)}
    before = client.get("/review/api/images", headers=BEARER).json()
    was = next(c for c in before["images"] if c["id"] == image_id)
    decided = client.post("/review/api/decide", json={"ids": [image_id], "status": "rejected"},
                          headers=headers).json()["changed"][0]
    assert (decided["status"], decided["decided_by"]) == ("rejected", "review")
    undone = client.post("/review/api/undo", json={"ids": [image_id]}, headers=headers)
    assert undone.status_code == 200
    back = undone.json()["changed"][0]
    assert (back["status"], back["decided_by"]) == (was["status"], was["decided_by"])
    assert statuses(gallery)[image_id] == was["status"]
    assert client.post("/review/api/undo", json={"ids": [image_id]},
                       headers=BEARER).status_code == 403  # no CSRF token


@pytest.mark.parametrize("body", [
    {"ids": ["000000000000"], "status": "rejected"},
    {"ids": [], "status": "rejected"}, {"ids": "abc", "status": "rejected"},
    {"ids": ["../../etc"], "status": "rejected"}, {"status": "rejected"},
    {"ids": ["SOME"], "status": "approved"}, {"ids": ["ID"], "status": "deleted"},
    {"ids": ["ID"], "status": "pending"}, {"ids": ["ID"] * 1001, "status": "rejected"},
    [1, 2], "not json",
])
def test_bad_changes_are_refused_in_one_line_and_change_nothing(client, gallery, body):
    before, image_id = statuses(gallery), some_id(gallery)
    headers = {**BEARER, "X-CSRF-Token": csrf_of(client), "Content-Type": "application/json"}
    if isinstance(body, dict) and body.get("ids"):
        body = {**body, "ids": [image_id if i == "ID" else i for i in body["ids"]]}
    if isinstance(body, dict) and body.get("ids") == ["SOME"]:
        body["ids"] = [image_id, "0" * 12]  # one unknown id: nothing changes
    import json
    content = body if isinstance(body, str) else json.dumps(body)
    answer = client.post("/review/api/decide", content=content, headers=headers)
    assert answer.status_code in (400, 404), answer.text
    assert "\n" not in answer.json()["detail"]
    assert statuses(gallery) == before


def test_filters_by_category_status_and_score(client, gallery):
    with Gallery.open(gallery) as opened:
        records = opened.records()
        for rank, record in enumerate(records):
            opened.db.execute("UPDATE images SET scores = ? WHERE id = ?",
                              (f'{{"class_prob": {rank / 10}, "dup": {{"distance": 3}}}}',
                               record.id))
    api = "/review/api/images"
    assert client.get(f"{api}?category=bagel", headers=BEARER).json()["total"] == 4
    assert client.get(f"{api}?status=pending", headers=BEARER).json()["total"] == 0
    chosen = client.get(f"{api}?score=class_prob&min=0.3&max=0.75", headers=BEARER).json()
    values = [c["scores"]["class_prob"] for c in chosen["images"]]
    assert sorted(values) == [0.3, 0.4, 0.5, 0.6, 0.7]
    assert client.get(f"{api}?score=dup.distance&min=3", headers=BEARER).json()["total"] == 12
    assert client.get(f"{api}?flag=none", headers=BEARER).json()["total"] == 12
    assert client.get(f"{api}?flag=duplicate", headers=BEARER).json()["total"] == 0
    page = client.get("/review?score=class_prob", headers=BEARER).text
    assert "<dt>class_prob</dt>" in page and '<option selected>class_prob</option>' in page
    for bad in ("status=gone", "min=abc", "min=nan", "category=../x", "page=0", "score=a%20b"):
        assert client.get(f"{api}?{bad}", headers=BEARER).status_code == 400, bad


def test_a_filter_spells_its_query_back():
    chosen = ReviewFilter.from_query({"category": "bagel", "status": "pending", "min": "0.5",
                                      "score": "class_prob", "page": "1"})
    assert chosen.query() == "category=bagel&status=pending&score=class_prob&min=0.5"
    assert ReviewFilter.from_query(dict(re.findall(r"(\w+)=([^&]*)", chosen.query()))) == chosen
    assert chosen.query(page=3).endswith("&page=3")


# -- a real server and a real browser -----------------------------------------------------------

@pytest.fixture
def review_server(gallery: Path, tmp_path: Path):
    """`ganpage serve --review` with two workers sharing GANPAGE_REVIEW_TOKEN, logging to
    ``tmp_path/access.jsonl``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--port", str(port),
         "--review", "--workers", "2", "--access-log", str(tmp_path / "access.jsonl"),
         "--metrics-port", "0"],
        env={**os.environ, "GANPAGE_REVIEW_TOKEN": TOKEN}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/api/categories", process)
        yield base, process
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        assert f"{base}/review/login (sign in with GANPAGE_REVIEW_TOKEN)" in output
        assert TOKEN not in output  # a token the owner chose never reaches a log


def until_both_workers_answer(base: str, path: str, status: int, log: Path,
                              cookies: dict[str, str]) -> None:
    """Ask for ``path`` on new connections until each of the two workers has answered it with
    ``status`` (by the access log's pids), failing on any other status."""
    deadline = time.monotonic() + 20
    workers: set[int] = set()
    while len(workers) < 2:
        assert time.monotonic() < deadline, f"only workers {workers} answered {status}"
        assert httpx.get(base + path, cookies=cookies).status_code == status
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        workers = {line["worker"] for line in lines
                   if line["path"] == path and line["status"] == status}


@pytest.mark.slow
def test_a_session_holds_and_ends_in_every_worker(review_server, tmp_path):
    base, _ = review_server
    log = tmp_path / "access.jsonl"
    signed = httpx.post(base + "/review/login", data={"token": TOKEN})
    session = {COOKIE: signed.cookies[COOKIE]}
    until_both_workers_answer(base, "/review/api/images", 200, log, session)
    csrf = httpx.get(base + "/review/api/csrf", cookies=session).json()["csrf"]
    assert httpx.post(base + "/review/logout", data={"csrf": csrf}, cookies=session,
                      headers={"Origin": base}).status_code == 303
    until_both_workers_answer(base, "/review/api/csrf", 401, log, session)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_reject_by_keyboard_in_chromium(review_server, gallery: Path):
    from playwright.sync_api import sync_playwright

    base, _ = review_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            assert page.goto(base + "/review").status == 401
            page.goto(login_url(base, TOKEN))
            page.wait_for_url(base + "/review")
            assert TOKEN not in page.url
            first = page.locator(".review-card").first
            image_id = first.get_attribute("data-id")
            assert first.evaluate("card => card === document.activeElement")
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("r")
            page.locator(f"#p-{image_id}.status-rejected").wait_for()
            assert statuses(gallery)[image_id] == "rejected"
            second = page.locator(".review-card").nth(1).get_attribute("data-id")
            page.keyboard.press("a")  # focus moved on to the next card
            page.locator(f"#p-{second} .decided-by", has_text="review").wait_for()
            page.keyboard.press("u")  # undoes the approval of the second, not the rejection
            page.locator("#review-message", has_text="undone " + second).wait_for()
            page.reload()
            assert page.locator(f"#p-{image_id}").get_attribute("data-status") == "rejected"
            assert page.locator(f"#p-{image_id} .state").inner_text().lower() == "rejected"
            # a POST without the CSRF token, from the signed-in page itself, changes nothing
            other = page.locator(".review-card").nth(1).get_attribute("data-id")
            status = page.evaluate("""id => fetch('/review/api/decide', {method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({ids: [id], status: 'rejected'})}).then(r => r.status)""",
                                   other)
            assert status == 403 and statuses(gallery)[other] == "approved"
            shot = Path(os.environ.get("GANPAGE_REVIEW_SCREENSHOT", gallery / "review.png"))
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    deadline = time.monotonic() + 10  # both workers' catalogs reload within seconds
    while any(httpx.get(f"{base}/p/{image_id}").status_code != 404 for _ in range(6)):
        assert time.monotonic() < deadline, "/ still shows the rejected picture"
        time.sleep(0.1)
    assert all(image_id not in httpx.get(base + "/").text for _ in range(60))
