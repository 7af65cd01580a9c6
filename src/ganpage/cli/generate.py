"""``ganpage generate`` and ``ganpage interpolate``: pictures from a model, into a gallery or
an animation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.cli.options import (
    MAX_CHOICE_SEED,
    MAX_SEED,
    DtypeAlias,
    ImageFormat,
    PrecisionOption,
    chosen_precision,
)
from ganpage.defaults import DEFAULT_MODEL
from ganpage.errors import GanpageError

app = typer.Typer()


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
    precision: PrecisionOption = "auto",
    dtype: DtypeAlias = None,
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
        generator = load_generator(model, device=device,
                                   dtype=chosen_precision(precision, dtype))
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
    precision: PrecisionOption = "auto",
    dtype: DtypeAlias = None,
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
        generator = load_generator(model, device=device,
                                   dtype=chosen_precision(precision, dtype))
        run_interpolate(generator, (from_category, to_category or from_category),
                        (from_seed, from_seed if to_seed is None else to_seed), steps,
                        truncation, out, grid)
    typer.echo(f"wrote {out}" + (f" and {grid}" if grid else ""))
