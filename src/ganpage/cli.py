"""The ``ganpage`` command: parses options, calls the library, prints results. Nothing else.

Errors the user can fix (``GanpageError``, a bad option value, an output that cannot be written)
are printed as one line, without a traceback, with exit code 2.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer

from ganpage.errors import GanpageError
from ganpage.process_exit import exit_now

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
data_app = typer.Typer(help="Make training data sets: image folders, the emoji set, URL lists.",
                       no_args_is_help=True, rich_markup_mode="rich")
app.add_typer(data_app, name="data")

# Choices, spelt as the library spells them (tests/test_cli.py checks that they agree).
ImageFormat = Literal["webp", "png"]  # gallery.FORMATS
Dtype = Literal["auto", "float32", "bfloat16"]  # models.loading.DTYPES
PRECISION_HELP = ("auto: bfloat16 where the device runs it faster (CUDA, CPUs with AMX or AMD's "
                  "AVX512-BF16), else float32; bfloat16 pictures differ from float32 ones by "
                  "under one 8-bit level on average.")
Resize = Literal["crop", "pad", "stretch"]  # data.decode.ResizeMode
Server = Literal["granian", "uvicorn"]  # web.server.SERVERS


class Status(StrEnum):
    """Curation statuses (gallery.STATUSES); an enum because --show is repeatable."""

    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


MAX_SEED = 2**32 - 1  # noise seeds are mulberry32 states (noise.py): larger ones would repeat
MAX_CHOICE_SEED = 2**64 - 1  # seeds of random choices (rng.StableRandom)
DEFAULT_MODEL = "emoji64"
# The hand-curated sites showed their ~60 best categories; the demo shows the 100 that the
# model draws best by its shipped classifier scores (all of them if it ships none).
DEMO_CATEGORIES = 100
NPM_CACHE = Path("~/.cache/ganpage/npm").expanduser()


# Usage errors (a bad option value, a missing argument) derive from click's ClickException, which
# typer exports only through subclasses; since 0.26 typer carries its own copy of click.
USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
# errno values that mean "this machine will not let you write there": the user's to fix
UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# SQLite's own words for the same (its writes fail inside the library, not as an OSError)
INDEX_UNWRITABLE = ("database or disk is full", "disk I/O error", "attempt to write a readonly")


def main() -> None:
    """Entry point of the console script: run the app, turning known errors into one line."""
    try:
        code = app(standalone_mode=False)
    except GanpageError as error:
        fail(str(error))
    except USAGE_ERROR as error:
        message = " ".join(error.format_message().split())
        if not message:  # no_args_is_help: the help is the answer
            error.show()
            sys.exit(error.exit_code)
        fail(message, error.exit_code)
    except OSError as error:
        if error.errno not in UNWRITABLE:
            raise
        fail(f"{error.filename or 'an output'}: {error.strerror}; free some space or choose a "
             "path you can write to")
    except sqlite3.OperationalError as error:
        if not str(error).startswith(INDEX_UNWRITABLE):
            raise
        fail(f"the gallery index could not be written ({error}); free some space or make it "
             "writable, then run the same command again: it continues where it stopped")
    except KeyboardInterrupt:
        typer.echo("interrupted; re-run the same command to continue where it stopped", err=True)
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    exit_now(code if isinstance(code, int) else 0)  # typer.Exit(n) arrives as a return value


def fail(message: str, code: int = 2) -> None:
    """Print one ``error:`` line and exit."""
    typer.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


@app.command()
def generate(
    gallery: Annotated[Path, typer.Argument(help="Gallery folder (created if missing).")],
    model: Annotated[str, typer.Option(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
    category: Annotated[list[str], typer.Option("--category", "-c",
                                                help="Category name, slug or id; repeatable.")]
    = [],  # noqa: B006 - typer reads the default, never mutates it
    random_categories: Annotated[int | None, typer.Option(
        min=1, help="Pick this many categories at random (see --seed).")] = None,
    best_categories: Annotated[int | None, typer.Option(
        min=1, help="Pick the N categories the model draws best (its category_scores.json).")]
    = None,
    seed: Annotated[int, typer.Option(
        min=0, max=MAX_CHOICE_SEED, help="Seed of the random category choice.")] = 0,
    per_category: Annotated[int, typer.Option(min=1, help="Pictures per category.")] = 8,
    first_seed: Annotated[int, typer.Option(
        min=0, max=MAX_SEED, help="Noise seed of each category's first picture.")] = 0,
    truncation: Annotated[str, typer.Option(help="0.5, or a range 0.4:0.7 drawn per picture.")]
    = "0.7",
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 32,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
    dtype: Annotated[Dtype, typer.Option("--dtype", "--precision", help=PRECISION_HELP)] = "auto",
    preset: Annotated[str | None, typer.Option(
        help="ImageNet models: 'seed' (no people, no dogs), 'no-people' or 'all'.")] = None,
    shard: Annotated[str, typer.Option(
        help="I/N: do only this process's share of the job; auto: read I and N from "
             "torchrun, Slurm or a Kubernetes Indexed Job ({shard} in GALLERY names each "
             "shard's own gallery).")]
    = "0/1",
    image_format: Annotated[ImageFormat, typer.Option("--format")] = "webp",
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Fill a gallery with reproducible pictures; re-run the same command to resume.

    [bold]Examples[/bold]

    ganpage generate gallery/ --model emoji64 --per-category 8

    ganpage generate gallery/ -c hamster -c bagel --per-category 50 --truncation 0.4:0.7

    ganpage generate gallery/ --random-categories 60 --seed 1 --per-category 50

    ganpage generate gallery/ --best-categories 60 --per-category 50

    ganpage generate shard2/ --random-categories 60 --seed 1 --shard 2/4 --device cuda

    srun ganpage generate 'gallery-{shard}/' --random-categories 60 --shard auto --device cuda

    ganpage generate biggan/ --model biggan-deep-128 --preset seed --random-categories 60
    """
    from ganpage.allocator import keep_freed_memory
    from ganpage.gallery import Gallery
    from ganpage.generate import TruncationRange, choose_categories, plan
    from ganpage.generate import generate as run_generate
    from ganpage.models import load_generator
    from ganpage.outputs import removed_on_error
    from ganpage.shards import Shard

    truncation_range = TruncationRange.parse(truncation)
    job_shard = Shard.parse(shard)
    gallery, device = job_shard.gallery(gallery), job_shard.device(device)
    keep_freed_memory()  # a fresh mmap per large tensor: 1-1.5 s of page faults (BigGAN)
    with removed_on_error(gallery), Gallery.open(gallery, create=True) as target:
        generator = load_generator(model, device=device, dtype=dtype)
        categories = choose_categories(generator, category, random_categories, seed, preset,
                                       best_categories)
        jobs = plan(generator, categories, per_category, truncation_range, first_seed,
                    job_shard)
        made = run_generate(generator, target, jobs, batch_size, image_format, not quiet)
    typer.echo(f"{gallery}: {made} new pictures, {len(jobs) - made} already there "
               f"({len(categories)} categories, shard {job_shard.index}/{job_shard.count}"
               f"{' from ' + job_shard.launcher if job_shard.launcher else ''})")


