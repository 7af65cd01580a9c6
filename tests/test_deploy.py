"""deploy/: the systemd unit and the nginx site files of docs/deploy.md, each run for real (nginx
in front of a running `ganpage serve`, with TLS) or checked by systemd-analyze."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ganpage.gallery import INDEX_FILE, Gallery
from ganpage.web.hygiene import SECURITY_HEADERS
from helpers.nginx import DEPLOY, NGINX, check_config, running_nginx, write_config
from helpers.servers import free_port, wait_for_http

needs_nginx = pytest.mark.skipif(NGINX is None or shutil.which("openssl") is None,
                                 reason="nginx or openssl is not installed")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture(scope="module")
def gallery(tiny_gallery: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny gallery with things in its folder that nginx must never serve: a
    picture-shaped symbolic link to a secret file, a leftover atomic write, the index, a
    rejected and a pending picture (their files are there, their URLs are guessable)."""
    root = tmp_path_factory.mktemp("deploy") / "gallery"
    shutil.copytree(tiny_gallery, root)
    with Gallery.open(root) as opened:
        record, rejected, pending = opened.records()[:3]
        opened.set_status("rejected", [rejected.id])
        opened.set_status("pending", [pending.id])
    (root.parent / "secret.txt").write_text("secret")
    (root / "hamster" / "0123456789ab.png").symlink_to(root.parent / "secret.txt")
    (root / record.category / f".{record.id}.{record.format}.x1.partial").write_bytes(b"half")
    return root


