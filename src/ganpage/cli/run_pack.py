"""``ganpage run pack`` and ``ganpage run unpack``: a training run in a few small files, to
carry to another machine or to commit, and back (``ganpage.run_pack``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Carry a training run to another machine in a few small files.",
                  no_args_is_help=True, rich_markup_mode="rich")


@app.command("pack")
def run_pack(
    run: Annotated[Path, typer.Argument(help="The run folder (ganpage train made it).")],
    out: Annotated[Path, typer.Option(help="Folder to write the packed files into.")],
) -> None:
    """Pack a run's latest checkpoint: G, D and the EMA generator as bfloat16 safetensors, its
    config, classes, styles, log and counters (run.tar) and a sample grid. Adam's moments stay
    behind: a run unpacked from these files goes on with fresh ones.

    [bold]Examples[/bold]

    ganpage run pack runs/00003-emoji32-32 --out training/emoji32-v2
    """
    from ganpage.outputs import writable_folder
    from ganpage.run_pack import pack_run

    writable_folder(out, "--out")
    counters = pack_run(run, out)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    typer.echo(f"{out}: {counters['checkpoint']} at {counters['images_seen'] / 1000:,.1f} kimg "
               f"in {size / 2**20:.1f} MiB; on another machine: ganpage run unpack {out} "
               "--data DATA --out RUN")


@app.command("unpack")
def run_unpack(
    packed: Annotated[Path, typer.Argument(help="A folder ganpage run pack wrote.")],
    data: Annotated[Path, typer.Option(help="The data set the run trained on, on this "
                                            "machine (same classes and styles).")],
    out: Annotated[Path, typer.Option(help="The run folder to make.")],
    device: Annotated[str, typer.Option(help="Device the run goes on with.")] = "cpu",
) -> None:
    """Make a run folder from packed files, ready for ganpage train --resume.

    [bold]Examples[/bold]

    ganpage run unpack training/emoji32-v2 --data data/emoji32-top128 --out runs/emoji32-v2
    """
    from ganpage.run_pack import unpack_run

    run = unpack_run(packed, out, data, device)
    typer.echo(f"{run}: ready; go on with: ganpage train --resume {run}")