@app.command()
def interpolate(
    out: Annotated[Path, typer.Argument(help="Animation file: .gif or .webp.")],
    model: str = DEFAULT_MODEL,
    from_category: Annotated[str, typer.Option("--from", help="Start category.")] = "0",
    to_category: Annotated[str | None, typer.Option("--to", help="End category "
                                                     "(default: the start one).")] = None,
    from_seed: Annotated[int, typer.Option(min=0, max=MAX_SEED)] = 0,
    to_seed: Annotated[int | None, typer.Option(
        min=0, max=MAX_SEED, help="End seed (default: the start one).")] = None,
    steps: Annotated[int, typer.Option(min=2, max=512)] = 16,
    truncation: float = 0.5,
    grid: Annotated[Path | None, typer.Option(help="Also write the frames as a PNG grid.")]
    = None,
    device: str = "cpu",
    dtype: Annotated[Dtype, typer.Option("--dtype", "--precision", help=PRECISION_HELP)] = "auto",
) -> None:
    """Morph between two categories and/or two seeds, as an animation and a grid.

    [bold]Examples[/bold]

    ganpage interpolate morph.gif --model emoji64 --from hamster --to bagel --grid morph.png

    ganpage interpolate seeds.webp --model biggan-deep-128 --from "golden retriever"
    --from-seed 1 --to-seed 2 --steps 32
    """
    from ganpage.interpolate import check_animation_path
    from ganpage.interpolate import interpolate as run_interpolate
    from ganpage.models import load_generator
    from ganpage.outputs import removed_on_error, writable_file

    if not 0 < truncation <= 1:
        raise GanpageError(f"--truncation must be in (0, 1], got {truncation}")
    check_animation_path(out)
    grid_folder = (grid or out).parent
    with removed_on_error(out.parent), removed_on_error(grid_folder):
        writable_file(out, "animation file")
        if grid is not None:
            writable_file(grid, "--grid")
        generator = load_generator(model, device=device, dtype=dtype)
        run_interpolate(generator, (from_category, to_category or from_category),
                        (from_seed, from_seed if to_seed is None else to_seed), steps,
                        truncation, out, grid)
    typer.echo(f"wrote {out}" + (f" and {grid}" if grid else ""))


