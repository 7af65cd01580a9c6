"""The ``ganpage`` command: parses options, calls the library, prints results. Nothing else.

Errors the user can fix (``GanpageError``) are printed as one line, without a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ganpage.errors import GanpageError

app = typer.Typer(
    help="Make \"This X Does Not Exist\" websites from class-conditional GANs.\n\n"
         "Quick start: [bold]ganpage demo[/bold] builds a small gallery with the built-in model "
         "and serves it.\n\n"
         "Your own site: ganpage generate my-gallery --model emoji64 --per-category 8, "
         "then ganpage serve my-gallery --show pending",
    rich_markup_mode="rich",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
gallery_app = typer.Typer(help="Inspect, curate and merge galleries.", no_args_is_help=True,
                          rich_markup_mode="rich")
app.add_typer(gallery_app, name="gallery")

DEFAULT_MODEL = "emoji64"


def main() -> None:
    """Entry point of the console script: run the app, turning known errors into one line."""
    try:
        app(standalone_mode=False)
    except GanpageError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted; re-run the same command to continue where it stopped", err=True)
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    except Exception as error:  # click's usage errors arrive here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise


@app.command()
def generate(
    gallery: Annotated[Path, typer.Argument(help="Gallery folder (created if missing).")],
    model: Annotated[str, typer.Option(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
    category: Annotated[list[str], typer.Option("--category", "-c",
                                                help="Category name, slug or id; repeatable.")]
    = [],  # noqa: B006 - typer reads the default, never mutates it
    random_categories: Annotated[int | None, typer.Option(
        help="Pick this many categories at random (see --seed).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random category choice.")] = 0,
    per_category: Annotated[int, typer.Option(help="Pictures per category.")] = 8,
    first_seed: Annotated[int, typer.Option(help="Noise seed of each category's first picture.")]
    = 0,
    truncation: Annotated[str, typer.Option(help="0.5, or a range 0.4:0.7 drawn per picture.")]
    = "0.7",
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 32,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
    shard: Annotated[str, typer.Option(help="I/N: do only this machine's share of the job.")]
    = "0/1",
    image_format: Annotated[str, typer.Option("--format", help="webp or png.")] = "webp",
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Fill a gallery with reproducible pictures; re-run the same command to resume.

    [bold]Examples[/bold]

    ganpage generate gallery/ --model emoji64 --per-category 8

    ganpage generate gallery/ -c hamster -c bagel --per-category 50 --truncation 0.4:0.7

    ganpage generate gallery/ --random-categories 60 --seed 1 --per-category 50

    ganpage generate shard2/ --random-categories 60 --seed 1 --shard 2/4 --device cuda
    """
    from ganpage.gallery import FORMATS, Gallery
    from ganpage.generate import Shard, TruncationRange, choose_categories, plan
    from ganpage.generate import generate as run_generate
    from ganpage.models import load_generator

    if image_format not in FORMATS:
        raise GanpageError(f"--format must be one of {', '.join(FORMATS)}, got {image_format!r}")
    truncation_range = TruncationRange.parse(truncation)
    job_shard = Shard.parse(shard)
    generator = load_generator(model, device=device)
    categories = choose_categories(generator, category, random_categories, seed)
    jobs = plan(generator, categories, per_category, truncation_range, first_seed, job_shard)
    with Gallery.open(gallery, create=True) as target:
        made = run_generate(generator, target, jobs, batch_size, image_format, not quiet)
    typer.echo(f"{gallery}: {made} new pictures, {len(jobs) - made} already there "
               f"({len(categories)} categories, shard {shard})")