def deployed_environment() -> dict[str, str]:
    """The GANPAGE_* settings of deploy/ganpage.env, as systemd's EnvironmentFile reads them."""
    lines = (DEPLOY / "ganpage.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


@pytest.fixture(scope="module")
def ganpage_server(gallery: Path):
    """`ganpage serve` on loopback, as the systemd unit runs it: the settings of
    deploy/ganpage.env, with this test's gallery and port."""
    port = free_port()
    environment = {**deployed_environment(), "GANPAGE_GALLERY": str(gallery),
                   "GANPAGE_PORT": str(port), "GANPAGE_ACCESS_LOG": "",
                   "GANPAGE_METRICS_PORT": str(free_port()),
                   "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    process = subprocess.Popen([sys.executable, "-m", "ganpage", "serve"], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def front_replacements(gallery: Path, port: int) -> dict[str, str]:
    return {"server 127.0.0.1:8000;": f"server 127.0.0.1:{port};",
            "/srv/ganpage/gallery/": f"{gallery}/"}


@pytest.fixture(scope="module")
def front(gallery: Path, ganpage_server: int, tmp_path_factory: pytest.TempPathFactory):
    if NGINX is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    with running_nginx(tmp_path_factory.mktemp("nginx-front"), "ganpage.conf",
                       front_replacements(gallery, ganpage_server)) as nginx, \
            httpx.Client(base_url=nginx.https, verify=nginx.tls(), timeout=10) as client:
        yield nginx, client


@needs_nginx
@pytest.mark.parametrize("name", ["ganpage.conf", "ganpage-site.conf"])
def test_nginx_accepts_each_site_file(tmp_path, name):
    replacements = {"server 127.0.0.1:8000;": "server 127.0.0.1:1;"} if name == "ganpage.conf" \
        else {"root /srv/ganpage/site;": f"root {tmp_path};"}
    config, _, _ = write_config(tmp_path, name, replacements)
    checked = check_config(config)
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr.replace("the \"user\" directive", ""), checked.stderr


@pytest.mark.slow
def test_pages_and_api_go_through_nginx_to_ganpage(front):
    nginx, client = front
    page = client.get("/")
    assert page.status_code == 200 and "<img" in page.text
    assert "frame-ancestors" in page.headers["content-security-policy"]  # ganpage's own
    assert page.headers["strict-transport-security"] == "max-age=31536000"  # nginx's
    assert "nginx/" not in page.headers.get("server", "")
    api = client.get("/api/categories")
    assert api.status_code == 200 and len(api.json()) == 3


@pytest.mark.slow
def test_plain_http_is_redirected_to_https(front):
    nginx, _ = front
    answer = httpx.get(nginx.http + "/c/hamster?page=2", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["location"] == "https://127.0.0.1/c/hamster?page=2"


def test_the_deployed_proxy_names_the_client_and_only_it_is_believed():
    """nginx overwrites X-Forwarded-For and -Proto (a client's own never reach ganpage), and
    the unit's settings believe them from nginx on loopback, from nothing else."""
    assert deployed_environment()["GANPAGE_TRUSTED_PROXY"] == "127.0.0.1"
    site = (DEPLOY / "nginx" / "ganpage.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "$proxy_add_x_forwarded_for" not in site and "X-Real-IP" not in site
    assert deployed_environment()["GANPAGE_METRICS_PORT"] == "9464"
    assert "GANPAGE_METRICS_HOST" not in deployed_environment()  # loopback, the default


def test_the_deployed_settings_send_pictures_through_nginx():
    assert deployed_environment()["GANPAGE_ACCEL_REDIRECT"] == "/_gallery/"
    site = (DEPLOY / "nginx" / "ganpage.conf").read_text()
    assert "location /_gallery/ {\n        internal;" in site


@pytest.mark.slow
def test_pictures_come_from_the_gallery_folder_with_their_cache_headers(front, gallery):
    nginx, client = front
    picture = client.get("/api/random").json()
    answer = client.get(picture["image_url"])
    assert answer.status_code == 200
    assert answer.content == (gallery / picture["image_url"].removeprefix("/images/")).read_bytes()
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"] in ("image/webp", "image/png")
    for name, value in SECURITY_HEADERS:  # as ganpage sends them, lost in the redirect
        assert answer.headers[name.decode()] == value.decode(), name
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    assert "x-accel-redirect" not in answer.headers
    assert answer.headers["etag"] != f'"{picture["sha256"]}"'  # nginx's ETag: nginx sent it
    again = client.get(picture["image_url"], headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = client.head(picture["image_url"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(answer.content))


@pytest.mark.slow
@pytest.mark.parametrize("status", ["rejected", "pending"])
def test_pictures_not_shown_cannot_be_fetched_by_their_url(front, gallery, status):
    nginx, client = front
    with Gallery.open(gallery) as opened:
        hidden = opened.records([status])[0]
    assert (gallery / hidden.relative_path).exists()
    answer = client.get(f"/images/{hidden.relative_path}")
    assert answer.status_code == 404
    assert answer.content != (gallery / hidden.relative_path).read_bytes()


@pytest.mark.slow
def test_the_internal_location_cannot_be_asked_for_directly(front, gallery):
    nginx, client = front
    picture = client.get("/api/random").json()
    relative = picture["image_url"].removeprefix("/images/")
    for path in (f"/_gallery/{relative}", f"/_gallery/{INDEX_FILE}", "/_gallery/"):
        assert client.get(path).status_code == 404, path


@pytest.mark.slow
def test_a_picture_damaged_under_the_server_is_404_through_nginx(front, gallery):
    nginx, client = front
    with Gallery.open(gallery) as opened:
        victim = opened.records(["approved"])[-1]
    url = f"/images/{victim.relative_path}"
    assert client.get(url).status_code == 200
    path = gallery / victim.relative_path
    path.write_bytes(path.read_bytes()[:40])  # truncated: no longer its row's sha256
    assert client.get(url).status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    f"/images/{INDEX_FILE}", f"/images/hamster/../{INDEX_FILE}",
    f"/images/hamster/..%2f{INDEX_FILE}", f"/images/hamster/%2e%2e/{INDEX_FILE}",
    f"/images/%2e%2e/%2e%2e/{INDEX_FILE}", f"/{INDEX_FILE}", f"/images/{INDEX_FILE}-wal",
    "/images/hamster/0123456789ab.png", "/images/hamster/", "/images/model/model.json",
    "/images/hamster/0123456789ab.png%00.png", "/images//etc/passwd", "/metrics",
])
def test_nothing_else_in_the_gallery_folder_is_served(front, path):
    nginx, client = front
    answer = client.get(path)
    assert answer.status_code in (400, 403, 404), (path, answer.status_code)
    assert b"SQLite format 3" not in answer.content and b"secret" not in answer.content


@pytest.mark.slow
def test_leftover_partial_writes_are_not_served(front, gallery):
    nginx, client = front
    leftover = next(gallery.glob("*/.*.partial"))
    answer = client.get(f"/images/{leftover.parent.name}/{leftover.name}")
    assert answer.status_code == 404 and answer.content != b"half"


@pytest.mark.slow
def test_a_burst_from_one_client_is_rate_limited_with_429_not_5xx(front):
    nginx, client = front
    statuses = [client.get("/api/categories").status_code for _ in range(90)]
    assert 429 in statuses and statuses[0] == 200
    assert not [s for s in statuses if s >= 500]


@pytest.mark.slow
def test_oversized_headers_are_refused_by_nginx(front):
    nginx, client = front
    answer = client.get("/", headers={"X-Big": "x" * 20_000})
    assert answer.status_code in (400, 431, 494)


@pytest.fixture(scope="module")
def static_site(tmp_path_factory: pytest.TempPathFactory):
    """deploy/nginx/ganpage-site.conf serving a folder shaped like `ganpage build-site`'s."""
    if NGINX is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    root = tmp_path_factory.mktemp("static")
    site = root / "site"
    (site / "images" / "hamster").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>home</title>")
    (site / "categories.html").write_text("<!doctype html><title>categories</title>")
    (site / "images" / "hamster" / "0123456789ab.webp").write_bytes(b"RIFF0000WEBP")
    (site / ".index.html.x.partial").write_text("half")
    with running_nginx(root / "nginx", "ganpage-site.conf",
                       {"root /srv/ganpage/site;": f"root {site};"}) as nginx, \
            httpx.Client(base_url=nginx.https, verify=nginx.tls(), timeout=10) as client:
        yield nginx, client


@pytest.mark.slow
def test_the_static_site_is_served_with_page_and_picture_cache_headers(static_site):
    nginx, client = static_site
    home = client.get("/")
    assert home.status_code == 200 and "home" in home.text
    assert home.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    assert client.get("/categories").text == client.get("/categories.html").text
    picture = client.get("/images/hamster/0123456789ab.webp")
    assert picture.headers["content-type"] == "image/webp"
    assert picture.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/.index.html.x.partial").status_code == 404
    assert client.post("/", content=b"x").status_code == 403
    assert httpx.get(nginx.http + "/").status_code == 301


def unit_for_this_machine(tmp_path: Path) -> Path:
    """deploy/ganpage.service with ExecStart pointing at this environment's ganpage."""
    text = (DEPLOY / "ganpage.service").read_text()
    executable = Path(sys.executable).parent / "ganpage"
    assert "ExecStart=/opt/ganpage/venv/bin/ganpage serve" in text
    unit = tmp_path / "ganpage.service"
    unit.write_text(text.replace("/opt/ganpage/venv/bin/ganpage", str(executable)))
    return unit


@pytest.mark.slow
@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    if not (Path(sys.executable).parent / "ganpage").exists():
        pytest.skip("the ganpage command is not installed in this environment")
    verified = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit_for_this_machine(tmp_path))],
                              capture_output=True, text=True)
    assert verified.returncode == 0 and "ganpage.service" not in verified.stderr, verified.stderr


@pytest.mark.slow
@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_the_unit_is_hardened(tmp_path):
    unit = unit_for_this_machine(tmp_path)
    scored = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20",
                             str(unit)], capture_output=True, text=True)
    if "Unknown option" in scored.stderr or "unrecognized option" in scored.stderr:
        pytest.skip("this systemd-analyze has no --offline security check")
    exposure = float(scored.stdout.rsplit("Overall exposure level for", 1)[1].split(":")[1]
                     .split()[0])
    assert exposure <= 2.0, scored.stdout  # systemd's scale: 0 (locked down) to 10 (exposed)
    settings = (DEPLOY / "ganpage.service").read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "EnvironmentFile="):
        assert setting in settings


