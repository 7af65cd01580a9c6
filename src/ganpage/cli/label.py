"""``ganpage label``: a folder of any pictures into a gallery, named by a classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import ClassifierOption, ImageFormat, Resize
from ganpage.errors import GanpageError

app = typer.Typer()


@app.command()
def label(
    folder: Annotated[Path, typer.Argument(help="Folder of pictures (searched recursively).")],
    gallery: Annotated[Path, typer.Argument(help="Gallery folder (created if missing).")],
    classifier: ClassifierOption = None,
    model: Annotated[str | None, typer.Option(
        help="Use the classifier this model folder or built-in model ships (with "
        "--measure-threshold: also the model that draws the pictures).")] = None,
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
    from ganpage.label import measure_threshold as measure_threshold_of
    from ganpage.outputs import removed_on_error

    if measure_threshold is not None:
        if model is None:
            raise GanpageError("--measure-threshold labels pictures drawn by --model M; add it")
        with removed_on_error(folder), removed_on_error(gallery):
            lines = measure_threshold_of(model, classifier, folder, gallery, measure_threshold,
                                         threshold, size, ResizeMode(resize), image_format,
                                         show_progress=not quiet)
        typer.echo("\n".join(lines))
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
