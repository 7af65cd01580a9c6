"""``ganpage naming-test``: can people name what a model draws? ``naming-test MODEL --out DIR``
draws a blind sheet, ``naming-test score DIR ANSWERS`` scores the filled one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from ganpage.cli.options import ClassifierOption
from ganpage.defaults import DEFAULT_MODEL

app = typer.Typer()
score_app = typer.Typer(rich_markup_mode="rich", add_completion=False,
                        context_settings={"help_option_names": ["-h", "--help"]})


@score_app.command()
def score(
    folder: Annotated[Path, typer.Argument(
        metavar="DIR", help="The folder `ganpage naming-test MODEL --out DIR` wrote.")],
    answers: Annotated[Path | None, typer.Argument(
        help="The filled-in answer sheet (default: DIR/answers.txt).")] = None,
    synonyms: Annotated[list[Path], typer.Option(
        help="A JSON object of class names, each with a list of other names that count for "
        "it, added to ganpage's own list; repeatable.")] = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Score a filled-in answer sheet: a row is named strictly if the first guess names its
    class, leniently if the first or the second guess does (case, punctuation, spaces and
    plurals do not matter; ganpage's synonym list and --synonyms say which other names count).
    Writes DIR/score.json with a verdict per row and the synonyms used.

    [bold]Examples[/bold]

    ganpage naming-test score sheet/

    ganpage naming-test score sheet/ guesses-anna.txt --synonyms my-synonyms.json
    """
    from ganpage.naming_test import ANSWERS, SCORE, score_sheet

    result = score_sheet(folder, answers or folder / ANSWERS, synonyms)
    rows = result["rows"]
    typer.echo(f"named {result['named_strict']} of {rows} rows (strict), "
               f"{result['named_lenient']} of {rows} (lenient); per row in {folder / SCORE}")


SCORE_COMMAND = typer.main.get_command(score_app)


class DrawOrScore(TyperCommand):
    """``naming-test MODEL ...`` draws a sheet and ``naming-test score DIR`` scores one: a first
    argument ``score`` goes to SCORE_COMMAND (a model folder named 'score' is ./score). A group
    would take MODEL for a sub-command's name, or need it after a sub-command."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        if args[:1] != ["score"]:
            return super().make_context(info_name, args, parent, **extra)
        # a context of a group holding `score`, so its usage line reads "naming-test score"
        group = TyperGroup(name=info_name, commands={"score": SCORE_COMMAND})
        route = typer.Context(group, info_name=info_name, parent=parent)
        return SCORE_COMMAND.make_context("score", args[1:], parent=route, **extra)


@app.command("naming-test", cls=DrawOrScore, no_args_is_help=True)
def naming_test(
    model: Annotated[str, typer.Argument(
        help=f"Built-in name ({DEFAULT_MODEL}), model folder or HF repo id.")],
    out: Annotated[Path, typer.Option(
        help="New folder for grid.png, key.json and answers.txt.")],
    classes: Annotated[int, typer.Option(min=1, help="Rows: one class each.")] = 20,
    seeds: Annotated[int, typer.Option(min=1, max=1000, help="Pictures per row.")] = 8,
    seed: Annotated[int, typer.Option(
        min=0, help="Which draw: the classes and their order, and the noise seeds "
        "(2,000,000 + 1,000 x SEED + i). The same seed gives the same sheet.")] = 0,
    truncation: Annotated[float, typer.Option(help="In (0, 1]; lower: more typical pictures.")]
    = 0.65,
    real: Annotated[Path | None, typer.Option(
        help="Show these real training pictures of the same classes instead (the control: can "
        "a person name these classes at all?).")] = None,
    best: Annotated[int | None, typer.Option(
        min=1, help="Draw rows only from the N categories the model draws best (its "
        "category_scores.json).")] = None,
    exclude: Annotated[list[Path], typer.Option(
        help="Leave out classes the tester has seen: an earlier key.json or a JSON object "
        "{class name: where seen}; repeatable.")] = [],  # noqa: B006 - never mutated
    best_of: Annotated[int | None, typer.Option(
        help="Show the classifier's best --seeds of this many seeds per row, as curation "
        "would pick them.")] = None,
    classifier: ClassifierOption = None,  # with --best-of
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
) -> None:
    """Draw a blind naming test: grid.png has numbered rows of one class each (shuffled, no
    names anywhere), key.json the answers and every picture's recipe, answers.txt one line per
    row to fill in before looking at the key. Score it with
    [bold]ganpage naming-test score DIR[/bold] (see its --help).

    [bold]Examples[/bold]

    ganpage naming-test emoji64 --out sheet/ --classes 20 --seeds 8 --seed 3

    ganpage naming-test emoji64 --out control/ --seed 3 --real data/emoji64

    ganpage naming-test emoji64 --out best/ --best 100 --exclude seen.json

    ganpage naming-test score sheet/ sheet/answers.txt
    """
    from ganpage.classifiers import open_classifier
    from ganpage.data.dataset import load_training_set
    from ganpage.errors import GanpageError
    from ganpage.models import load_generator
    from ganpage.naming_test import ANSWERS, GRID, KEY, Draw, check_fresh, draw_sheet
    from ganpage.outputs import removed_on_error, writable_folder

    draw = Draw(classes, seeds, seed, truncation, best_of)
    draw.check()
    if best_of is not None and real is not None:
        raise GanpageError("--best-of picks generated pictures; it cannot go with --real")
    if classifier is not None and best_of is None:
        raise GanpageError("--classifier only chooses pictures with --best-of K; add it")
    check_fresh(out)
    with removed_on_error(out):
        writable_folder(out, "--out")
        generator = load_generator(model, device=device, dtype="float32")
        reals = load_training_set(real) if real is not None else None
        scorer = (open_classifier(classifier, model)
                  if best_of is not None else None)
        key = draw_sheet(out, generator, model, draw, best=best, exclude=exclude, reals=reals,
                         classifier=scorer)
    source = f"real pictures from {real}" if real else f"{key['model_id']}'s pictures"
    typer.echo(f"{out / GRID}: {classes} rows of {source}, drawn from {key['drawn_from']} "
               f"classes; the answer sheet is {out / ANSWERS}, the key {out / KEY}")
