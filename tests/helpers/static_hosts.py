"""Local stand-ins for static hosts, for browser tests of a built site: Netlify-like (a missing
file answered by the site's ``_redirects`` rewrites, status 200) and GitHub Pages-like (a
missing file answered by the site's ``404.html`` with status 404, no rewrites)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def rewrite_rules(site: Path) -> list[tuple[str, str]]:
    """The (from, to) rewrites (status 200) of ``site/_redirects``."""
    redirects = site / "_redirects"
    if not redirects.is_file():
        return []
    rules = []
    for line in redirects.read_text().splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#") and parts[2:3] == ["200"]:
            rules.append((parts[0], parts[1]))
    return rules


def rewritten(path: str, rules: list[tuple[str, str]]) -> str | None:
    """The target of the first rule matching ``path``: a ``*`` at the end matches the rest, a
    ``:name`` segment one segment (as Netlify and Cloudflare Pages read them)."""
    for source, target in rules:
        pattern = "".join("[^/]+" if part.startswith(":") else ".*" if part == "*" else
                          re.escape(part) for part in re.split(r"(:[a-z]+|\*$)", source))
        if re.fullmatch(pattern, path):
            return target
    return None


class HostHandler(SimpleHTTPRequestHandler):
    """Files of ``directory``; a missing one rewritten (``rules``) or answered by
    ``not_found`` (a file of the site) with status 404."""

    def __init__(self, *args, rules, not_found, **kwargs):
        self.rules, self.not_found = rules, not_found
        super().__init__(*args, **kwargs)

    def send_head(self):
        path = self.path.split("?")[0]
        if not Path(self.translate_path(path)).exists():
            target = rewritten(path, self.rules)
            if target is None:
                return self.send_not_found()
            self.path = target
        return super().send_head()

    def send_not_found(self):
        body = self.not_found.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def static_host(folder: Path, site: str = "", rewrites: bool = True) -> Iterator[str]:
    """``folder`` served on 127.0.0.1, the site in ``folder/site`` (``""``: at the root): its
    ``_redirects`` applied (``rewrites``, like Netlify) or none (like GitHub Pages); a missing
    file answered by the site's 404.html. Yields the site's URL."""
    site_folder = folder / site
    handler = partial(HostHandler, directory=str(folder),
                      rules=rewrite_rules(site_folder) if rewrites else [],
                      not_found=site_folder / "404.html")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{site}"
    finally:
        server.shutdown()
        server.server_close()
