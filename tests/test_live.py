"""Live pictures drawn by the server (live/ and web/draw.py): permalinks that redraw the same
bytes, micro-batching, the bounded queue, the rate limit, bad recipes, with and without a
gallery, HEAD and security headers; and `ganpage serve --live` as a real process."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ganpage.defaults import DEFAULT_MODEL
from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.generate import encode
from ganpage.live.settings import LiveSettings
from ganpage.models import load_generator
from ganpage.web.app import SiteConfig, create_app
from ganpage.web.schemas import CategorySummary, DrawnPicture, Picture, Problem
from helpers.models import make_tiny_model
from helpers.servers import free_port, metrics_text, wait_for_http, wait_until, wait_until_ready


def drawn(category: str, seed: int | str) -> str:
    """The canonical URL of a drawn picture at the default truncation (others are a 301)."""
    return f"/draw/image.webp?category={category}&seed={seed}&truncation=0.7000"


IMAGE_SRC = re.compile(r'<img src="(/draw/image\.webp\?[^"]+)"')
PERMALINK = re.compile(r'<a href="(/draw\?[^"]+)" rel="bookmark">')


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("live") / "model")


def live_app(model: Path, gallery: Path | None = None, **settings):
    return create_app(gallery, SiteConfig(live_model=str(model),
                                          live=LiveSettings(**settings)))


def links_of(page: str) -> tuple[str, str]:
    """(image URL, permalink) of a drawn picture's page."""
    return (html.unescape(IMAGE_SRC.search(page).group(1)),
            html.unescape(PERMALINK.search(page).group(1)))


def test_a_fresh_picture_is_redrawn_from_its_permalink_to_the_same_bytes(model):
    first = live_app(model, pool_size=2)
    with TestClient(first) as client:
        wait_until(lambda: len(first.engine.pool or ()), 20, "the pool did not fill")
        page = client.get("/")
        assert page.status_code == 200 and "Does Not Exist" in page.text
        image, permalink = links_of(page.text)
        assert image.split("?")[1] == permalink.split("?")[1]
        fresh = client.get(image)
    first.close()
    assert fresh.status_code == 200 and fresh.headers["content-type"] == "image/webp"
    second = live_app(model, pool_size=0)  # nothing cached: drawn on demand, in a new process'
    with TestClient(second) as client:     # stead, as a permalink is days later
        assert client.get(permalink).status_code == 200
        again = client.get(image)
    second.close()
    assert again.content == fresh.content
    category, seed = re.search(r"category=([a-z-]+)&seed=(\d+)", image).groups()
    generator = load_generator(model)
    label = generator.categories.by_slug(category).id
    assert encode(generator.sample([label], [int(seed)], 0.7)[0], "webp") == fresh.content


def test_fresh_seeds_differ(model):
    app = live_app(model, pool_size=0)
    with TestClient(app) as client:
        seeds = {re.search(r"seed=(\d+)", links_of(client.get("/").text)[0]).group(1)
                 for _ in range(5)}
    app.close()
    assert len(seeds) == 5


def batch_sizes(metrics_text: str) -> dict[float, float]:
    """Bucket bound -> cumulative count of on-demand batches."""
    return {float(s.labels["le"]): s.value for family in text_string_to_metric_families(
        metrics_text) for s in family.samples
        if s.name == "ganpage_live_batch_size_bucket" and s.labels["kind"] == "on_demand"}


async def draw_together(app, count: int, first_seed: int = 100) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://live") as client:
        deadline = time.monotonic() + 60
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "the live model did not load in 60 s"
            await asyncio.sleep(0.05)
        return await asyncio.gather(*(
            client.get(f"/draw/image.webp?category=bagel&seed={first_seed + i}&truncation=0.7000")
            for i in range(count)))


