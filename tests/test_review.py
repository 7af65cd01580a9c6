"""The review page (web/review.py): its token, cookie and CSRF checks, its API and filters
(Starlette's TestClient), and one real browser rejecting a picture by keyboard."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import free_port, wait_for_http
from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.web.app import SiteConfig, create_app
from ganpage.web.review import (
    COOKIE,
    ReviewAuth,
    ReviewFilter,
    login_url,
    review_token,
)

TOKEN = "test-review-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


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
    for headers, expected in (({}, 401), (wrong, 403), ({"Authorization": TOKEN}, 403),
                              ({"Authorization": f"Basic {TOKEN}"}, 403)):
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
    assert client.get("/review/api/images").status_code == 403
    assert statuses(gallery) == before


def test_the_login_form_sets_an_httponly_samesite_strict_cookie(client):
    assert client.post("/review/login", data={"token": "wrong-token-wrong-token"},
                       follow_redirects=False).status_code == 403
    assert COOKIE not in client.cookies
    answer = client.post("/review/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/review" in cookie
    assert TOKEN not in cookie  # the cookie holds a value derived from the token
    assert client.get("/review").status_code == 200
    assert client.get("/review/api/images").json()["total"] == 12


def test_tokens_from_the_environment_are_checked_and_a_missing_one_is_made():
    made = review_token({})
    assert len(made) >= 40 and made != review_token({})
    assert review_token({"GANPAGE_REVIEW_TOKEN": TOKEN}) == TOKEN
    for bad in ("short", "has space in the token here", "x" * 300, "ünicode-token-0123456"):
        with pytest.raises(GanpageError, match="GANPAGE_REVIEW_TOKEN"):
            review_token({"GANPAGE_REVIEW_TOKEN": bad})
    assert login_url("http://127.0.0.1:8000/", TOKEN) == (
        f"http://127.0.0.1:8000/review/login#token={TOKEN}")


def test_every_worker_derives_the_same_cookie_and_csrf_and_other_tokens_do_not():
    first, second, other = ReviewAuth(TOKEN), ReviewAuth(TOKEN), ReviewAuth(TOKEN + "x")
    assert (first.session, first.csrf) == (second.session, second.csrf)
    assert first.session != other.session and first.csrf != other.csrf
    assert TOKEN not in (first.session, first.csrf) and first.session != first.csrf


# -- CSRF ---------------------------------------------------------------------------------------

def test_a_change_without_the_csrf_token_changes_nothing(client, gallery):
    client.post("/review/login", data={"token": TOKEN})
    before, image_id = statuses(gallery), some_id(gallery)
    body = {"ids": [image_id], "status": "rejected"}
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * 64},
                    {"X-CSRF-Token": TOKEN}):
        assert client.post("/review/api/decide", json=body, headers=headers).status_code == 403
    form = {"id": image_id, "status": "rejected"}
    assert client.post("/review/decide", data=form, follow_redirects=False).status_code == 403
    assert client.post("/review/decide", data={**form, "csrf": "nope"},
                       follow_redirects=False).status_code == 403
    # the right token, but sent from another site's page
    assert client.post("/review/api/decide", json=body, headers={
        "X-CSRF-Token": csrf_of(client), "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/review/logout", follow_redirects=False).status_code == 403
    assert statuses(gallery) == before


def test_the_page_carries_the_csrf_token_its_forms_and_script_send(client, gallery):
    client.post("/review/login", data={"token": TOKEN})
    page = client.get("/review").text
    csrf = csrf_of(client)
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
    """`ganpage serve --review` with two workers sharing GANPAGE_REVIEW_TOKEN."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", str(gallery), "--port", str(port),
         "--review", "--workers", "2"],
        env={**os.environ, "GANPAGE_REVIEW_TOKEN": TOKEN}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/api/categories", process)
        yield base, process
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        assert login_url(base, TOKEN) in output  # printed at start-up


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
