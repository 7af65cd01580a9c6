"""Run the site under uvicorn: one process, or several workers sharing the port."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ganpage.web.app import SiteConfig, create_app

SETTINGS_VARIABLE = "GANPAGE_SERVE_SETTINGS"


def app_from_environment():
    """App factory for uvicorn's worker processes (settings travel as JSON in the environment)."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    config = SiteConfig(site_name=settings["site_name"], public_url=settings["public_url"],
                        statuses=tuple(settings["statuses"]))
    return create_app(settings["gallery"], config)


def run_server(gallery: Path, host: str, port: int, statuses: tuple[str, ...],
               public_url: str, site_name: str, workers: int = 1) -> None:
    """Serve ``gallery`` until interrupted, printing the URL first."""
    import uvicorn

    settings = {"gallery": str(gallery), "statuses": list(statuses),
                "public_url": public_url.rstrip("/"), "site_name": site_name}
    os.environ[SETTINGS_VARIABLE] = json.dumps(settings)
    app = app_from_environment()  # fails fast, in this process, on a bad gallery
    print(f"serving {gallery} at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    else:
        uvicorn.run("ganpage.web.server:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level="warning", access_log=False)