def test_concurrent_requests_are_drawn_in_one_batch(model):
    app = live_app(model, pool_size=0, max_batch=16, max_wait_seconds=0.05, rate_per_second=0)
    answers = asyncio.run(draw_together(app, 12))
    with TestClient(app):
        buckets = batch_sizes(metrics_text(app))
    app.close()
    assert [a.status_code for a in answers] == [200] * 12
    assert buckets[1.0] < buckets[float("inf")]  # some batch drew more than one picture
    assert len({a.content for a in answers}) == 12
    alone = live_app(model, pool_size=0, max_batch=1, rate_per_second=0)
    with TestClient(alone) as client:  # a permalink later: the same bytes, drawn alone
        redrawn = [client.get(drawn("bagel", 100 + i)).content for i in range(12)]
    alone.close()
    assert redrawn == [a.content for a in answers]


def test_without_micro_batching_every_batch_is_one_picture(model):
    app = live_app(model, pool_size=0, max_batch=1, rate_per_second=0)
    answers = asyncio.run(draw_together(app, 6))
    with TestClient(app):
        buckets = batch_sizes(metrics_text(app))
    app.close()
    assert [a.status_code for a in answers] == [200] * 6
    assert buckets[1.0] == buckets[float("inf")] == 6


def test_a_full_queue_answers_503_with_retry_after_at_once(model):
    app = live_app(model, pool_size=0, max_batch=1, max_queue=2, rate_per_second=0)
    gate = threading.Event()
    engine = app.engine
    draw = engine._draw
    engine._draw = lambda recipes: gate.wait(10) and draw(recipes)  # hold the model

    async def flood() -> tuple[list[httpx.Response], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://live") as client:
            await engine.ready()
            tasks = [asyncio.create_task(client.get(
                f"/draw/image.webp?category=hamster&seed={i}&truncation=0.7000")) for i in range(8)]
            started = time.perf_counter()
            done, _ = await asyncio.wait(tasks, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            refused_in = time.perf_counter() - started
            gate.set()
            return await asyncio.gather(*tasks), refused_in

    answers, refused_in = asyncio.run(flood())
    app.close()
    statuses = [a.status_code for a in answers]
    assert statuses.count(503) >= 5 and 200 in statuses  # the drawn one, 2 queued at most
    assert refused_in < 1.0
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["retry-after"] == "1" and "try again" in refused.text
    assert refused.headers["content-type"].startswith("text/plain")  # an image URL: no page
    assert len(refused.content) < 120 and refused.text.count("\n") == 1


def test_the_rate_limit_answers_429_per_client_and_spares_cached_pictures(model):
    app = live_app(model, pool_size=0, rate_per_second=0.5, rate_burst=2)
    with TestClient(app, client=("10.0.0.1", 5000)) as client:
        first = [client.get(drawn("bagel", s)) for s in (1, 2, 3)]
        cached = client.get("/draw/image.webp?category=bagel&seed=1&truncation=0.7000")
    with TestClient(app, client=("10.0.0.2", 5000)) as other:
        elsewhere = other.get("/draw/image.webp?category=bagel&seed=4&truncation=0.7000")
    app.close()
    assert [a.status_code for a in first] == [200, 200, 429]
    assert int(first[2].headers["retry-after"]) >= 1
    assert first[2].headers["content-type"].startswith("text/plain")
    assert first[2].text == "429: too many pictures drawn for you; slow down\n"
    assert cached.status_code == 200 and elsewhere.status_code == 200


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(model):
    app = create_app(None, SiteConfig(live_model=str(model), trusted_proxies=("127.0.0.1",),
                                      live=LiveSettings(pool_size=0, rate_per_second=0.1,
                                                        rate_burst=1)))
    url = "/draw/image.webp?category=hamster&seed={}&truncation=0.7000"
    with TestClient(app, client=("127.0.0.1", 5000)) as proxy:
        first = proxy.get(url.format(1), headers={"X-Forwarded-For": "203.0.113.7"})
        again = proxy.get(url.format(2), headers={"X-Forwarded-For": "203.0.113.7"})
        # a client's own X-Forwarded-For, with the proxy's entry (its peer) appended
        other = proxy.get(url.format(3), headers={"X-Forwarded-For": "203.0.113.7, 203.0.113.8"})
    with TestClient(app, client=("198.51.100.1", 5000)) as outsider:  # cannot pick a name
        lied = [outsider.get(url.format(4 + i), headers={"X-Forwarded-For": f"203.0.113.{20 + i}"})
                for i in range(2)]
    app.close()
    assert [first.status_code, again.status_code, other.status_code] == [200, 429, 200]
    assert [answer.status_code for answer in lied] == [200, 429]


def test_forwarded_headers_are_not_believed_from_a_proxy_nobody_listed(model):
    """The default: not even a peer on this machine names other clients (a Caddy, cloudflared
    or ssh tunnel in front passes on what the client wrote)."""
    app = live_app(model, pool_size=0, rate_per_second=0.01, rate_burst=4)
    url = "/draw/image.webp?category=hamster&seed={}&truncation=0.7000"
    with TestClient(app, client=("127.0.0.1", 5000)) as local:
        statuses = [local.get(url.format(i), headers={
            "X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"}).status_code
            for i in range(12)]
    app.close()
    assert statuses == [200] * 4 + [429] * 8


def test_ipv6_clients_are_limited_per_64(model):
    app = live_app(model, pool_size=0, rate_per_second=0.01, rate_burst=2)
    url = "/draw/image.webp?category=bagel&seed={}&truncation=0.7000"
    statuses = []
    for host in range(4):  # four addresses of one subscriber's /64
        with TestClient(app, client=(f"2001:db8:0:1::{host + 1:x}", 5000)) as client:
            statuses.append(client.get(url.format(host)).status_code)
    with TestClient(app, client=("2001:db8:0:2::1", 5000)) as neighbour:
        elsewhere = neighbour.get(url.format(9)).status_code
    app.close()
    assert statuses == [200, 200, 429, 429] and elsewhere == 200


def test_the_random_page_of_a_live_only_site_is_under_the_rate_limit(model):
    """Each fresh picture / or /api/random gives out is one the model draws again."""
    app = live_app(model, pool_size=2, rate_per_second=0.01, rate_burst=2)
    with TestClient(app, client=("10.1.0.1", 5000)) as client:
        statuses = []
        for path in ("/", "/", "/", "/api/random"):
            wait_for_pool(app, 6)  # full again: every visit takes a picture from it
            statuses.append(client.get(path))
        with TestClient(app, client=("10.1.0.2", 5000)) as other:
            wait_for_pool(app, 6)
            elsewhere = other.get("/")
    app.close()
    assert [a.status_code for a in statuses] == [200, 200, 429, 429]
    assert int(statuses[2].headers["retry-after"]) >= 1 and "slow down" in statuses[2].text
    assert elsewhere.status_code == 200


def test_a_category_page_of_a_live_only_site_is_under_the_rate_limit(model):
    app = live_app(model, pool_size=2, rate_per_second=0.01, rate_burst=2)
    with TestClient(app, client=("10.2.0.1", 5000)) as client:
        statuses = []
        for _ in range(3):
            wait_for_pool(app, 6)  # the page takes the category's pictures from it
            statuses.append(client.get("/c/bagel").status_code)
    app.close()
    assert statuses == [200, 200, 429]


CANONICAL = "category=bagel&seed=1&truncation=0.7000"


@pytest.mark.parametrize("query", [
    "category=bagel&seed=01&truncation=0.7000", "category=bagel&seed=1&truncation=.7",
    "category=bagel&seed=1&truncation=0.7", "category=bagel&seed=1",
    "category=bagel&seed=1&truncation=0.7000&utm_source=x",
    "truncation=0.7000&seed=1&category=bagel", "category=bagel&seed=0000000001&truncation=0.70",
])
def test_a_recipe_has_one_url_and_other_spellings_redirect_to_it(model, query):
    app = live_app(model)
    with TestClient(app, follow_redirects=False) as client:
        page = client.get(f"/draw?{query}", headers={"Host": "evil.example"})
        image = client.get(f"/draw/image.webp?{query}")
        canonical = [client.get(f"/draw?{CANONICAL}"), client.get(f"/draw/image.webp?{CANONICAL}")]
    app.close()
    assert page.status_code == image.status_code == 301
    assert page.headers["location"] == f"/draw?{CANONICAL}"  # relative: never the Host's
    assert image.headers["location"] == f"/draw/image.webp?{CANONICAL}"
    assert [answer.status_code for answer in canonical] == [200, 200]


@pytest.mark.parametrize("query, status", [
    ("category=bagel", 404), ("seed=3", 404), ("category=Bagel&seed=3", 404),
    ("category=nope&seed=3", 404), ("category=bagel&seed=-1", 404),
    ("category=bagel&seed=4294967296", 404), ("category=bagel&seed=%C2%B2", 404),
    ("category=bagel&seed=1e3", 404), ("category=bagel&seed=3&truncation=0", 404),
    ("category=bagel&seed=3&truncation=1.5", 404), ("category=bagel&seed=3&truncation=nan", 404),
    ("category=bagel&seed=3&seed=4", 400), ("category=bagel&seed=3&x=" + "a" * 300, 400),
    ("category=%00&seed=3", 404), ("category=bagel&seed=3&truncation=0.5", 200),
])
def test_bad_recipes_are_one_line_4xx_never_500(model, query, status):
    app = live_app(model)
    with TestClient(app) as client:
        page = client.get(f"/draw?{query}")
        image = client.get(f"/draw/image.webp?{query}")
    app.close()
    assert page.status_code == image.status_code == status
    if status != 200:
        assert "Traceback" not in page.text and "<p>" in page.text
        assert page.headers["content-type"].startswith("text/html")  # a page keeps its page
        assert image.headers["content-type"].startswith("text/plain") and "<p>" not in image.text


def wait_for_pool(app, pictures: int) -> None:
    """Until the pool, filled in the background, holds ``pictures``."""
    wait_until(lambda: len(app.engine.pool or ()) >= pictures, 30,
               f"the pool did not reach {pictures} pictures")


def test_a_live_only_site_lists_the_models_categories_each_with_its_pool_pictures(model):
    app = live_app(model, pool_size=2)
    with TestClient(app) as client:
        wait_for_pool(app, 6)  # 3 categories x 2
        listing = client.get("/categories")
        bagels = client.get("/c/bagel")
        images = [html.unescape(src) for src in IMAGE_SRC.findall(bagels.text)]
        pictures = [client.get(src) for src in images]
        pages = [client.get(html.unescape(href)) for href in
                 re.findall(r'<li><a href="(/draw\?[^"]+)">', bagels.text)]
        drawn_for_requests = batch_sizes(metrics_text(app)).get(float("inf"), 0)
        missing = client.get("/c/nope")
    app.close()
    assert listing.status_code == 200
    assert re.findall(r'<li><a href="/c/([a-z-]+)">', listing.text) == ["bagel", "hamster",
                                                                        "mailbox"]
    assert bagels.status_code == 200 and "Bagels That Do Not Exist, drawn just now" in bagels.text
    assert len(images) == 2 and all("category=bagel&" in src for src in images)
    assert [p.status_code for p in pictures] == [200, 200] and pictures[0].content[:4] == b"RIFF"
    assert [p.status_code for p in pages] == [200, 200]
    assert drawn_for_requests == 0  # the pool's pictures, already drawn
    assert missing.status_code == 404


def test_a_live_category_with_nothing_pooled_shows_one_picture_drawn_on_demand(model):
    app = live_app(model, pool_size=0)
    with TestClient(app) as client:
        client.get("/readyz")
        wait_until(lambda: client.get("/readyz").status_code == 200, 60,
                   "the live model did not load")
        hamsters = client.get("/c/hamster")
        images = [html.unescape(src) for src in IMAGE_SRC.findall(hamsters.text)]
        picture = client.get(images[0])
    app.close()
    assert hamsters.status_code == 200 and len(images) == 1
    assert "category=hamster&" in images[0] and picture.status_code == 200


def test_a_live_only_sites_api_lists_the_models_categories(model):
    app = live_app(model, pool_size=0)
    with TestClient(app) as client:
        listing = client.get("/api/categories")
    app.close()
    assert listing.status_code == 200
    categories = [CategorySummary.model_validate(c) for c in listing.json()]
    assert [(c.slug, c.name, c.title, c.url) for c in categories] == [
        ("bagel", "Bagel", "This Bagel Does Not Exist", "/c/bagel"),
        ("hamster", "Hamster", "This Hamster Does Not Exist", "/c/hamster"),
        ("mailbox", "Mailbox", "This Mailbox Does Not Exist", "/c/mailbox")]
    assert {c.count for c in categories} == {None}  # any seed draws one: no count to give


def test_a_live_only_sites_api_gives_a_fresh_pooled_picture_its_permalink_draws_again(model):
    app = live_app(model, pool_size=2)
    with TestClient(app) as client:
        wait_for_pool(app, 6)  # 3 categories x 2
        answers = [client.get("/api/random") for _ in range(3)]
        pictures = [DrawnPicture.model_validate(a.json()) for a in answers]
        images = [client.get(p.image_url) for p in pictures]
        page = client.get(pictures[0].permalink)
        drawn_for_requests = batch_sizes(metrics_text(app)).get(float("inf"), 0)
        by_id = client.get(f"/api/images/{pictures[0].id}")
    app.close()
    assert [a.status_code for a in answers] == [200] * 3
    assert answers[0].headers["cache-control"] == "no-store"
    assert len({p.seed for p in pictures}) == 3 and {p.truncation for p in pictures} == {0.7}
    assert [i.status_code for i in images] == [200] * 3
    assert {i.headers["content-type"] for i in images} == {"image/webp"}
    assert images[0].headers["etag"] == f'W/"{pictures[0].id}"'  # weak: see web/draw.py
    assert drawn_for_requests == 0  # the pool's pictures, already drawn: no waiting
    assert page.status_code == 200 and links_of(page.text) == (pictures[0].image_url,
                                                                pictures[0].permalink)
    assert pictures[0].image_url.split("?")[1] == pictures[0].permalink.split("?")[1]
    assert by_id.status_code == 404 and "/draw?category=" in Problem.model_validate(
        by_id.json()).detail
    later = live_app(model, pool_size=0)  # nothing cached: the permalink drawn again
    with TestClient(later) as client:
        redrawn = client.get(links_of(client.get(pictures[0].permalink).text)[0])
    later.close()
    assert redrawn.status_code == 200 and redrawn.content == images[0].content


def test_with_a_gallery_both_work(model, tiny_gallery):
    app = live_app(model, tiny_gallery)
    with TestClient(app) as client:
        home = client.get("/")
        bagels = client.get("/c/bagel")
        listing = client.get("/categories")
        drawn = client.get("/draw?category=mailbox&seed=9&truncation=0.7000")
        image = client.get(links_of(drawn.text)[0])
        api_picture = Picture.model_validate(client.get("/api/random").json())
        api_counts = {c["slug"]: c["count"] for c in client.get("/api/categories").json()}
    app.close()
    assert home.status_code == 200 and '<img src="/images/' in home.text
    assert bagels.status_code == 200 and '<img src="/images/bagel/' in bagels.text
    assert '<span class="count">4</span>' in listing.text  # the gallery's categories
    assert drawn.status_code == 200 and "This Mailbox Does Not Exist" in drawn.text
    assert image.status_code == 200 and image.content[:4] == b"RIFF"
    assert api_picture.image_url.startswith("/images/")  # the gallery's, as on /
    assert api_counts == {"bagel": 4, "hamster": 4, "mailbox": 4}


def test_with_a_gallery_showing_nothing_the_api_gives_a_drawn_picture_as_the_page_does(
        model, tmp_path):
    Gallery.open(tmp_path / "empty", create=True).close()
    app = live_app(model, tmp_path / "empty", pool_size=0)
    with TestClient(app) as client:
        answer = client.get("/api/random")
        image = client.get(answer.json()["image_url"])
        listing = client.get("/api/categories")
    app.close()
    assert answer.status_code == 200 and DrawnPicture.model_validate(answer.json())
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert listing.json() == []  # the gallery's categories: it has none yet


def test_head_etag_and_security_headers(model):
    app = live_app(model)
    with TestClient(app) as client:
        url = "/draw/image.webp?category=hamster&seed=77&truncation=0.9"
        got = client.get(url)
        head = client.head(url)
        page_head = client.head("/draw?category=hamster&seed=77&truncation=0.7000")
        unchanged = client.get(url, headers={"If-None-Match": got.headers["etag"]})
        strong_form = client.get(url, headers={"If-None-Match": got.headers["etag"][2:]})
        home = client.get("/")
        ready = client.get("/readyz").json()
    app.close()
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert page_head.status_code == 200 and page_head.content == b""
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert got.headers["etag"].startswith('W/"') and strong_form.status_code == 304
    for answer in (got, head, page_head, unchanged, home):
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert ready["model_loaded"] is True and ready["status"] == "ready"


def test_a_live_only_site_shows_its_model_card_on_the_about_page(model):
    app = live_app(model)
    with TestClient(app) as client:
        client.get("/readyz")
        wait_until(lambda: client.get("/readyz").status_code == 200, 60,
                   "the live model did not load")
        about = client.get("/about")
    app.close()
    assert about.status_code == 200 and "A randomly initialised test model." in about.text


def test_a_failing_pool_refill_leaves_visitors_served(model):
    app = live_app(model, pool_size=2)
    failures = []

    def out_of_memory() -> None:
        failures.append(time.monotonic())
        raise RuntimeError("CUDA out of memory")

    app.engine._refill_pool = out_of_memory
    with TestClient(app) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, 60,
                   "the live model did not load")
        # a refill has failed (the idle drawing thread tries one at once)
        wait_until(lambda: failures, 10, "no refill was tried", interval=0.01)
        started = time.monotonic()
        answers = [client.get(drawn("bagel", s)) for s in range(5)]
        took = time.monotonic() - started
    app.close()
    assert failures
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert took < 3.0  # not held up by the pause between refills (1 s each: 5+ s)
    assert app.engine._thread is not None and not app.engine._thread.is_alive()  # closed


def test_nothing_to_serve_is_one_line():
    with pytest.raises(GanpageError, match="GALLERY folder, --live MODEL, or both"):
        create_app(None, SiteConfig())


def exporting_into(cache: Path, timeout: float, before: set[Path]) -> list[Path]:
    """The ONNX exports, finished or under way, that appear in ``cache`` within ``timeout`` s
    beside those ``before`` (the session's cache holds other tests' exports too)."""
    deadline = time.monotonic() + timeout
    while not (found := sorted(set(cache.glob("onnx/*")) - before)) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.mark.slow
def test_serve_live_without_a_gallery_as_a_real_server(reap, tmp_path):
    # a model of its own (seed 7), whose export no other test has put in the session's cache
    model = make_tiny_model(tmp_path / "model", seed=7)
    cache = Path(os.environ.get("GANPAGE_CACHE", "/nonexistent"))
    before = set(cache.glob("onnx/*"))
    port = free_port()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", "--live", str(model), "--port", str(port),
         "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/healthz", process)
        page = httpx.get(base + "/", timeout=30)
        image = httpx.get(base + links_of(page.text)[0], timeout=30)
        ready = httpx.get(base + "/readyz").json()
        # /live's export, made in the background, goes to the test session's cache (conftest)
        exports = exporting_into(cache, 60, before)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert page.status_code == 200 and image.status_code == 200
    assert ready["gallery"] is False and ready["model_loaded"] is True
    assert ready["live_model"] == "tiny-7" and str(model) not in json.dumps(ready)
    assert "serving live pictures of" in output
    assert len(exports) == 1


