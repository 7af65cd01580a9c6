"""web/images.py's X-Accel-Redirect answers (GANPAGE_ACCEL_REDIRECT): ganpage checks a picture
and names its file for nginx; nothing shown, nothing intact, nothing named. nginx itself in front
is tests/test_deploy.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.web.app import SiteConfig, create_app
from ganpage.web.images import accel_redirect_prefix, etag_matches

PREFIX = "/_gallery/"


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    root = Path(shutil.copytree(tiny_gallery, tmp_path / "gallery"))
    with Gallery.open(root) as opened:
        opened.set_status("rejected", [opened.records()[0].id])
    return root


@pytest.fixture
def client(gallery: Path):
    app = create_app(gallery, SiteConfig(accel_redirect=PREFIX, refresh_seconds=0))
    with TestClient(app) as client:
        yield client
    app.close()


def shown_and_rejected(gallery: Path):
    with Gallery.open(gallery) as opened:
        return opened.records(["approved"]), opened.records(["rejected"])[0]


def test_a_shown_picture_is_answered_with_its_file_for_nginx(client, gallery):
    shown, _ = shown_and_rejected(gallery)
    picture = shown[0]
    answer = client.get(f"/images/{picture.relative_path}")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["x-accel-redirect"] == f"{PREFIX}{picture.relative_path}"
    assert answer.headers["etag"] == f'"{picture.sha256}"'
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"] == f"image/{picture.format}"
    head = client.head(f"/images/{picture.relative_path}")
    assert head.headers["x-accel-redirect"] == answer.headers["x-accel-redirect"]


def test_a_tag_the_client_holds_is_answered_304_by_ganpage(client, gallery):
    picture = shown_and_rejected(gallery)[0][0]
    answer = client.get(f"/images/{picture.relative_path}",
                        headers={"If-None-Match": f'"{picture.sha256}"'})
    assert answer.status_code == 304 and "x-accel-redirect" not in answer.headers


def test_a_rejected_or_unknown_picture_names_no_file(client, gallery):
    _, rejected = shown_and_rejected(gallery)
    for path in (f"/images/{rejected.relative_path}", "/images/hamster/0123456789ab.webp",
                 "/images/hamster/..%2fgallery.sqlite"):
        answer = client.get(path)
        assert answer.status_code == 404 and "x-accel-redirect" not in answer.headers, path
        assert answer.headers["content-type"].startswith("text/plain"), path  # not a page
        assert answer.text.startswith("404: ") and answer.text.count("\n") == 1, path


@pytest.mark.parametrize("how", ["deleted", "truncated"])
def test_a_damaged_file_is_404_and_never_handed_to_nginx(client, gallery, how):
    picture = shown_and_rejected(gallery)[0][1]
    url = f"/images/{picture.relative_path}"
    assert client.get(url).status_code == 200
    path = gallery / picture.relative_path
    if how == "deleted":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:30])
    answer = client.get(url)
    assert answer.status_code == 404 and "x-accel-redirect" not in answer.headers
    assert client.get(f"/p/{picture.id}").status_code == 404  # taken off the site


def test_without_the_option_ganpage_sends_the_bytes_itself(gallery):
    picture = shown_and_rejected(gallery)[0][0]
    app = create_app(gallery, SiteConfig(refresh_seconds=0))
    with TestClient(app) as client:
        answer = client.get(f"/images/{picture.relative_path}")
    app.close()
    assert "x-accel-redirect" not in answer.headers
    assert answer.content == (gallery / picture.relative_path).read_bytes()


@pytest.mark.parametrize("value", ["_gallery/", "/_gallery", "/../", "/a b/", "http://x/",
                                   "/_gallery//"])
def test_a_prefix_that_is_not_a_plain_path_is_one_line(value):
    with pytest.raises(GanpageError, match="must be a path such as /_gallery/"):
        accel_redirect_prefix(value)
    assert accel_redirect_prefix("/_gallery/") == "/_gallery/"
    assert accel_redirect_prefix("") == ""


def test_if_none_match_compares_weakly_on_both_sides():
    assert etag_matches('W/"abc"', '"abc"') and etag_matches('"abc"', 'W/"abc"')
    assert etag_matches('"x", W/"abc"', 'W/"abc"') and etag_matches("*", 'W/"abc"')
    assert not etag_matches('"abd"', 'W/"abc"') and not etag_matches("", '"abc"')