GUIDE = Path(__file__).parents[1] / "docs" / "deploy.md"
SHOWN_FILES = {"nginx": ["nginx/ganpage.conf", "nginx/ganpage-site.conf"],
               "ini": ["ganpage.service", "ganpage.env"]}


def guide_blocks(language: str) -> list[list[str]]:
    """The lines of each ```language block of docs/deploy.md."""
    parts = GUIDE.read_text().split(f"```{language}\n")[1:]
    return [part.split("```", 1)[0].splitlines() for part in parts]


@pytest.mark.parametrize("language", sorted(SHOWN_FILES))
def test_every_config_line_the_guide_shows_is_in_the_tested_file(language):
    files = "\n".join((DEPLOY / name).read_text() for name in SHOWN_FILES[language])
    blocks = guide_blocks(language)
    assert blocks, f"docs/deploy.md shows no {language} block"
    for block in blocks:
        for line in block:
            assert line in files.splitlines(), f"docs/deploy.md shows {line!r}, not in deploy/"


def test_the_guide_links_every_deploy_file_and_documents_every_setting_it_uses():
    guide = GUIDE.read_text()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            assert f"(../deploy/{path.relative_to(DEPLOY)})" in guide, path
    options = (Path(__file__).parents[1] / "src" / "ganpage" / "cli" / "serve.py").read_text()
    for variable in deployed_environment():
        assert f"`{variable}`" in guide, variable
    for variable in set(re.findall(r"`(GANPAGE_[A-Z_]+)`", guide)) - {"GANPAGE_REVIEW_TOKEN"}:
        assert f'envvar="{variable}"' in options, f"docs/deploy.md names {variable}: no such option"
    assert "(docs/deploy.md)" in (Path(__file__).parents[1] / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_a_method_not_allowed_through_nginx_is_405_with_allow(front, method):
    nginx, _ = front
    # from an address of its own: the rate-limit test before it spent 127.0.0.1's burst
    transport = httpx.HTTPTransport(local_address="127.0.0.3", verify=nginx.tls())
    with httpx.Client(base_url=nginx.https, transport=transport, timeout=10) as client:
        picture = client.get("/api/random").json()
        for path in ("/", "/api/random", picture["image_url"]):
            answer = client.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers.get_list("allow") == ["GET, HEAD"], (method, path)
