"""``ganpage label``: a folder of any pictures into a gallery, named by a classifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ganpage.cli.options import ClassifierOption, ImageFormat, Resize
from ganpage.errors import GanpageError

if TYPE_CHECKING:
    from ganpage.data.decode import ResizeMode

app = typer.Typer()


@app.command()
def label(
    folder: Annotated[Path, typer.Argument(help="Folder of pictures (searched recursively).")],
    gallery: Annotated[Path, typer.Argument(help="Gallery folder (created if missing).")],
    classifier: ClassifierOption = None,
    model: Annotated[str | None, typer.Option(
        help="Use the classifier this model folder or built-in model ships.")] = None,
    threshold: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Top-1 probability below which a picture is kept rejected as "
        "'unsure' (default measured on emoji64: 94% of kept pictures named right).")]
    = 0.4,  # label.DEFAULT_THRESHOLD (tests/test_label.py checks that they agree)
    size: Annotated[int, typer.Option(min=16, max=2048, help="Side of the stored square.")]
    = 256,
    resize: Annotated[Resize, typer.Option(help="How a picture becomes a square.")] = "crop",
    image_format: Annotated[ImageFormat, typer.Option("--format")] = "webp",
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    measure_threshold: Annotated[int | None, typer.Option(
        min=1, metavar="SEEDS", help="Measure the threshold instead of guessing it: draw SEEDS "
        "pictures of every class of --model into FOLDER (new; truncation 0.7), label them into "
        "GALLERY and print how many are kept and named right at each threshold.")] = None,
) -> None:
    """Name every picture of a folder by a classifier's top-1 category and add it to a gallery;
    re-run to add new files (those already there are skipped).

    [bold]Examples[/bold]

    ganpage label unconditional-gan-output/ gallery/ --model emoji64

    ganpage label photos/ gallery/ --classifier resnet50 --threshold 0.5

    ganpage label photos/ gallery/ --classifier ~/weights/resnet50-0676ba61.pth

    ganpage label drawn/ measured/ --model emoji64 --measure-threshold 4 --size 64
    """
    from ganpage.classifiers import open_classifier
    from ganpage.data.decode import ResizeMode
    from ganpage.gallery import Gallery
    from ganpage.label import label_folder
    from ganpage.outputs import removed_on_error

    if measure_threshold is not None:
        _measure_threshold(folder, gallery, classifier, model, measure_threshold, threshold,
                           size, ResizeMode(resize), image_format, quiet)
        return
    if (classifier is None) == (model is None):
        raise GanpageError("say which classifier names the pictures: --classifier C or --model M")
    if not folder.is_dir():
        raise GanpageError(f"{folder} is not a folder; give the folder of pictures to name")
    scorer = open_classifier(classifier, model)
    with removed_on_error(gallery), Gallery.open(gallery, create=True) as target:
        report = label_folder(folder, target, scorer, threshold, size, ResizeMode(resize),
                              image_format, show_progress=not quiet)
    typer.echo(f"{gallery}: {report.summary()}")


def _measure_threshold(folder: Path, gallery: Path, classifier: str | None, model: str | None,
                       seeds: int, threshold: float, size: int, resize: ResizeMode,
                       image_format: ImageFormat, quiet: bool) -> None:
    """``label --measure-threshold``: the model's pictures, whose classes are known, labelled
    as any folder is; coverage and accuracy per threshold."""
    from ganpage.classifiers import open_classifier
    from ganpage.classifiers.loaded import check_same_classes
    from ganpage.gallery import Gallery
    from ganpage.label import MEASURE_TRUNCATION, draw_known_pictures, label_folder, threshold_table
    from ganpage.models import load_generator
    from ganpage.outputs import removed_on_error

    if model is None:
        raise GanpageError("--measure-threshold labels pictures drawn by --model M; add it")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise GanpageError(f"{folder} is not a new folder; --measure-threshold draws its "
                           "pictures into one")
    scorer = open_classifier(classifier, model)
    generator = load_generator(model)
    check_same_classes(scorer, generator.categories)
    with removed_on_error(folder), removed_on_error(gallery):
        folder.mkdir(parents=True, exist_ok=True)
        count = draw_known_pictures(generator, folder, seeds)
        with Gallery.open(gallery, create=True) as target:
            report = label_folder(folder, target, scorer, threshold, size, resize,
                                  image_format, show_progress=not quiet)
            table = threshold_table(target)
    typer.echo(f"{folder}: {count} pictures of {model} ({seeds} seeds x "
               f"{len(generator.categories)} classes, truncation {MEASURE_TRUNCATION}), named "
               f"by {scorer.model_id}; {gallery}: {report.summary()}")
    typer.echo("\n".join(table))
