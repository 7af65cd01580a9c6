"""``ganpage gallery ...``: list, approve or reject, verify and merge galleries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import Status
from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord

app = typer.Typer(help="Inspect, curate and merge galleries.", no_args_is_help=True,
                  rich_markup_mode="rich")


@app.command("list")
def gallery_list(
    gallery: Path,
    status: Annotated[list[Status] | None, typer.Option(
        help="Only pictures with this status; repeatable.")] = None,
    category: Annotated[str | None, typer.Option(help="Only pictures of this slug.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List pictures: id, category, recipe (or source file), status, who decided it, scores
    and flags, one line each, oldest first.

    [bold]Examples[/bold]

    ganpage gallery list gallery/ --status rejected

    ganpage gallery list gallery/ --category hamster --json | jq .scores
    """
    with Gallery.open(gallery) as source:
        check_category(source, category)
        records = source.records([s.value for s in status] if status else
                                 [s.value for s in Status], category)
    for record in records:
        typer.echo(json.dumps(listing(record)) if as_json else listing_line(record))


def check_category(gallery: Gallery, category: str | None) -> None:
    """A --category that names no category of the gallery is a mistake, not an empty list."""
    if category is not None and category not in gallery.category_slugs():
        known = ", ".join(sorted(gallery.category_slugs())[:10]) or "none"
        raise GanpageError(f"{gallery.root} has no category {category!r} (it has: {known}); "
                           "give a category slug, as `ganpage gallery list` prints it")


def listing(record: ImageRecord) -> dict:
    """What ``gallery list --json`` prints for a picture."""
    return {"id": record.id, "category": record.category, "seed": record.seed,
            "truncation": None if record.imported else record.truncation,
            "status": record.status, "scores": record.scores, "flags": record.flags,
            "decided_by": record.decided_by, "source": record.source}


def listing_line(record: ImageRecord) -> str:
    """``<id> <category> <recipe or source> <status> [by <decider>] [scores] [flags]``."""
    recipe = (f"source {json.dumps(record.source)}" if record.imported
              else f"seed {record.seed} truncation {record.truncation:g}")
    parts = [record.id, record.category, recipe, record.status]
    if record.decided_by:
        parts.append(f"by {record.decided_by}")
    if record.scores:
        parts.append(" ".join(f"{name}={_number(value)}"
                              for name, value in sorted(record.scores.items())))
    if record.flags:
        parts.append("flags " + ",".join(record.flags))
    return "  ".join(parts)


def _number(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command("merge")
def gallery_merge(
    target: Annotated[Path, typer.Argument(help="Gallery to merge into (created if missing).")],
    sources: Annotated[list[Path], typer.Argument(help="Galleries to copy from.")],
) -> None:
    """Merge shard galleries into one.

    [bold]Example[/bold]

    ganpage gallery merge gallery/ shard0/ shard1/ shard2/ shard3/
    """
    from ganpage.outputs import removed_on_error

    for source in sources:  # every source is a gallery before the target is made
        Gallery.open(source).close()
    with removed_on_error(target), Gallery.open(target, create=True) as merged:
        for source in sources:
            with Gallery.open(source) as other:
                typer.echo(f"{source}: {merged.merge_from(other)} pictures merged")


@app.command("approve")
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
    if not (ids or all_images or category):
        raise GanpageError("say which pictures: image ids, --category SLUG or --all")
    with Gallery.open(gallery) as target:
        check_category(target, category)
        unknown = sorted(set(ids or ()) - target.existing_ids(ids or ()))
        if unknown:
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise GanpageError(f"{gallery} has no picture {', '.join(unknown[:10])}{more}; "
                               f"nothing changed; see `ganpage gallery list {gallery}`")
        changed = target.set_status("rejected" if reject else "approved", ids or None, category)
    typer.echo(f"{changed} pictures {'rejected' if reject else 'approved'}")


@app.command("verify")
def gallery_verify(gallery: Path) -> None:
    """Check that every indexed picture exists and matches its sha256.

    [bold]Example[/bold]

    ganpage gallery verify gallery/
    """
    with Gallery.open(gallery) as target:
        problems = target.verify()
        counts = target.count_by_status()
    for problem in problems:
        typer.echo(problem)
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    typer.echo(f"{sum(counts.values())} pictures ({summary}), {len(problems)} problems")
    if problems:
        raise typer.Exit(1)