def live_sample(text: str, name: str, **labels: str) -> float:
    """One sample's value in a /metrics answer (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def workers_of(log: Path, path: str) -> set[int]:
    """The workers (pids) that answered ``path`` so far, by the access log."""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return {line["worker"] for line in lines if line["path"] == path}


@pytest.mark.slow
def test_with_two_workers_a_clients_rate_and_the_live_metrics_hold_across_them(model, reap,
                                                                              tmp_path):
    port, metrics_port = free_port(), free_port()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", "--live", str(model), "--port", str(port),
         "--workers", "2", "--live-pool", "0", "--live-rate", "0.01", "--live-threads", "1",
         "--access-log", str(tmp_path / "access.jsonl"), "--metrics-port", str(metrics_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process)
        wait_until(lambda: all(httpx.get(base + "/readyz").status_code == 200 for _ in range(20)),
                   120, "not every worker loaded the model")
        statuses, log = [], tmp_path / "access.jsonl"
        while len(statuses) < 30 or len(workers_of(log, "/draw/image.webp")) < 2:
            assert len(statuses) < 300, "one worker took every connection"
            statuses.append(httpx.get(f"{base}/draw/image.webp?category=bagel&seed="
                                      f"{len(statuses)}&truncation=0.7000",
                                      timeout=30).status_code)  # new connections
        # a burst of 1 and 0.01 pictures/s: one picture for this client, whichever worker
        refused = len(statuses) - 1  # answers; both workers were asked (the loop above)
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        # each worker adds up its counts every half second
        wait_until(lambda: live_sample(httpx.get(metrics).text, "ganpage_live_refused_total",
                                       reason="rate") >= refused, 10,
                   "the workers' counts did not add up")
        seen = [httpx.get(metrics).text for _ in range(6)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert statuses.count(200) == 1 and statuses.count(429) == refused, statuses
    for text in seen:  # the listener counts both workers' pictures and refusals
        assert live_sample(text, "ganpage_live_pictures_drawn_total", kind="on_demand") == 1
        assert live_sample(text, "ganpage_live_batch_size_count", kind="on_demand") == 1
        assert live_sample(text, "ganpage_live_queue_depth") == 0
        assert live_sample(text, "ganpage_live_refused_total", reason="rate") == refused


@pytest.mark.slow
def test_a_bad_live_model_is_one_line_before_serving(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ganpage", "serve", "--live",
                           str(tmp_path / "missing"), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--live" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_on_cuda_a_picture_drawn_in_a_batch_is_the_one_drawn_alone(model):
    app = live_app(model, device="cuda", pool_size=0, max_batch=16, max_wait_seconds=0.05,
                   rate_per_second=0)
    together = asyncio.run(draw_together(app, 12))
    app.close()
    alone = live_app(model, device="cuda", pool_size=0, max_batch=1, rate_per_second=0)
    with TestClient(alone) as client:
        redrawn = [client.get(f"/draw/image.webp?category=bagel&seed={100 + i}&truncation=0.7000")
                   for i in (0, 5, 11)]
    alone.close()
    assert [a.content for a in redrawn] == [together[i].content for i in (0, 5, 11)]


def test_the_queue_holds_what_the_model_draws_in_queue_seconds_at_its_pace():
    from ganpage.live.batcher import QueueFull
    from ganpage.live.engine import LiveEngine

    engine = LiveEngine("unused", LiveSettings(max_batch=2, max_queue=100, queue_seconds=0.75))
    engine._keep_pace(10, 1.0)  # 10 pictures/s: 7 recipes are 0.7 s of drawing
    assert engine.batcher.limit == 7

    async def fill() -> int:
        for key in range(100):
            try:
                engine.batcher.submit(key)
            except QueueFull:
                return key
        return 100

    assert asyncio.run(fill()) == 7
    engine._keep_pace(1000, 1.0)  # a fast model: the count bound decides
    assert engine.batcher.limit == 100


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_a_live_only_site_in_chromium(reap):
    """The default built-in model drawn by `ganpage serve --live` (its name left out): the page
    shows its picture, the permalink the
    same picture, and the page needs nothing the CSP refuses (screenshot: docs/live-server.png
    with GANPAGE_SCREENSHOT set)."""
    from playwright.sync_api import sync_playwright

    from helpers.browser import CHROMIUM, CHROMIUM_ARGS

    port = free_port()
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "serve", "--live", DEFAULT_MODEL, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process)  # a busy machine may still be loading the model
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 760, "height": 760})
            refused = []
            page.on("console", lambda message: refused.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.goto(base + "/")
            image = page.locator("article.picture img")
            image.wait_for()
            page.wait_for_function("() => document.querySelector('article.picture img').complete")
            size = load_generator(DEFAULT_MODEL).image_size
            assert image.evaluate("img => img.naturalWidth") == size
            first = image.evaluate("img => img.currentSrc")
            page.locator("a[rel=bookmark]").click()
            page.wait_for_load_state()
            assert page.locator("article.picture img").evaluate("img => img.currentSrc") == first
            assert re.fullmatch(r"(This .+ Does|These .+ Do) Not Exist", page.title())  # plurals
            shot = os.environ.get("GANPAGE_SCREENSHOT")
            if shot:
                page.screenshot(path=shot)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert refused == []


def test_emoji64_draws_a_recipe_the_same_in_any_batch():
    """What makes a live permalink exact: the batch a picture was drawn in leaves no visible
    trace (emoji64 in the precision this CPU picks, as `serve --live emoji64` runs it). On an
    AVX-512 CPU the bytes were equal; on an AVX2-only one (2026-12-03) oneDNN's kernels for a
    batch of 8 and of 1 round one value of 98,304 to the next level, so the bound is one level
    on at most 0.01% of the values."""
    generator = load_generator("emoji64")
    labels, seeds = [5, 77, 300, 681, 5, 12, 450, 99], [0, 1, 2**32 - 1, 7, 8, 123456, 42, 9]
    together = generator.sample(labels, seeds, 0.7)
    alone = np.stack([generator.sample([label], [seed], 0.7)[0]
                      for label, seed in zip(labels, seeds, strict=True)])
    difference = np.abs(alone.astype(int) - together.astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() <= 1e-4


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
@pytest.mark.parametrize("niceness", [0, 5])
def test_the_drawing_thread_yields_to_the_requests(model, niceness):
    """Its niceness, and that of the torch threads it starts to draw, is the event loop's plus
    ``niceness``: on a busy core refusals stay fast."""
    before = {int(task) for task in os.listdir("/proc/self/task")}
    app = live_app(model, pool_size=0, niceness=niceness, threads=2)
    with TestClient(app) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, 60,
                   "the live model did not load")
        assert client.get(drawn("bagel", 3)).status_code == 200
        # threads that are not Python's and came with the app: torch's (OpenMP) for drawing
        python = {thread.native_id for thread in threading.enumerate()}
        torch_threads = {int(task) for task in os.listdir("/proc/self/task")} - before - python
        drawing = {tid: os.getpriority(os.PRIO_PROCESS, tid)
                   for tid in [app.engine._thread.native_id, *torch_threads]}
    app.close()
    assert torch_threads, "2 torch threads asked for, yet the drawing started none of its own"
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
    assert set(drawing.values()) == {expected}, f"niceness of the drawing threads: {drawing}"