@app.command()
def categories(
    model: Annotated[str, typer.Argument(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
    best: Annotated[int | None, typer.Option(
        min=1, help="Only the N best-drawn categories, best first, with their scores.")] = None,
) -> None:
    """List a model's categories: id, slug and display name.

    [bold]Examples[/bold]

    ganpage categories emoji64

    ganpage categories emoji64 --best 20
    """
    from ganpage.curate import best_categories, ranking
    from ganpage.models import load_generator

    generator = load_generator(model)
    if best is None:
        for item in generator.categories:
            typer.echo(f"{item.id:5d}  {item.slug:32s}  {item.name}")
        return
    best_categories(generator, best)  # the same checks as generate --best-categories
    for item in ranking(generator)[:best]:
        score = generator.category_scores[item.id]
        typer.echo(f"{item.id:5d}  {item.slug:32s}  {score:.3f}  {item.name}")


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


@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(help="Data set folder (ganpage data ...).")]
    = None,
    out: Annotated[Path, typer.Option(help="Folder of numbered run folders.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option(
        help="Run folder to continue; options given with it change how the run goes on.")]
    = None,
    kimg: Annotated[float | None, typer.Option(
        help="Train until this many thousand images.", show_default="500")] = None,
    minutes: Annotated[float | None, typer.Option(
        help="Stop this invocation after so many minutes, with a checkpoint; --resume goes on.")]
    = None,
    batch_size: Annotated[int | None, typer.Option(show_default="32")] = None,
    g_channels: Annotated[int | None, typer.Option(
        help="Width of G (4x4 stage has 8x).", show_default="32")] = None,
    d_channels: Annotated[int | None, typer.Option(show_default="32")] = None,
    lr: Annotated[float | None, typer.Option(
        help="Adam learning rate of G and D.", show_default="0.0002")] = None,
    ema_kimg: Annotated[float | None, typer.Option(
        help="Half-life of the EMA generator.", show_default="2")] = None,
    augment: Annotated[str | None, typer.Option(
        help="DiffAugment policy.", show_default="color,translation-edge,cutout")] = None,
    class_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of D's auxiliary class loss (0: projection only).",
        show_default="0")] = None,
    diversity_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of the mode-seeking term against same-looking pictures (0: off).",
        show_default="0")] = None,
    loss: Annotated[str | None, typer.Option(
        help="Adversarial loss: hinge, or relativistic (R3GAN; use with --r1-gamma).",
        show_default="hinge")] = None,
    r1_gamma: Annotated[float | None, typer.Option(
        help="Weight of the R1 + R2 gradient penalties (0: off).", show_default="0")] = None,
    condition_start: Annotated[float | None, typer.Option(
        help="Transitional conditioning: train unconditionally until this kimg ...",
        show_default="0")] = None,
    condition_fade: Annotated[float | None, typer.Option(
        help="... then fade the class input in over this many kimg.", show_default="0")]
    = None,
    grid_every: Annotated[float | None, typer.Option(
        help="kimg between sample grids.", show_default="10")] = None,
    checkpoint_every: Annotated[float | None, typer.Option(
        help="kimg between checkpoints.", show_default="10")] = None,
    init_from: Annotated[Path | None, typer.Option(
        help="Start a new run's networks from this checkpoint or run folder (fine-tuning).")]
    = None,
    style_label: Annotated[str | None, typer.Option(
        help="A field of the data set's manifest.jsonl whose values become a second label, "
             "the style (source: the emoji set); each sample's style is drawn from its seed.")]
    = None,
    log_every: Annotated[int | None, typer.Option(
        help="Steps between rows of log.jsonl.", show_default="20")] = None,
    seed: Annotated[int | None, typer.Option(show_default="0")] = None,
    device: str = "cpu",
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch's default).")] = 0,
    precision: Annotated[str, typer.Option(
        help="auto (bfloat16 on CUDA and on CPUs with bfloat16 instructions), float32 or "
             "bfloat16.")] = "auto",
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
    from ganpage.train_config import TrainConfig

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
    from ganpage.classify import train_classifier as run
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
    classifier: Annotated[Path | None, typer.Option(
        help="Folder from `ganpage train-classifier` (default: the one the model ships).")]
    = None,
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
    from ganpage.classify import bundled_classifier, load_classifier
    from ganpage.data.dataset import load_training_set
    from ganpage.metrics import evaluate as run
    from ganpage.models import load_generator
    from ganpage.outputs import writable_file

    if json_out is not None:
        writable_file(json_out, "--json")
    scorer = load_classifier(classifier or bundled_classifier(model))
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
    classifier: Annotated[Path | None, typer.Option(
        help="Folder from `ganpage train-classifier` (default: the one the model ships).")]
    = None,
    seeds: Annotated[int, typer.Option(min=1, help="Pictures per category.")] = 8,
    truncation: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.65,
    show: Annotated[int, typer.Option(min=0, help="Print this many best and worst.")] = 10,
) -> None:
    """Score how well a model draws each category (the classifier's mean probability of it) and
    save category_scores.json in the model folder, for --best-categories.

    [bold]Example[/bold]

    ganpage rank-categories models/my-emoji --classifier classifiers/my-emoji
    """
    from ganpage.classify import bundled_classifier, load_classifier
    from ganpage.curate import ranking, score_categories, write_category_scores
    from ganpage.models import load_generator

    if not (model / "config.json").is_file():
        raise GanpageError(f"{model} is not a model folder; make one with "
                           "`ganpage export-model RUN --out FOLDER`")
    scorer = load_classifier(classifier or bundled_classifier(str(model)))
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
    classifier: Annotated[Path | None, typer.Option(
        help="Classifier folder to ship inside the model (for eval and curation).")] = None,
) -> None:
    """Write a release folder (config.json, classes.json, safetensors, card) from a run.

    [bold]Example[/bold]

    ganpage export-model runs/00003-emoji64-64 --out models/emoji64 --name emoji64

    ganpage export-model runs/00003-emoji64-64 --out models/emoji64 --classifier classifiers/emoji64
    """
    from ganpage.export import export_run
    from ganpage.outputs import removed_on_error

    if card is not None and not card.is_file():
        raise GanpageError(f"no model card at {card}; give a Markdown file, or leave out --card")
    with removed_on_error(out):
        folder = export_run(run, out, name, card.read_text() if card else "", classifier)
    typer.echo(f"model folder: {folder}")


