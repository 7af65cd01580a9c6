"""``ganpage serve`` and ``ganpage demo``: the site, for a gallery or the built-in model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import Server, Status
from ganpage.defaults import DEFAULT_MODEL, DEMO_CATEGORIES
from ganpage.live.settings import LiveSettings

LIVE = LiveSettings()  # the --live-* options' defaults are the settings' own

app = typer.Typer()


@app.command()
def serve(
    gallery: Annotated[Path | None, typer.Argument(
        help="Gallery folder made by `ganpage generate` (optional with --live).",
        envvar="GANPAGE_GALLERY", show_default=False)] = None,
    host: Annotated[str, typer.Option(envvar="GANPAGE_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, envvar="GANPAGE_PORT")] = 8000,
    show: Annotated[list[Status], typer.Option(
        help="Curation statuses to show; repeatable.", envvar="GANPAGE_SHOW")]
    = [Status.APPROVED],  # noqa: B006
    public_url: Annotated[str, typer.Option(help="Base URL for OpenGraph links.",
                                            envvar="GANPAGE_PUBLIC_URL")] = "",
    site_name: Annotated[str, typer.Option(envvar="GANPAGE_SITE_NAME")]
    = "This X Does Not Exist",
    workers: Annotated[int, typer.Option(min=1, help="Server processes.",
                                         envvar="GANPAGE_WORKERS")] = 1,
    server: Annotated[Server, typer.Option(help="ASGI server.", envvar="GANPAGE_SERVER")]
    = "granian",
    access_log: Annotated[str, typer.Option(
        help="Append a JSON line per request to this file ('-': standard output).",
        envvar="GANPAGE_ACCESS_LOG")] = "",
    shutdown_timeout: Annotated[int, typer.Option(
        min=1, help="Seconds to finish requests in flight on SIGTERM or Ctrl-C.",
        envvar="GANPAGE_SHUTDOWN_TIMEOUT")] = 30,
    review: Annotated[bool, typer.Option(
        "--review", help="Add /review to approve and reject pictures, behind a token "
        "(GANPAGE_REVIEW_TOKEN, at least 32 characters; else a new one, whose login URL is "
        "printed to a terminal).",
        envvar="GANPAGE_REVIEW")] = False,
    accel_redirect: Annotated[str, typer.Option(
        help="Behind nginx: answer a checked picture with X-Accel-Redirect to this internal "
        "location (e.g. /_gallery/, aliasing the gallery folder); nginx sends the bytes.",
        envvar="GANPAGE_ACCEL_REDIRECT")] = "",
    live: Annotated[str, typer.Option(
        "--live", metavar="MODEL", help="Also draw pictures on demand with this model (a "
        "built-in name, folder or Hugging Face id): /draw?category=&seed=&truncation= and, "
        "without a gallery, the random page.", envvar="GANPAGE_LIVE")] = "",
    live_device: Annotated[str, typer.Option(
        help="Where the live model runs: cpu, cuda or cuda:N.",
        envvar="GANPAGE_LIVE_DEVICE")] = LIVE.device,
    live_batch: Annotated[int, typer.Option(
        min=1, help="Most pictures drawn in one batch (requests that arrive together are "
        "drawn together); 1 turns micro-batching off.", envvar="GANPAGE_LIVE_BATCH")]
    = LIVE.max_batch,
    live_queue: Annotated[int, typer.Option(
        min=1, help="Most requests waiting for the live model in a worker; past it, 503 "
        "with Retry-After at once.", envvar="GANPAGE_LIVE_QUEUE")] = LIVE.max_queue,
    live_rate: Annotated[float, typer.Option(
        min=0, help="Pictures one client may have drawn per second (bursts of twice that); "
        "0: no limit.", envvar="GANPAGE_LIVE_RATE")] = LIVE.rate_per_second,
    live_pool: Annotated[int, typer.Option(
        min=0, help="Fresh pictures kept ready per category for the random page (drawn while "
        "nobody waits); 0: draw each one when asked.", envvar="GANPAGE_LIVE_POOL")]
    = LIVE.pool_size,
    live_threads: Annotated[int, typer.Option(
        min=0, help="torch threads per worker; 0: the CPUs this process may use divided among "
        "the workers (on a machine busy with other work, 1 is faster).",
        envvar="GANPAGE_LIVE_THREADS")] = LIVE.threads,
    live_nice: Annotated[int, typer.Option(
        min=0, max=19, help="Niceness added to the live model's threads (Linux), so that "
        "requests and fast 503s come first; 0: the same priority.",
        envvar="GANPAGE_LIVE_NICE")] = LIVE.niceness,
    trusted_proxy: Annotated[list[str], typer.Option(
        metavar="ADDRESS", help="A proxy in front of the site (address or network, e.g. "
        "127.0.0.1 for nginx on this machine) whose X-Forwarded-For and X-Forwarded-Proto "
        "name the client; repeatable. None by default: those headers are ignored.",
        envvar="GANPAGE_TRUSTED_PROXY")] = [],  # noqa: B006
    metrics_port: Annotated[int | None, typer.Option(
        min=0, max=65535, show_default=False, help="Port of the Prometheus metrics listener, "
        "apart from the site's; 0: none. Default: 9464 if it is free.",
        envvar="GANPAGE_METRICS_PORT")] = None,
    metrics_host: Annotated[str, typer.Option(
        help="Address of the metrics listener (loopback: only this machine may read them).",
        envvar="GANPAGE_METRICS_HOST")] = "127.0.0.1",
) -> None:
    """Serve the "This X Does Not Exist" site for a gallery, a live model, or both.

    Every option can also be set by its GANPAGE_* environment variable (a flag wins).
    /healthz and /readyz are for monitoring; Prometheus metrics: 127.0.0.1:9464/metrics.

    [bold]Examples[/bold]

    ganpage serve gallery/

    ganpage serve gallery/ --show approved --show pending --port 8080

    ganpage serve gallery/ --host 0.0.0.0 --public-url https://thisxdoesnotexist.example

    GANPAGE_WORKERS=4 ganpage serve gallery/ --access-log access.jsonl

    ganpage serve gallery/ --review --show approved --show pending

    GANPAGE_ACCEL_REDIRECT=/_gallery/ ganpage serve gallery/   # nginx in front: docs/deploy.md

    ganpage serve gallery/ --trusted-proxy 127.0.0.1   # its X-Forwarded-For names the client

    ganpage serve --live emoji64

    ganpage serve gallery/ --live emoji64 --live-device cuda --workers 2
    """
    from ganpage.web.config import SiteConfig
    from ganpage.web.review import review_token
    from ganpage.web.server import ServerOptions, run_server

    settings = LiveSettings(device=live_device, max_batch=live_batch, max_queue=live_queue,
                            rate_per_second=live_rate, pool_size=live_pool,
                            threads=live_threads, niceness=live_nice,
                            rate_burst=max(1, round(2 * live_rate)))
    site = SiteConfig(site_name=site_name, public_url=public_url,
                      statuses=tuple(s.value for s in show),
                      review_token=review_token() if review else "",
                      accel_redirect=accel_redirect, live_model=live, live=settings,
                      trusted_proxies=tuple(trusted_proxy))
    options = ServerOptions(host=host, port=port, workers=workers, server=server,
                            shutdown_timeout=shutdown_timeout, metrics_host=metrics_host,
                            metrics_port=metrics_port)
    run_server(gallery, site, options, access_log)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where to build the demo gallery.")]
    = Path("demo-gallery"),
    model: str = DEFAULT_MODEL,
    per_category: Annotated[int, typer.Option(min=1)] = 8,
    best_categories: Annotated[int, typer.Option(
        min=0, help="Show the N categories the model draws best; 0 shows all.")]
    = DEMO_CATEGORIES,
    port: Annotated[int, typer.Option(min=1, max=65535, envvar="GANPAGE_PORT")] = 8000,
    host: Annotated[str, typer.Option(envvar="GANPAGE_HOST")] = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the gallery only.")] = False,
) -> None:
    """Build a small gallery with the built-in model, curate it as `ganpage curate` does, and
    serve its approved pictures: the whole product in one go. A re-run makes and scores only
    what is missing.

    [bold]Examples[/bold]

    ganpage demo

    ganpage demo --port 8080 --per-category 16

    ganpage demo --best-categories 0 --per-category 2 --out demo-all
    """
    from ganpage.demo import build_demo_gallery
    from ganpage.outputs import removed_on_error
    from ganpage.web.config import SiteConfig
    from ganpage.web.server import ServerOptions, run_server

    with removed_on_error(out):
        built = build_demo_gallery(out, model, per_category, best_categories)
    typer.echo(built.line(out))
    if not no_serve:
        run_server(out, SiteConfig(), ServerOptions(host=host, port=port))
