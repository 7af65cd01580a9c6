"""Run the site under an ASGI server: Granian (default, measured faster) or uvicorn."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

from ganpage.errors import GanpageError
from ganpage.web.app import RandomPageFastPath, SiteConfig, create_app

SETTINGS_VARIABLE = "GANPAGE_SERVE_SETTINGS"
APP_FACTORY = "ganpage.web.server:app_from_environment"


def app_from_environment() -> RandomPageFastPath:
    """App factory for the server's worker processes (settings travel as JSON in the env)."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    config = SiteConfig(site_name=settings["site_name"], public_url=settings["public_url"],
                        statuses=tuple(settings["statuses"]))
    return create_app(settings["gallery"], config)


def _run_granian(host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    Granian(APP_FACTORY, address=host, port=port, interface=Interfaces.ASGI, workers=workers,
            factory=True, log_level=LogLevels.warning, log_access=False).serve()


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


SERVERS: dict[str, Callable[[str, int, int], None]] = {
    "granian": _run_granian,
    "uvicorn": _run_uvicorn,
}


def check_address(host: str, port: int) -> None:
    """Fail with one line, before a server starts, if it could not listen on host:port (the
    port is taken, or the host is not an address of this machine); Granian would panic."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            probe.bind(address)
    except OSError as error:
        raise GanpageError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                           "choose another --port or --host") from None


def run_server(gallery: Path, host: str, port: int, statuses: tuple[str, ...],
               public_url: str, site_name: str, workers: int = 1,
               server: str = "granian") -> None:
    """Serve ``gallery`` until interrupted, printing the URL first."""
    if server not in SERVERS:
        raise GanpageError(f"unknown server {server!r}; use one of {', '.join(SERVERS)}")
    settings = {"gallery": str(Path(gallery).resolve()), "statuses": list(statuses),
                "public_url": public_url.rstrip("/"), "site_name": site_name}
    os.environ[SETTINGS_VARIABLE] = json.dumps(settings)
    app_from_environment().catalog.gallery.close()  # fail fast, here, on a bad gallery
    check_address(host, port)
    print(f"serving {gallery} at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    SERVERS[server](host, port, workers)