@data_app.command("folder")
def data_folder(
    source: Annotated[Path, typer.Argument(help="Folder of pictures, one sub-folder per class.")],
    out: Annotated[Path, typer.Option(help="Data set folder to write.")],
    size: Annotated[int, typer.Option(help="Square picture size: 32, 64, 128 or 256.")] = 128,
    resize: Resize = "crop",
) -> None:
    """Import a folder of pictures: validate, square, drop duplicates, report rejects.

    [bold]Examples[/bold]

    ganpage data folder photos/ --size 128 --out data/photos128

    ganpage data folder scans/ --size 64 --resize pad --out data/scans64
    """
    from ganpage.data.decode import ResizeMode
    from ganpage.data.folder import import_folder
    from ganpage.outputs import removed_on_error, writable_folder

    if size not in (32, 64, 128, 256):
        raise GanpageError(f"--size must be 32, 64, 128 or 256, got {size}")
    if not source.is_dir():
        raise GanpageError(f"{source} is not a folder")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = import_folder(source, out, size, ResizeMode(resize))
    _print_report(out, report)


def _print_report(out: Path, report: dict) -> None:
    per_class = list(report["images_per_class"].values()) or [0]
    typer.echo(f"{out}: {report['classes']} classes, {report['images']} pictures "
               f"({min(per_class)}-{max(per_class)} per class); rejected: "
               f"{report['rejected_by_reason'] or 'none'} (details in {out}/report.json)")


