"""The site's answers, byte for byte, for a fixed gallery: pages, API, errors, the review page
and a static build, compared with the golden files in ``tests/data/web_golden/``.

A change that alters what a visitor gets fails here, whatever module it moved. When the change
is meant, write the files again and read their diff:
``GANPAGE_WRITE_GOLDEN=1 pytest tests/test_web_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ganpage.gallery import Gallery, ImageRecord, image_id
from ganpage.static_site import SiteOptions, build_site
from ganpage.web.app import SiteConfig, create_app

GOLDEN = Path(__file__).parent / "data" / "web_golden"
WRITE = os.environ.get("GANPAGE_WRITE_GOLDEN") == "1"
TOKEN = "golden-review-token-0123456789-abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
MODEL = "golden-model"
CARD = "# Golden model\n\nA model that never ran: its pictures are **fixed bytes**.\n"
# (category slug, name, label, seed, truncation, status, scores, flags)
PICTURES = [
    ("hamster", "Hamster", 0, 1, 0.7, "approved", {"class_probability": 0.91}, []),
    ("hamster", "Hamster", 0, 2, 0.5, "approved", {"quality": {"sharpness": 0.4}}, ["blank"]),
    ("bagel", "Bagel", 1, 3, 0.7, "approved", {}, []),
    ("ice-hockey", "ice hockey", 2, 4, 1.0, "pending", {"class_probability": 0.2}, []),
]


def fixed_gallery(root: Path) -> list[ImageRecord]:
    """A gallery whose every byte and date is fixed: a site made from it never changes."""
    records = []
    with Gallery.open(root, create=True) as gallery:
        for n, (slug, name, label, seed, truncation, status, scores, flags) in enumerate(
                PICTURES):
            record = ImageRecord(
                id=image_id(MODEL, label, seed, truncation), category=slug, category_name=name,
                label=label, model_id=MODEL, seed=seed, truncation=truncation, width=16,
                height=16, format="webp", sha256="", created_at=f"2026-01-0{n + 1}T12:00:00+00:00",
                status=status, scores=scores, flags=flags,
                decided_at="2026-02-01T00:00:00+00:00" if status != "pending" else "",
                decided_by="manual" if status != "pending" else "")
            gallery.add([(record, b"RIFF\x00\x00\x00\x00WEBP golden picture %d" % n)])
            records.append(record)
        gallery.record_model(MODEL, CARD, 16, [{"id": 0, "name": "Hamster"}])
    return records


def requests(records: list[ImageRecord]) -> dict[str, tuple[str, str, dict]]:
    """name -> (method, path, headers): what is asked of the site, in order."""
    first, pending = records[0], records[3]
    return {
        "home.html": ("GET", "/", {}),
        "permalink.html": ("GET", f"/p/{first.id}", {}),
        "category.html": ("GET", "/c/hamster", {}),
        "category-past-last-page.html": ("GET", "/c/hamster?page=2", {}),
        "categories.html": ("GET", "/categories", {}),
        "about.html": ("GET", "/about", {}),
        "about-slash.txt": ("GET", "/about/", {}),
        "not-found.html": ("GET", "/no/such/page", {}),
        "pending-permalink.html": ("GET", f"/p/{pending.id}", {}),
        "bad-page.html": ("GET", "/c/hamster?page=x", {}),
        "post.html": ("POST", "/", {}),
        "favicon.txt": ("GET", "/favicon.ico", {}),
        "image.webp": ("GET", f"/images/{first.relative_path}", {}),
        "image-not-modified.txt": ("GET", f"/images/{first.relative_path}",
                                   {"If-None-Match": f'"{first.sha256}"'}),
        "image-missing.txt": ("GET", "/images/hamster/000000000000.webp", {}),
        "api-random.json": ("GET", "/api/random", {}),
        "api-image.json": ("GET", f"/api/images/{first.id}", {}),
        "api-image-missing.json": ("GET", "/api/images/000000000000", {}),
        "api-image-bad-id.json": ("GET", "/api/images/ZZZ", {}),
        "api-categories.json": ("GET", "/api/categories", {}),
        "openapi.json": ("GET", "/openapi.json", {}),
        "healthz.json": ("GET", "/healthz", {}),
        "readyz.json": ("GET", "/readyz", {}),
        "review-login.html": ("GET", "/review/login", {}),
        "review-signed-out.html": ("GET", "/review", {}),
        "review.html": ("GET", "/review?status=approved", BEARER),
        "review-api-images.json": ("GET", "/review/api/images", BEARER),
        "review-api-csrf.json": ("GET", "/review/api/csrf", BEARER),
        "review-api-refused.json": ("GET", "/review/api/images", {}),
    }


def answer_of(response) -> tuple[dict, bytes]:
    headers = sorted(f"{name}: {value}" for name, value in response.headers.items())
    return {"status": response.status_code, "headers": headers}, response.content


def served(gallery: Path, records: list[ImageRecord]) -> dict[str, tuple[dict, bytes]]:
    app = create_app(gallery, SiteConfig(site_name="This Golden Thing Does Not Exist",
                                         public_url="https://golden.example", review_token=TOKEN,
                                         refresh_seconds=0))
    app.catalog._random = random.Random(7)  # which picture / and /api/random show
    try:
        with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
            return {name: answer_of(client.request(method, path, headers=headers))
                    for name, (method, path, headers) in requests(records).items()}
    finally:
        app.close()


def built(gallery: Path, out: Path) -> str:
    """``sha256  path`` of each file of the static site (as ``sha256sum`` prints them)."""
    build_site(gallery, out, SiteOptions(public_url="https://golden.example/site",
                                         site_name="This Golden Thing Does Not Exist"),
               show_progress=False)
    lines = [f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(out)}"
             for path in sorted(out.rglob("*"))
             if path.is_file() and path.name not in (".ganpage-site.sqlite", ".ganpage-site.lock")]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[dict[str, tuple[dict, bytes]], str]:
    folder = tmp_path_factory.mktemp("golden")
    records = fixed_gallery(folder / "gallery")
    return served(folder / "gallery", records), built(folder / "gallery", folder / "site")


def test_every_answer_of_the_site_is_the_golden_one(site):
    answers, _ = site
    if WRITE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, (_, body) in answers.items():
            (GOLDEN / name).write_bytes(body)
        heads = {name: head for name, (head, _) in answers.items()}
        (GOLDEN / "answers.json").write_text(json.dumps(heads, indent=1) + "\n")
    heads = json.loads((GOLDEN / "answers.json").read_text())
    assert list(heads) == list(answers)
    for name, (head, body) in answers.items():
        assert head == heads[name], name
        assert body == (GOLDEN / name).read_bytes(), name


def test_the_static_site_is_the_golden_one(site):
    _, digests = site
    if WRITE:
        (GOLDEN / "static-site.sha256").write_text(digests)
    assert digests == (GOLDEN / "static-site.sha256").read_text()
