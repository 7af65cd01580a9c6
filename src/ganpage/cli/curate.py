"""``ganpage curate``: score a gallery's pictures, flag copies, duplicates and blanks, and let
rules approve or reject them (``ganpage.curation``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import ClassifierOption
from ganpage.errors import GanpageError

app = typer.Typer()


@app.command()
def curate(
    gallery: Annotated[Path, typer.Argument(help="Gallery folder made by `ganpage generate`.")],
    classifier: ClassifierOption = None,
    model: Annotated[str | None, typer.Option(
        help="Model whose classifier and training data to use (default: the gallery's).")]
    = None,
    training_data: Annotated[Path | None, typer.Option(
        help="The data set the model learnt from, for the memorisation check (default: the "
        "one its classifier names, if it is here).")] = None,
    rules: Annotated[Path | None, typer.Option(
        help="TOML file of rules: min_class_score, top_k, min_category_median, reject, "
        "duplicate_bits.")]
    = None,
    min_class_score: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Reject pictures whose class probability is lower.")] = None,
    top_k: Annotated[int | None, typer.Option(
        min=1, help="Keep at most this many pictures per category, best first.")] = None,
    min_category_median: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Reject categories whose median class probability is lower.")]
    = None,
    reject: Annotated[list[str] | None, typer.Option(
        help="Flags to reject (repeatable; default duplicate, memorised, blank, unsure; also "
        "framed)."
    )] = None,
    duplicate_bits: Annotated[int | None, typer.Option(
        min=0, max=256, help="Pictures whose 256-bit hashes differ in at most this many bits "
        "are near-duplicates (default 32).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would change; write nothing.")] = False,
    report: Annotated[Path | None, typer.Option(
        help="Also write one self-contained HTML page of what is kept and rejected, and why.")]
    = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
) -> None:
    """Score every picture not scored yet (class agreement, near-duplicates, memorisation,
    blank and framed pictures), then approve or reject by rules. People's decisions stay.

    [bold]Examples[/bold]

    ganpage curate gallery/ --dry-run

    ganpage curate gallery/ --training-data data/emoji64 --min-class-score 0.05 --top-k 6

    ganpage curate gallery/ --rules rules.toml --report report.html
    """
    from ganpage.curation.inputs import gallery_classifier, gallery_model
    from ganpage.curation.inputs import training_data as find_training_data
    from ganpage.curation.memorisation import training_reference
    from ganpage.curation.pipeline import curate_gallery
    from ganpage.curation.rules import Rules, read_rules
    from ganpage.curation.scoring import Scorers
    from ganpage.gallery import Gallery
    from ganpage.outputs import writable_file

    chosen = (read_rules(rules) if rules else Rules()).overridden(
        min_class_score=min_class_score, top_k=top_k, min_category_median=min_category_median,
        reject=tuple(reject) if reject else None, duplicate_bits=duplicate_bits)
    if report is not None:
        writable_file(report, "--report")
    with Gallery.open(gallery) as opened:
        source = gallery_model(opened.model_ids(), model)
        scorer = gallery_classifier(classifier, source)
        if scorer is None and chosen.needs_scores():
            raise GanpageError("--min-class-score, --top-k and --min-category-median need a "
                               "classifier; pass --classifier FOLDER")
        data = find_training_data(training_data, source)
        _say_what_is_compared(scorer, data)
        reference = training_reference(data) if data is not None else None
        run = curate_gallery(opened, Scorers.build(scorer, reference), chosen,
                             dry_run=dry_run, batch_size=batch_size,
                             reuse_stamp=report is None)  # a report shows every picture
    _print_run(run, dry_run)
    if report is not None:
        from ganpage.curation.report import write_report

        write_report(report, gallery, run, dry_run=dry_run)
        typer.echo(f"wrote {report}")


def _say_what_is_compared(scorer, data: Path | None) -> None:
    typer.echo(f"class agreement: {scorer.model_id}" if scorer is not None else
               "class agreement: not scored (no classifier; pass --classifier FOLDER)")
    typer.echo(f"memorisation: against {data}" if data is not None else
               "memorisation: not checked (pass --training-data DATA)")


def _print_run(run, dry_run: bool) -> None:
    skipped = "".join(f", {count} skipped ({reason})"
                      for reason, count in run.scoring.skipped.items())
    if run.unchanged:
        typer.echo("nothing new since the last curate run with these settings (no picture "
                   f"added, removed or decided since): {run.findings.groups} near-duplicate "
                   "groups")
    else:
        typer.echo(f"scored {run.scoring.scored} pictures{skipped}; "
                   f"{run.findings.groups} near-duplicate groups")
    if run.categories is not None:
        typer.echo(f"decided again: the {len(run.records):,} pictures of the "
                   f"{len(run.categories):,} categories that what changed since the last run "
                   "reaches")
    flags = run.findings.flags
    if flags:
        typer.echo("flags: " + ", ".join(f"{flag} {count}" for flag, count in
                                         sorted(flags.items())))
    if dry_run:
        for change in run.changes:
            typer.echo("would set " + change.line())
    by_rule = Counter((c.status, c.rule) for c in run.changes)
    summary = ", ".join(f"{count} {status} by rule:{rule}"
                        for (status, rule), count in sorted(by_rule.items())) or "nothing"
    typer.echo(f"{'would change' if dry_run else 'changed'}: {summary}")
