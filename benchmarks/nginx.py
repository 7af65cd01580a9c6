"""A throwaway nginx serving one folder on loopback, for the benchmarks' peers and servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from helpers.servers import free_port, wait_for_http  # noqa: E402

CONFIG = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  types {{ text/html html; image/jpeg jpg; }}
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location / {{ root {root}/www; index index.html; add_header Cache-Control no-store; }}
  }}
}}
"""


def start_nginx(root: Path, probe: str) -> tuple[subprocess.Popen, int]:
    """Serve ``root/www`` with one worker; returns (process, port) once ``probe`` answers."""
    root.chmod(0o755)  # nginx's worker runs as another user and must read www/
    (root / "tmp").mkdir(exist_ok=True)
    port = free_port()
    (root / "nginx.conf").write_text(CONFIG.format(root=root, port=port))
    process = subprocess.Popen(["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_http(f"http://127.0.0.1:{port}/{probe}", process)
    return process, port