@data_app.command("urls")
def data_urls(
    url_list: Annotated[Path, typer.Argument(help="URL list: '<wnid>_<n> <url>' or one URL a "
                                             "line; plain or gzip.")],
    out: Annotated[Path, typer.Option(help="Data set folder (also holds urls.sqlite).")],
    sample: Annotated[int, typer.Option(min=1, help="How many lines to sample uniformly.")]
    = 35000,
    seed: Annotated[int, typer.Option(min=0, max=MAX_CHOICE_SEED)] = 0,
    size: Annotated[int, typer.Option(min=8, max=1024)] = 128,
    resize: Resize = "crop",
    concurrency: Annotated[int, typer.Option(min=1, help="Downloads at once.")] = 64,
    per_host: Annotated[int, typer.Option(min=1, help="Downloads at once per host.")] = 8,
    max_mb: Annotated[float, typer.Option(min=0.001, help="Largest download kept, in MB.")]
    = 10.0,
    retries: Annotated[int, typer.Option(min=0, max=20)] = 2,
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="Allow private/loopback addresses (local test servers).")]
    = False,
    names: Annotated[Path | None, typer.Option(help="TSV of '<wnid> <display name>' lines.")]
    = None,
    placeholders: Annotated[Path | None, typer.Option(
        help="Extra sha256 list of placeholder images to reject.")] = None,
    placeholder_repeats: Annotated[int, typer.Option(
        min=0, help="Bytes served for this many different URLs are a 'photo unavailable' "
                    "placeholder and rejected (0: off).")] = 10,
) -> None:
    """Sample a URL list, download, validate and resize; re-run to resume.

    [bold]Examples[/bold]

    ganpage data urls fall11_urls.txt --sample 35000 --seed 0 --size 128 --out data/imagenet35k

    ganpage data urls my-urls.txt.gz --sample 1000 --out data/mine --concurrency 16
    """
    from ganpage.data.decode import ResizeMode
    from ganpage.data.urls import (
        DownloadSettings,
        download_url_list,
        load_placeholder_hashes,
        read_class_names,
    )
    from ganpage.outputs import removed_on_error, writable_folder

    settings = DownloadSettings(
        size=size, resize=ResizeMode(resize), concurrency=concurrency, per_host=per_host,
        max_bytes=int(max_mb * 1024 * 1024), retries=retries, allow_private=allow_private,
        placeholder_sha256=load_placeholder_hashes(placeholders),
        placeholder_repeats=placeholder_repeats)
    wnid_names = read_class_names(names) if names is not None else {}
    if not url_list.is_file():
        raise GanpageError(f"no URL list at {url_list}")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = download_url_list(url_list, out, sample, seed, settings, wnid_names)
    typer.echo(f"{out}: {report['images']} pictures in {report['classes']} classes from "
               f"{sum(report['outcomes'].values())} sampled URLs ({report['bad_lines']} bad "
               f"lines); outcomes: {report['outcomes']}")


