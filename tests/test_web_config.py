"""What a static build needs (web/config.py, web/pages.py, the templates) imports no web
framework and no live engine; ``SiteConfig`` travels to a server's workers as JSON and back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ganpage.live.settings import LiveSettings
from ganpage.web.config import SiteConfig

SERVER_ONLY = ("fastapi", "starlette", "ganpage.live")


@pytest.mark.parametrize("module", ["ganpage.static_site", "ganpage.web.pages",
                                    "ganpage.web.config"])
def test_what_a_static_build_needs_imports_no_web_framework_and_no_live_engine(module):
    code = (f"import sys, {module}; "
            f"print([name for name in {SERVER_ONLY!r} if name in sys.modules])")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]", f"{module} imports {found}"


def test_a_static_page_renders_without_the_server(tiny_gallery):
    code = ("import sys; from ganpage.gallery import Gallery; "
            "from ganpage.web.config import SiteConfig; "
            "from ganpage.web.pages import PageRenderer; "
            f"record = Gallery.open({str(tiny_gallery)!r}).records()[0]; "
            "page = PageRenderer(SiteConfig()).picture_html(record); "
            "assert record.id in page and '</html>' in page; "
            f"print([name for name in {SERVER_ONLY!r} if name in sys.modules])")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"


@pytest.mark.parametrize("config", [
    SiteConfig(),
    SiteConfig(site_name="These Bagels", public_url="https://x.example", statuses=(
        "approved", "pending"), refresh_seconds=0.5, review_token="t" * 40,
        accel_redirect="/_gallery/", live_model="emoji64",
        live=LiveSettings(device="cuda:1", max_batch=4, threads=3),
        trusted_proxies=("127.0.0.1", "10.0.0.0/8")),
])
def test_a_site_config_comes_back_from_its_json_as_it_was(config):
    assert SiteConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_names_a_site_config_does_not_know_are_left_out():
    assert SiteConfig.from_dict({"site_name": "X", "from_a_newer_ganpage": 1}) == SiteConfig(
        site_name="X")
