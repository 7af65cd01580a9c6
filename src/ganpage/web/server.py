"""Run the site under an ASGI server: Granian (default, measured faster) or uvicorn.

Both servers' own supervisors keep the workers up (a worker that dies is replaced: Granian's
``respawn_failed_workers``, uvicorn's multiprocess supervisor), finish requests in flight on
SIGTERM/Ctrl-C for up to ``shutdown_timeout`` seconds, and bound what slow clients can hold.
Neither rewrites a request's client from its headers (uvicorn would, from 127.0.0.1): the site
believes X-Forwarded-For only from ``--trusted-proxy`` (``web/proxies.py``). The metrics are
answered by this process on a listener of their own (``web/metrics.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ganpage.errors import GanpageError
from ganpage.live.settings import LiveSettings
from ganpage.web.app import create_app
from ganpage.web.config import SiteConfig
from ganpage.web.fast_path import RandomPageFastPath
from ganpage.web.metrics import metrics_listener, multiprocess_directory
from ganpage.web.review.tokens import login_line
from ganpage.web.shared_folder import sharing

SETTINGS_VARIABLE = "GANPAGE_SERVE_SETTINGS"
APP_FACTORY = "ganpage.web.server:app_from_environment"
# Slow clients: a request's headers must arrive within this many seconds (Granian; uvicorn has
# no such timeout, see README), idle keep-alive connections close after KEEP_ALIVE_SECONDS, and
# a Granian worker holds up to CONNECTIONS_PER_WORKER connections (its default, the backlog
# divided among workers, let ~1,000 slow sockets lock everyone out).
HEADER_TIMEOUT_SECONDS = 10
KEEP_ALIVE_SECONDS = 5
CONNECTIONS_PER_WORKER = 16_384
# A request's line and headers must fit in this many bytes (Granian's read buffer; its default,
# 408 kB, took a 64 kB header); past it Granian answers 431. uvicorn's h11 limit is 16 kB.
MAX_HEADER_BYTES = 32 * 1024
BACKLOG = 4096
# The metrics listener's port when none is given (Prometheus's exporter range, 9100-9999); if
# it is taken the server starts without it, with a warning; a port given must be free.
DEFAULT_METRICS_PORT = 9464


@dataclass(frozen=True)
class ServerOptions:
    """How to run the server processes (the site's own settings are ``SiteConfig``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    server: str = "granian"
    shutdown_timeout: int = 30  # seconds to finish requests in flight after SIGTERM/Ctrl-C
    metrics_host: str = "127.0.0.1"
    # the metrics listener's port; 0: none; None: run_server takes DEFAULT_METRICS_PORT if it
    # is free (serve_target, given None, runs none)
    metrics_port: int | None = None


def app_from_environment(load_catalog: bool = True) -> RandomPageFastPath:
    """App factory for the server's worker processes (settings travel as JSON in the env);
    ``load_catalog`` False: the settings checked, the showable pictures not read."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    return create_app(settings["gallery"], SiteConfig.from_dict(settings["site"]),
                      settings["access_log"] or None, load_catalog=load_catalog)


def _run_granian(target: str, options: ServerOptions) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    Granian(target, address=options.host, port=options.port, interface=Interfaces.ASGI,
            workers=options.workers, factory=True, log_level=LogLevels.warning,
            log_access=False, respawn_failed_workers=True,
            workers_kill_timeout=options.shutdown_timeout, backlog=BACKLOG,
            backpressure=CONNECTIONS_PER_WORKER,
            http1_settings=HTTP1Settings(header_read_timeout=HEADER_TIMEOUT_SECONDS * 1000,
                                         max_buffer_size=MAX_HEADER_BYTES)
            ).serve()


def _run_uvicorn(target: str, options: ServerOptions) -> None:
    import uvicorn

    uvicorn.run(target, factory=True, host=options.host, port=options.port,
                workers=options.workers, log_level="warning", access_log=False,
                timeout_graceful_shutdown=options.shutdown_timeout, backlog=BACKLOG,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                proxy_headers=False)  # its default believes X-Forwarded-For from 127.0.0.1


SERVERS: dict[str, Callable[[str, ServerOptions], None]] = {
    "granian": _run_granian,
    "uvicorn": _run_uvicorn,
}


def check_address(host: str, port: int, options: str = "--port or --host") -> None:
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
                           f"choose another {options}") from None


def serve_target(target: str, options: ServerOptions) -> None:
    """Run the app factory ``target`` ("module:function") until SIGTERM or Ctrl-C, with a
    fresh folder for what the workers share (web/shared_folder.py) that is removed
    when the server stops, and the metrics listener when ``options`` has a port for it."""
    # uvicorn in one process raises the SIGTERM it stopped on again once its requests are
    # done; with the default action that would end the process before the folder is removed.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        with multiprocess_directory() as folder, sharing(folder), \
                metrics_listener(options.metrics_host, options.metrics_port or 0, folder):
            SERVERS[options.server](target, options)
    finally:
        signal.signal(signal.SIGTERM, previous)



def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def check_live_model(model: str, device: str) -> None:
    """Load the live model once in a child process started afresh, so that a bad model is one
    line before the server starts, and this process (whose forks become Granian's workers)
    never runs torch: OpenMP's threads do not survive a fork."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ganpage.models.loading import resolve_model_dir

    try:
        resolve_model_dir(model)  # the usual mistake, a wrong name, without a child's start-up
    except GanpageError as error:
        raise GanpageError(f"--live {model}: {error}") from None
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        problem = child.submit(_live_model_problem, model, device).result()
    if problem:
        raise GanpageError(problem)


def _live_model_problem(model: str, device: str) -> str:
    from ganpage.models import load_generator

    try:
        load_generator(model, device)
    except GanpageError as error:
        return f"--live {model}: {error}"
    return ""


def prepare_live_page(model: str):
    """Export the live model's ONNX for /live (``web/live_page.py``) into the cache, in the
    background in a child process started afresh (this process never runs torch), so that the
    first visitor of /live need not wait for it; a worker that gets one first exports too."""
    import multiprocessing

    export = multiprocessing.get_context("spawn").Process(
        target=_export_for_live_page, args=(model,), daemon=True, name="ganpage-live-onnx")
    export.start()
    # reap it when it ends, or it stays a zombie beside the workers for the server's lifetime
    threading.Thread(target=export.join, name="ganpage-live-onnx-reaper", daemon=True).start()
    return export


def _export_for_live_page(model: str) -> None:
    from ganpage.onnx_export import cached_export

    with contextlib.suppress(GanpageError):  # /live then answers the error to its visitor
        cached_export(model)


def live_settings_for(live: LiveSettings, workers: int) -> LiveSettings:
    """The settings with torch's threads chosen, when not given: the cores divided among the
    worker processes, so that they do not fight over them."""
    if live.threads:
        return live
    return replace(live, threads=max(1, len(os.sched_getaffinity(0)) // workers))


def metrics_port_for(host: str, port: int | None) -> int:
    """The metrics listener's port: ``port`` if given (it must be free), else
    ``DEFAULT_METRICS_PORT`` if it is free, else 0 (none, with a warning)."""
    if port == 0:
        return 0
    try:
        check_address(host, port or DEFAULT_METRICS_PORT, "--metrics-port or --metrics-host")
    except GanpageError as error:
        if port is not None:
            raise
        print(f"warning: no metrics listener: {error}", file=sys.stderr, flush=True)
        return 0
    return port or DEFAULT_METRICS_PORT


def run_server(gallery: Path | None, site: SiteConfig, options: ServerOptions,
               access_log: str = "") -> None:
    """Serve ``gallery`` (None: live pictures only) and, with ``site.live_model``, pictures
    drawn by the server until interrupted, printing the URL first (and the review page's login
    URL when ``site.review_token`` is set: ``tokens.login_line``; every worker gets the same
    token). ``options.metrics_port`` None: ``DEFAULT_METRICS_PORT`` if free; 0: none."""
    live = live_settings_for(site.live or LiveSettings(), options.workers)
    site = replace(site, public_url=site.public_url.rstrip("/"), live=live)
    os.environ[SETTINGS_VARIABLE] = json.dumps({
        "gallery": str(Path(gallery).resolve()) if gallery is not None else None,
        "access_log": access_log if access_log in ("", "-") else str(Path(access_log).resolve()),
        "site": site.to_dict()})
    # fail fast, here, on a bad gallery or access log, without reading every picture: each
    # worker reads the showable ones itself
    app_from_environment(load_catalog=False).close()
    if options.server not in SERVERS:
        raise GanpageError(f"unknown server {options.server!r}; use one of {', '.join(SERVERS)}")
    check_address(options.host, options.port)
    base = f"http://{options.host}:{options.port}"
    review_line = login_line(base, site.review_token,
                             sys.stdout.isatty()) if site.review_token else ""
    if site.live_model:
        check_live_model(site.live_model, live.device)
    # after every check that stops the server: a warning only when it goes on to serve
    options = replace(options, metrics_port=metrics_port_for(options.metrics_host,
                                                             options.metrics_port))
    if site.live_model:
        prepare_live_page(site.live_model)
    what = " and ".join(filter(None, [str(gallery) if gallery is not None else "",
                                      f"live pictures of {site.live_model}"
                                      if site.live_model else ""]))
    print(f"serving {what} at {base}/  (Ctrl-C to stop)", flush=True)
    if options.metrics_port:
        print(f"metrics: http://{options.metrics_host}:{options.metrics_port}/metrics", flush=True)
    if review_line:
        print(review_line, flush=True)
    serve_target(APP_FACTORY, options)
