"""``ganpage export-onnx``: a model's generator as ONNX files plus their manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganpage.defaults import DEFAULT_MODEL

app = typer.Typer()


@app.command("export-onnx")
def export_onnx(
    model: Annotated[str, typer.Argument(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
    out: Annotated[Path, typer.Option(help="Folder for the .onnx files and manifest.json.")]
    = Path("onnx"),
) -> None:
    """Write the generator as ONNX (float32 and float16) with manifest.json, each file checked
    against PyTorch with onnxruntime: the max absolute difference in [-1, 1] is printed, and a
    file over its goal fails the command (the files are kept to inspect).

    Inputs: noise (B, z_dim) float32 from noise.py / noise.js, labels (B,) int64 and, for
    BigGAN-deep, truncation (1,) float64. Output: images (B, 3, H, W) float32 in [-1, 1], RGB.

    [bold]Examples[/bold]

    ganpage export-onnx emoji64 --out web-model/

    ganpage export-onnx models/my-model --out my-model-onnx/
    """
    from ganpage.errors import GanpageError
    from ganpage.models import load_generator
    from ganpage.onnx_export import GOALS, MANIFEST
    from ganpage.onnx_export import export_onnx as write_onnx
    from ganpage.outputs import removed_on_error, writable_folder

    with removed_on_error(out):
        writable_folder(out, "--out")
        generator = load_generator(model, dtype="float32")
        files = write_onnx(generator, out)
    for file in files:
        verdict = "within" if file.max_abs_diff <= GOALS[file.dtype] else "OVER"
        typer.echo(f"{file.path}: {file.size / 1e6:.1f} MB, max abs diff {file.max_abs_diff:.2g} "
                   f"against PyTorch float32 ({verdict} the goal {GOALS[file.dtype]:g})")
    typer.echo(f"manifest: {out / MANIFEST}")
    over = [file for file in files if file.max_abs_diff > GOALS[file.dtype]]
    if over:
        names = ", ".join(f"{file.path.name} ({file.max_abs_diff:.2g} > {GOALS[file.dtype]:g})"
                          for file in over)
        raise GanpageError(f"{names}: onnxruntime draws pictures that differ from PyTorch's by "
                           f"more than the goal; the files are kept in {out} to inspect, but do "
                           "not publish them: the browser's pictures would not match the "
                           "permalinks")