@app.command()
def serve(
    gallery: Annotated[Path, typer.Argument(help="Gallery folder made by `ganpage generate`.")],
    host: str = "127.0.0.1",
    port: int = 8000,
    show: Annotated[list[str], typer.Option(
        help="Curation statuses to show; repeatable: approved, pending.")]
    = ["approved"],  # noqa: B006
    public_url: Annotated[str, typer.Option(help="Base URL for OpenGraph links.")] = "",
    site_name: str = "This X Does Not Exist",
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Serve the "This X Does Not Exist" site for a gallery.

    [bold]Examples[/bold]

    ganpage serve gallery/

    ganpage serve gallery/ --show approved --show pending --port 8080

    ganpage serve gallery/ --host 0.0.0.0 --public-url https://thisxdoesnotexist.example
    """
    from ganpage.web.server import run_server

    run_server(gallery, host, port, tuple(show), public_url, site_name, workers)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where to build the demo gallery.")]
    = Path("demo-gallery"),
    model: str = DEFAULT_MODEL,
    per_category: int = 4,
    port: int = 8000,
    host: str = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the gallery only.")] = False,
) -> None:
    """Build a small gallery with the built-in model and serve it: the whole product in one go.

    [bold]Examples[/bold]

    ganpage demo

    ganpage demo --port 8080 --per-category 8
    """
    from ganpage.demo import build_demo_gallery
    from ganpage.web.server import run_server

    made = build_demo_gallery(out, model, per_category)
    typer.echo(f"demo gallery: {out} ({made} new pictures)")
    if not no_serve:
        run_server(out, host, port, ("approved", "pending"), "", "This X Does Not Exist", 1)


@app.command()
def categories(
    model: Annotated[str, typer.Argument(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
) -> None:
    """List a model's categories: id, slug and display name.

    [bold]Example[/bold]

    ganpage categories emoji64
    """
    from ganpage.models import load_generator

    for item in load_generator(model).categories:
        typer.echo(f"{item.id:5d}  {item.slug:32s}  {item.name}")


@app.command()
def models() -> None:
    """List the built-in models.

    [bold]Example[/bold]

    ganpage models
    """
    from ganpage.models.loading import builtin_models

    found = builtin_models()
    for name, folder in found.items():
        typer.echo(f"{name}  ({folder})")
    if not found:
        typer.echo("no built-in model is installed")


@gallery_app.command("merge")
def gallery_merge(
    target: Annotated[Path, typer.Argument(help="Gallery to merge into (created if missing).")],
    sources: Annotated[list[Path], typer.Argument(help="Galleries to copy from.")],
) -> None:
    """Merge shard galleries into one.

    [bold]Example[/bold]

    ganpage gallery merge gallery/ shard0/ shard1/ shard2/ shard3/
    """
    from ganpage.gallery import Gallery

    with Gallery.open(target, create=True) as merged:
        for source in sources:
            with Gallery.open(source) as other:
                typer.echo(f"{source}: {merged.merge_from(other)} pictures merged")


@gallery_app.command("approve")
def gallery_approve(
    gallery: Path,
    ids: Annotated[list[str] | None, typer.Argument(help="Image ids.")] = None,
    all_images: Annotated[bool, typer.Option("--all", help="Every picture.")] = False,
    category: Annotated[str | None, typer.Option(help="Every picture of this slug.")] = None,
    reject: Annotated[bool, typer.Option(help="Reject instead of approve.")] = False,
) -> None:
    """Approve (or --reject) pictures so that `ganpage serve` shows (or hides) them.

    [bold]Examples[/bold]

    ganpage gallery approve gallery/ --all

    ganpage gallery approve gallery/ 3f2a9c01b2de --reject
    """
    from ganpage.gallery import Gallery

    if not (ids or all_images or category):
        raise GanpageError("say which pictures: image ids, --category SLUG or --all")
    with Gallery.open(gallery) as target:
        changed = target.set_status("rejected" if reject else "approved", ids or None, category)
    typer.echo(f"{changed} pictures {'rejected' if reject else 'approved'}")


@gallery_app.command("verify")
def gallery_verify(gallery: Path) -> None:
    """Check that every indexed picture exists and matches its sha256.

    [bold]Example[/bold]

    ganpage gallery verify gallery/
    """
    from ganpage.gallery import Gallery

    with Gallery.open(gallery) as target:
        problems = target.verify()
        counts = target.count_by_status()
    for problem in problems:
        typer.echo(problem)
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    typer.echo(f"{sum(counts.values())} pictures ({summary}), {len(problems)} problems")
    if problems:
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
