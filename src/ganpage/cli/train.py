"""``ganpage train``, ``train-classifier``, ``eval``, ``rank-categories`` and ``export-model``:
from a data set to a model folder worth releasing."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import MAX_SEED, ClassifierOption, PrecisionOption, default_of
from ganpage.errors import GanpageError
from ganpage.train_config import TrainConfig

app = typer.Typer()
_default = partial(default_of, TrainConfig)  # --help shows TrainConfig's own defaults


@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(help="Data set folder (ganpage data ...).")]
    = None,
    out: Annotated[Path, typer.Option(help="Folder of numbered run folders.")]
    = Path(TrainConfig.out),
    resume: Annotated[Path | None, typer.Option(
        help="Run folder to continue; options given with it change how the run goes on.")]
    = None,
    kimg: Annotated[float | None, typer.Option(
        help="Train until this many thousand images.", show_default=_default("total_kimg"))]
    = None,
    minutes: Annotated[float | None, typer.Option(
        help="Stop this invocation after so many minutes, with a checkpoint; --resume goes on.")]
    = None,
    batch_size: Annotated[int | None, typer.Option(show_default=_default("batch_size"))] = None,
    g_channels: Annotated[int | None, typer.Option(
        help="Width of G (4x4 stage has 8x). With --resume or --init-from a larger width "
             "grows the trained networks: they start drawing what they drew.",
        show_default=_default("g_channels"))] = None,
    d_channels: Annotated[int | None, typer.Option(
        help="Width of D; grows as --g-channels does.",
        show_default=_default("d_channels"))] = None,
    lr: Annotated[float | None, typer.Option(
        help="Adam learning rate of G and D.", show_default=_default("g_lr"))] = None,
    ema_kimg: Annotated[float | None, typer.Option(
        help="Half-life of the EMA generator.", show_default=_default("ema_kimg"))] = None,
    augment: Annotated[str | None, typer.Option(
        help="DiffAugment policy.", show_default=_default("augment"))] = None,
    class_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of D's auxiliary class loss (0: projection only).",
        show_default=_default("class_loss_weight"))] = None,
    diversity_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of the mode-seeking term against same-looking pictures (0: off).",
        show_default=_default("diversity_loss_weight"))] = None,
    loss: Annotated[str | None, typer.Option(
        help="Adversarial loss: hinge, or relativistic (R3GAN; use with --r1-gamma).",
        show_default=_default("loss"))] = None,
    r1_gamma: Annotated[float | None, typer.Option(
        help="Weight of the R1 + R2 gradient penalties (0: off).",
        show_default=_default("r1_gamma"))] = None,
    condition_start: Annotated[float | None, typer.Option(
        help="Transitional conditioning: train unconditionally until this kimg ...",
        show_default=_default("condition_start_kimg"))] = None,
    condition_fade: Annotated[float | None, typer.Option(
        help="... then fade the class input in over this many kimg.",
        show_default=_default("condition_fade_kimg"))] = None,
    grid_every: Annotated[float | None, typer.Option(
        help="kimg between sample grids.", show_default=_default("grid_every_kimg"))] = None,
    checkpoint_every: Annotated[float | None, typer.Option(
        help="kimg between checkpoints.", show_default=_default("checkpoint_every_kimg"))]
    = None,
    init_from: Annotated[Path | None, typer.Option(
        help="Start a new run's networks from this checkpoint or run folder (fine-tuning); "
             "larger --g-channels/--d-channels grow them.")]
    = None,
    style_label: Annotated[str | None, typer.Option(
        help="A field of the data set's manifest.jsonl whose values become a second label, "
             "the style (source: the emoji set); each sample's style is drawn from its seed.")]
    = None,
    log_every: Annotated[int | None, typer.Option(
        help="Steps between rows of log.jsonl.", show_default=_default("log_every_steps"))]
    = None,
    seed: Annotated[int | None, typer.Option(show_default=_default("seed"))] = None,
    device: str = TrainConfig.device,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch's default).")]
    = TrainConfig.threads,
    precision: PrecisionOption = TrainConfig.precision,  # type: ignore[assignment]
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config.")]
    = False,
    quiet: bool = False,
) -> None:
    """Train a class-conditional GAN on a data set; Ctrl-C stops with a checkpoint and --resume
    continues exactly.

    [bold]Examples[/bold]

    ganpage train data/emoji64 --kimg 2000

    ganpage train data/emoji64 --style-label source --loss relativistic --r1-gamma 0.1

    ganpage train --resume runs/00003-emoji64-64

    ganpage train --resume runs/00003-emoji64-64 --minutes 60 --class-loss-weight 0.5

    torchrun --nproc-per-node 4 -m ganpage train data/emoji64 --device cuda --batch-size 64

    ganpage train data/emoji64 --dry-run
    """
    from ganpage.train import TrainingStopped
    from ganpage.train import train as run_training

    if data is None and resume is None:
        raise GanpageError("give a data set folder, or --resume RUN_FOLDER")
    given = {"total_kimg": kimg, "batch_size": batch_size, "g_channels": g_channels,
             "d_channels": d_channels, "g_lr": lr, "d_lr": lr, "ema_kimg": ema_kimg,
             "augment": augment, "class_loss_weight": class_loss_weight,
             "diversity_loss_weight": diversity_loss_weight, "loss": loss,
             "r1_gamma": r1_gamma, "condition_start_kimg": condition_start,
             "condition_fade_kimg": condition_fade, "grid_every_kimg": grid_every,
             "checkpoint_every_kimg": checkpoint_every, "log_every_steps": log_every,
             "init_from": str(init_from) if init_from else None,
             "style_label": style_label, "seed": seed}
    given = {name: value for name, value in given.items() if value is not None}
    config = TrainConfig(data=str(data or ""), out=str(out), device=device, threads=threads,
                         precision=precision, **({} if resume else given))
    is_main = os.environ.get("RANK", "0") == "0"
    try:
        run_dir = run_training(config, resume=resume, dry_run=dry_run, show_progress=not quiet,
                               stop_after_minutes=minutes, changes=given if resume else None)
    except TrainingStopped as stopped:
        if is_main:
            typer.echo(f"{stopped}, checkpoint written; go on with: ganpage train --resume "
                       f"{stopped.run_dir}", err=True)
        sys.exit(130)
    if not dry_run and is_main:
        typer.echo(f"run folder: {run_dir}")


@app.command("train-classifier")
def train_classifier(
    data: Annotated[Path, typer.Argument(help="Data set folder (ganpage data ...).")],
    out: Annotated[Path, typer.Option(help="Classifier folder to write.")],
    epochs: Annotated[int, typer.Option(min=1)] = 30,
    channels: Annotated[int, typer.Option(min=1, help="Width of the first stage.")] = 32,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED)] = 0,
) -> None:
    """Train the data set's classifier (for CAS, offline FID and curation).

    [bold]Example[/bold]

    ganpage train-classifier data/emoji64 --out classifiers/emoji64
    """
    from ganpage.classifiers.trained import train_classifier as run
    from ganpage.data.dataset import load_training_set
    from ganpage.outputs import removed_on_error, writable_folder

    load_training_set(data)  # a clear error before anything is made
    with removed_on_error(out):
        writable_folder(out, "--out")
        metrics = run(data, out, epochs=epochs, channels=channels, seed=seed)
    typer.echo(f"{out}: held-out accuracy {metrics['held_out_accuracy']:.3f} on "
               f"{metrics['held_out_count']} pictures (train {metrics['train_accuracy']:.3f}, "
               f"chance {metrics['chance']:.4f})")


@app.command("eval")
def evaluate(
    model: Annotated[str, typer.Argument(help="Built-in name, model folder or HF repo id.")],
    data: Annotated[Path, typer.Option(help="The data set the model was trained on.")],
    classifier: ClassifierOption = None,
    per_class: Annotated[int, typer.Option(min=1)] = 10,
    truncation: Annotated[float, typer.Option(min=0.01, max=1.0)] = 1.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")]
    = None,
    inception: Annotated[str | None, typer.Option(
        help="FID Inception weights (pt_inception-2015-12-05-6726825d.pth) for standard FID.")]
    = None,
) -> None:
    """Score a generator: CAS beside held-out real accuracy, classifier-space FID/KID, the
    memorisation rate and the within-class diversity.

    [bold]Examples[/bold]

    ganpage eval emoji64 --data data/emoji64 --truncation 0.65

    ganpage eval models/my-emoji --data data/emoji64 --classifier classifiers/emoji64
    """
    import json

    from ganpage.atomic import atomic_write_text
    from ganpage.classifiers import open_classifier
    from ganpage.data.dataset import load_training_set
    from ganpage.metrics import evaluate as run
    from ganpage.models import load_generator
    from ganpage.outputs import writable_file

    if json_out is not None:
        writable_file(json_out, "--json")
    scorer = open_classifier(classifier, model)
    dataset = load_training_set(data)
    generator = load_generator(model)
    result = run(generator, scorer, dataset.images.transpose(0, 2, 3, 1), per_class, truncation,
                 inception_weights=inception, training_labels=dataset.labels)
    for key, value in result.to_dict().items():
        typer.echo(f"{key:24s} {value:.4f}" if isinstance(value, float)
                   else f"{key:24s} {value}")
    if json_out:
        atomic_write_text(json_out, json.dumps(result.to_dict(), indent=1) + "\n")


@app.command("rank-categories")
def rank_categories(
    model: Annotated[Path, typer.Argument(help="Model folder (from `ganpage export-model`).")],
    classifier: ClassifierOption = None,
    seeds: Annotated[int, typer.Option(min=1, help="Pictures per category.")] = 8,
    truncation: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.65,
    show: Annotated[int, typer.Option(min=0, help="Print this many best and worst.")] = 10,
) -> None:
    """Score how well a model draws each category (the classifier's mean probability of it) and
    save category_scores.json in the model folder, for --best-categories.

    [bold]Example[/bold]

    ganpage rank-categories models/my-emoji --classifier classifiers/my-emoji
    """
    from ganpage.category_scores import ranking, score_categories, write_category_scores
    from ganpage.classifiers import open_classifier
    from ganpage.models import load_generator

    if not (model / "config.json").is_file():
        raise GanpageError(f"{model} is not a model folder; make one with "
                           "`ganpage export-model RUN --out FOLDER`")
    scorer = open_classifier(classifier, model)
    generator = load_generator(model)
    generator.category_scores = score_categories(generator, scorer, seeds, truncation)
    path = write_category_scores(model, generator, generator.category_scores, scorer, seeds,
                                 truncation)
    ranked = ranking(generator)
    for title, part in (("best", ranked[:show]), ("worst", ranked[::-1][:show])):
        if part:
            typer.echo(f"{title}: " + ", ".join(
                f"{c.name} {generator.category_scores[c.id]:.2f}" for c in part))
    typer.echo(f"wrote {path}")


@app.command("export-model")
def export_model(
    run: Annotated[Path, typer.Argument(help="Run folder made by `ganpage train`.")],
    out: Annotated[Path, typer.Option(help="Model folder to write.")],
    name: Annotated[str | None, typer.Option(help="model_id (default: the run's name).")]
    = None,
    card: Annotated[Path | None, typer.Option(help="Model card (Markdown) to ship.")] = None,
    classifier: Annotated[str | None, typer.Option(
        metavar="SPEC", help="Classifier to ship inside the model (for eval and curation): a "
        "folder from `ganpage train-classifier`, or a model folder or built-in model that ships "
        "one.")] = None,
) -> None:
    """Write a release folder (config.json, classes.json, safetensors, card) from a run.

    [bold]Example[/bold]

    ganpage export-model runs/00003-emoji64-64 --out models/emoji64 --name emoji64

    ganpage export-model runs/00003-emoji64-64 --out models/emoji64 --classifier classifiers/emoji64
    """
    from ganpage.classifiers import classifier_folder
    from ganpage.export import export_run
    from ganpage.outputs import removed_on_error

    if card is not None and not card.is_file():
        raise GanpageError(f"no model card at {card}; give a Markdown file, or leave out --card")
    shipped = classifier_folder(classifier) if classifier is not None else None
    with removed_on_error(out):
        folder = export_run(run, out, name, card.read_text() if card else "", shipped)
    typer.echo(f"model folder: {folder}")
