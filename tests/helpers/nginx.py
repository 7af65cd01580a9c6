"""deploy/nginx/*.conf run for real: each file's production paths and ports swapped for a tmp
folder's, under a throwaway nginx master run as the current user (tests, scripts/reliability.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers.servers import free_port, wait_for_http

DEPLOY = Path(__file__).parents[2] / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
MAIN_CONFIG = """
{user}
worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp/body; proxy_temp_path {root}/tmp/proxy;
  fastcgi_temp_path {root}/tmp/fastcgi; uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;
  include {root}/site.conf;
}}
"""


@dataclass(frozen=True)
class RunningNginx:
    """An nginx serving one deploy/ site file: its ports and the CA that trusts its cert."""

    http_port: int
    https_port: int
    root: Path

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root / "cert.pem"))


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A one-day certificate for 127.0.0.1 and localhost, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def site_config(name: str, replacements: dict[str, str]) -> str:
    """deploy/nginx/``name`` with each production string replaced; a string missing from the
    file is an error, so the test cannot drift from the file it claims to test."""
    text = (DEPLOY / "nginx" / name).read_text()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{old!r} is not in deploy/nginx/{name}")
        text = text.replace(old, new)
    return text


def write_config(root: Path, name: str, replacements: dict[str, str],
                 workers: int = 1) -> tuple[Path, int, int]:
    """Write root/nginx.conf around deploy/nginx/``name``; returns (path, http, https port)."""
    for sub in ("tmp", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(root)
    http_port, https_port = free_port(), free_port()
    domain = "thisxdoesnotexist.example" if name == "ganpage.conf" else \
        "static.thisxdoesnotexist.example"
    replacements = {
        "    listen 80;": f"    listen 127.0.0.1:{http_port};",
        "    listen 443 ssl http2;": f"    listen 127.0.0.1:{https_port} ssl http2;",
        "    listen [::]:80;\n": "", "    listen [::]:443 ssl http2;\n": "",
        f"/etc/letsencrypt/live/{domain}/fullchain.pem": str(cert),
        f"/etc/letsencrypt/live/{domain}/privkey.pem": str(key),
        **replacements,
    }
    (root / "site.conf").write_text(site_config(name, replacements))
    user = "user root root;" if os.geteuid() == 0 else ""  # else workers run as ourselves
    config = root / "nginx.conf"
    config.write_text(MAIN_CONFIG.format(root=root, user=user, workers=workers))
    return config, http_port, https_port


def check_config(config: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` on ``config``."""
    return subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(config.parent)],
                          capture_output=True, text=True)


@contextlib.contextmanager
def running_nginx(root: Path, name: str, replacements: dict[str, str],
                  workers: int = 1) -> Iterator[RunningNginx]:
    """nginx with deploy/nginx/``name`` until the block ends."""
    config, http_port, https_port = write_config(root, name, replacements, workers)
    checked = check_config(config)
    if checked.returncode != 0:
        raise AssertionError(f"nginx -t failed:\n{checked.stderr}")
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{http_port}/", process)
        yield RunningNginx(http_port, https_port, root)
    finally:
        process.terminate()
        process.wait(timeout=10)
