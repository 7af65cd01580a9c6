"""HTTP tests against a real uvicorn server on 127.0.0.1 (the live_server fixture)."""

import re
import subprocess
import sys
import time

import httpx
import pytest

from ganpage.gallery import Gallery
from helpers.servers import free_port, wait_for_http


def eventually(check, seconds: float = 10.0) -> bool:
    """Whether ``check()`` comes true within ``seconds`` (asked every 20 ms)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.slow
def test_home_shows_a_random_picture_with_its_title(live_server):
    titles = set()
    for _ in range(30):
        response = httpx.get(live_server + "/")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        title = re.search(r"<title>(.*?)</title>", response.text).group(1)
        assert re.fullmatch(r"This (Hamster|Bagel|Mailbox) Does Not Exist", title)
        titles.add(title)
    assert len(titles) >= 2  # refreshes show other categories


@pytest.mark.slow
def test_page_has_og_tags_alt_text_ai_label_and_no_external_urls(live_server):
    html = httpx.get(live_server + "/").text
    for needle in ('property="og:title"', 'property="og:image"', 'property="og:url"',
                   "AI-generated", 'alt="AI-generated picture of a'):
        assert needle in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script" not in html  # works without JavaScript


@pytest.mark.slow
def test_permalink_is_stable_and_image_is_cached_forever(live_server):
    picture = httpx.get(live_server + "/api/random").json()
    first = httpx.get(live_server + picture["permalink"]).text
    assert first == httpx.get(live_server + picture["permalink"]).text
    assert picture["author"] in first
    image = httpx.get(live_server + picture["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert "immutable" in image.headers["cache-control"]
    import hashlib
    assert hashlib.sha256(image.content).hexdigest() == picture["sha256"]


@pytest.mark.slow
def test_category_and_categories_pages(live_server):
    listing = httpx.get(live_server + "/categories").text
    assert "Hamster" in listing and "/c/bagel" in listing
    page = httpx.get(live_server + "/c/bagel")
    assert page.status_code == 200 and page.text.count('<li><a href="/p/') == 4
    counts = {c["slug"]: c["count"] for c in httpx.get(live_server + "/api/categories").json()}
    assert counts == {"bagel": 4, "hamster": 4, "mailbox": 4}


@pytest.mark.slow
def test_about_explains_and_shows_the_model_card(live_server):
    about = httpx.get(live_server + "/about").text
    assert "generator" in about and "discriminator" in about and "truncation" in about
    assert "A randomly initialised test model." in about


@pytest.mark.slow
def test_api_and_openapi(live_server):
    picture = httpx.get(live_server + "/api/random").json()
    detail = httpx.get(f"{live_server}/api/images/{picture['id']}").json()
    assert detail["seed"] == picture["seed"] and detail["model_id"] == "tiny-0"
    spec = httpx.get(live_server + "/openapi.json").json()
    assert {"/api/random", "/api/images/{image_id}", "/api/categories"} <= set(spec["paths"])


@pytest.mark.slow
@pytest.mark.parametrize("path, status", [
    ("/p/../../etc/passwd", 404),
    ("/p/..%2F..%2Fetc%2Fpasswd", 404),
    ("/p/000000000000", 404),
    ("/p/" + "a" * 5000, 404),
    ("/images/hamster/..%2F..%2Fgallery.sqlite", 404),
    ("/images/hamster/%2e%2e/gallery.sqlite", 404),
    ("/images/../gallery.sqlite", 404),
    ("/c/no-such-thing", 404),
    ("/c/bagel?page=abc", 400),
    ("/c/bagel?page=0", 400),
    ("/c/bagel?page=99", 404),
    ("/?" + "x=1&" * 2000, 400),
    ("/api/images/nope", 404),
    ("/static/../gallery.sqlite", 404),
])
def test_bad_paths_answer_4xx_never_500(live_server, path, status):
    response = httpx.get(live_server + path)
    assert response.status_code == status
    assert "gallery.sqlite" not in response.text and "root:" not in response.text


@pytest.mark.slow
def test_empty_gallery_gives_a_helpful_page(tmp_path):
    Gallery.open(tmp_path / "empty", create=True).close()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "ganpage", "serve", str(tmp_path / "empty"),
                                "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/about", process)
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "ganpage generate" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/random").status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pending_pictures_are_hidden_until_approved(tiny_model, tmp_path):
    from fastapi.testclient import TestClient  # in-process, to flip statuses between requests

    from ganpage.generate import TruncationRange, choose_categories, generate, plan
    from ganpage.models import load_generator
    from ganpage.web.app import SiteConfig, create_app

    generator = load_generator(tiny_model)
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        generate(generator, gallery, plan(generator, choose_categories(generator), 2,
                                          TruncationRange(0.5, 0.5)), show_progress=False)
    client = TestClient(create_app(tmp_path / "g", SiteConfig(refresh_seconds=0)))
    assert "waiting for review" in client.get("/").text
    with Gallery.open(tmp_path / "g") as gallery:
        gallery.set_status("approved", category="hamster")
    # the index is read again on a background thread: shown within moments, not at once
    assert eventually(lambda: "This Hamster Does Not Exist" in client.get("/").text)


def test_category_names_read_right_as_plurals_and_proper_words(tmp_path):
    from fastapi.testclient import TestClient

    from ganpage.generate import TruncationRange, choose_categories, generate, plan
    from ganpage.models import load_generator
    from ganpage.web.app import create_app
    from helpers.models import make_tiny_model

    names = ["Admission Tickets", "Airplane", "Dvd"]
    generator = load_generator(make_tiny_model(tmp_path / "m", names))
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        generate(generator, gallery, plan(generator, choose_categories(generator), 1,
                                          TruncationRange(0.5, 0.5)), show_progress=False)
        gallery.set_status("approved")
    client = TestClient(create_app(tmp_path / "g"))
    html = {}
    for slug in ("admission-tickets", "airplane", "dvd"):
        permalink = re.search(r'href="(/p/[^"]+)"', client.get(f"/c/{slug}").text).group(1)
        html[slug] = client.get(permalink).text
    assert "<title>These Admission Tickets Do Not Exist</title>" in html["admission-tickets"]
    assert "picture of admission tickets that do not exist" in html["admission-tickets"]
    assert "<title>This Airplane Does Not Exist</title>" in html["airplane"]
    assert "picture of an airplane that does not exist" in html["airplane"]
    assert "<title>This DVD Does Not Exist</title>" in html["dvd"]
    assert re.search(r">DVD</a> Does Not Exist</h1>", html["dvd"])
    assert "picture of a DVD that does not exist" in html["dvd"]
    assert ">DVD</a>" in client.get("/categories").text
    assert 'alt="AI-generated DVD, seed 0"' in client.get("/c/dvd").text


def test_category_pages_and_sport_titles_read_right(tmp_path):
    """They read "8 Cherries pictures that do not exist" and "This Ice Hockey Does Not Exist"."""
    from fastapi.testclient import TestClient

    from ganpage.generate import TruncationRange, choose_categories, generate, plan
    from ganpage.models import load_generator
    from ganpage.web.app import create_app
    from helpers.models import make_tiny_model

    generator = load_generator(make_tiny_model(tmp_path / "m", ["Cherries", "Ice Hockey",
                                                                "Bacon"]))
    jobs = plan(generator, choose_categories(generator), 8, TruncationRange(0.5, 0.5))
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        generate(generator, gallery, [j for j in jobs if j.category.slug != "bacon" or
                                      j.seed == 0], show_progress=False)
        gallery.set_status("approved")
    client = TestClient(create_app(tmp_path / "g"))
    cherries = client.get("/c/cherries").text
    assert '<h1>Cherries That Do Not Exist</h1>\n<p class="count">8 pictures</p>' in cherries
    assert "Ice Hockey Games That Do Not Exist" in client.get("/c/ice-hockey").text
    assert '<h1>Bacon That Does Not Exist</h1>\n<p class="count">1 picture</p>' in client.get(
        "/c/bacon").text
    permalink = re.search(r'href="(/p/[^"]+)"', client.get("/c/ice-hockey").text).group(1)
    page = client.get(permalink).text
    assert "<title>This Ice Hockey Game Does Not Exist</title>" in page
    assert re.search(r">Ice Hockey Game</a> Does Not Exist</h1>", page)
    assert "picture of an ice hockey game that does not exist" in page


def test_about_credits_the_art_a_built_in_model_learnt_from(tmp_path):
    """The emoji64 weights carry CC BY 4.0 and CC BY-SA 4.0 art: its sites must say so."""
    from fastapi.testclient import TestClient

    from ganpage.web.app import create_app

    with Gallery.open(tmp_path / "g", create=True) as gallery:
        gallery.record_model("emoji64", "# emoji64\n\nThe built-in model.\n", 64, [])
        gallery.record_model("../emoji64", "# a gallery's own name for a model\n", 64, [])
        gallery.record_model("tiny", "# tiny\n", 32, [])
    about = TestClient(create_app(tmp_path / "g")).get("/about").text
    assert about.count("Credits: the art") == 1 and "Credits: the art emoji64 learnt" in about
    for credit in ("Twemoji by Twitter and contributors", "OpenMoji, the open-source emoji",
                   'href="https://creativecommons.org/licenses/by/4.0/"',
                   'href="https://creativecommons.org/licenses/by-sa/4.0/"'):
        assert credit in about


# the sets each built-in model learnt from (its card's Data section)
TRAINED_ON = {"emoji64": ("noto", "twemoji", "openmoji", "fluent-flat", "fluent-modern"),
              "emoji32": ("noto", "twemoji", "openmoji", "fluent-flat", "fluent-modern",
                          "fluent-3d", "noto-2017", "noto-v1", "emojione", "emojione-v1",
                          "fxemoji", "streamline")}


@pytest.mark.parametrize("model", sorted(TRAINED_ON))
def test_notice_and_about_page_credit_every_set_of_the_built_in_model(model):
    from pathlib import Path

    from ganpage.data.emoji import SOURCES
    from ganpage.web.pages import shipped_attributions

    notice = (Path(__file__).parents[1] / "NOTICE").read_text()
    section = notice.split(f"The built-in {model} model", 1)[1].split("The built-in", 1)[0]
    credits = shipped_attributions()[model]
    trained_on = [s for s in SOURCES if s.name in TRAINED_ON[model]]
    licence_names = {"Apache-2.0": "Apache", "CC-BY-4.0": "CC BY 4.0",
                     "CC-BY-SA-4.0": "CC BY-SA 4.0", "MIT": "MIT"}
    for source in trained_on:
        for text in (section, credits):
            assert source.pin in text and licence_names[source.licence] in text, source.name
    assert "MIT" in (Path(__file__).parents[1] / "LICENSE").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_taken_port_is_one_line_not_a_server_panic(tiny_gallery, server):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ganpage", "serve", str(tiny_gallery), "--port", str(port),
             "--server", server], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use); choose another "
        "--port or --host"]


def test_an_imported_picture_shows_its_source_and_no_seed(tmp_path):
    """Pictures from `ganpage label` have no seed: page, listing and API say where they came
    from instead."""
    import hashlib
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from ganpage.gallery import ImageRecord, source_image_id
    from ganpage.web.app import create_app

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(buffer, "PNG")
    record = ImageRecord(id=source_image_id(hashlib.sha256(b"original").hexdigest()),
                         category="hamster", category_name="Hamster", label=0,
                         model_id="tiny-cls", seed=None, truncation=1.0, width=16, height=16,
                         format="png", sha256="", source="unconditional/0001.png")
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        gallery.add([(record, buffer.getvalue())])
        gallery.set_status("approved")
    client = TestClient(create_app(tmp_path / "g"))
    page = client.get(f"/p/{record.id}").text
    assert "Imported</span> from unconditional/0001.png" in page
    assert "named by the classifier" in page
    assert "seed" not in page.lower().replace("no seed", "")
    assert "None" not in page
    assert "seed" not in client.get("/c/hamster").text
    detail = client.get(f"/api/images/{record.id}").json()
    assert detail["seed"] is None and detail["source"] == "unconditional/0001.png"