@data_app.command("emoji")
def data_emoji(
    out: Annotated[Path, typer.Option(help="Data set folder to write.")] = Path("data/emoji64"),
    size: Annotated[int, typer.Option(min=8, max=1024, help="Square picture size in pixels.")]
    = 64,
    tarballs: Annotated[Path | None, typer.Option(
        help="Folder with the pinned npm tarballs, instead of fetching them with npm pack.")]
    = None,
    cache: Annotated[Path, typer.Option(help="Where fetched tarballs are kept.")]
    = NPM_CACHE,
    min_per_class: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    """Build the emoji data set of the built-in model from 12 openly licensed emoji sets on npm.

    [bold]Examples[/bold]

    ganpage data emoji --size 64 --out data/emoji64

    ganpage data emoji --tarballs ./npm-tarballs --out data/emoji64
    """
    from ganpage.data.emoji import build_emoji_dataset
    from ganpage.outputs import removed_on_error, writable_folder

    if tarballs is not None and not tarballs.is_dir():
        raise GanpageError(f"--tarballs {tarballs} is not a folder")
    with removed_on_error(out):
        writable_folder(out, "--out")
        report = build_emoji_dataset(out, size, cache, tarballs, min_per_class)
    _print_report(out, report)


@data_app.command("subset")
def data_subset(
    data: Annotated[Path, typer.Argument(help="The data set to take classes from.")],
    out: Annotated[Path, typer.Option(help="Data set folder to write.")],
    classes: Annotated[int, typer.Option(min=2, help="How many classes to keep.")] = 128,
    choose: Annotated[str, typer.Option(
        help="most: the classes with the most pictures (ties by name); spread: evenly over "
             "the class list.")] = "most",
) -> None:
    """A data set of some classes of another, pictures and manifest rows (sources, licences,
    styles) kept as they were.

    [bold]Examples[/bold]

    ganpage data subset data/emoji32 --classes 128 --out data/emoji32-top128
    """
    from ganpage.data.subset import write_subset
    from ganpage.outputs import removed_on_error, writable_folder

    with removed_on_error(out):
        writable_folder(out, "--out")
        report = write_subset(data, classes, out, choose)
    _print_report(out, report)


# Commands that live in modules of their own (ganpage/commands/), one module per area; each
# registers itself on ``app`` when imported, after everything above is defined.
from ganpage.commands import build_site as _build_site_commands  # noqa: E402, F401
from ganpage.commands import curate as _curate_commands  # noqa: E402, F401
from ganpage.commands import export_onnx as _export_onnx_commands  # noqa: E402, F401
from ganpage.commands import gallery as _gallery_commands  # noqa: E402, F401
from ganpage.commands import label as _label_commands  # noqa: E402, F401
from ganpage.commands import naming_test as _naming_test_commands  # noqa: E402, F401
from ganpage.commands import run_pack as _run_pack_commands  # noqa: E402, F401
from ganpage.commands import serve as _serve_commands  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
