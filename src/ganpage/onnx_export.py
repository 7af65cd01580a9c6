"""The generator as ONNX: inputs ``noise`` (B, z_dim) float32 and ``labels`` (B,) int64, output
``images`` (B, 3, H, W) float32 in [-1, 1] (NCHW, RGB), in float32 and a float16 variant, each
checked against PyTorch with onnxruntime when it is written.

Only ganpage-cgan models so far (their truncation is carried by the noise alone).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganpage.errors import GanpageError
from ganpage.models.generator import Generator
from ganpage.noise import truncated_noise

PARITY_SEEDS = (0, 1, 2, 3)
PARITY_TRUNCATION = 0.7


class OnnxExportError(GanpageError):
    """A model this exporter cannot write as ONNX."""


class _Sampler(nn.Module):
    """(noise, labels) -> images in float32, with the network run in ``dtype``."""

    def __init__(self, net: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.net = net.to(dtype)
        self.dtype = dtype

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net.generate(noise.to(self.dtype), labels, 1.0).float()  # (B, 3, H, W)


@dataclass(frozen=True)
class ExportedFile:
    path: Path
    dtype: str
    max_abs_diff: float  # against PyTorch float32 on PARITY_SEEDS


def export_onnx(generator: Generator, out: Path) -> list[ExportedFile]:
    """Write ``<model_id>.float32.onnx`` and ``<model_id>.float16.onnx`` into ``out``."""
    if not hasattr(generator.net, "embed"):
        raise OnnxExportError(f"{generator.model_id}: only ganpage-cgan models export to ONNX "
                              "so far")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dtype in (("float32", torch.float32), ("float16", torch.float16)):
        path = out / f"{generator.model_id}.{name}.onnx"
        sampler = _Sampler(copy.deepcopy(generator.net).float(), dtype).eval()
        z, labels = _parity_inputs(generator)
        batch = torch.export.Dim("batch", min=1, max=4096)
        with warnings.catch_warnings():  # torch's exporter trips its own deprecations
            warnings.simplefilter("ignore")
            torch.onnx.export(sampler, (z, labels), str(path), input_names=["noise", "labels"],
                              output_names=["images"], dynamo=True, external_data=False,
                              dynamic_shapes={"noise": {0: batch}, "labels": {0: batch}},
                              verbose=False)
        written.append(ExportedFile(path, name, parity(generator, path)))
    return written


def _parity_inputs(generator: Generator) -> tuple[torch.Tensor, torch.Tensor]:
    seeds = list(PARITY_SEEDS)
    labels = [seed % len(generator.categories) for seed in seeds]
    z = torch.from_numpy(truncated_noise(seeds, generator.z_dim, PARITY_TRUNCATION))
    return z, torch.tensor(labels, dtype=torch.long)


def parity(generator: Generator, path: Path) -> float:
    """Max absolute difference between onnxruntime's and PyTorch float32's images."""
    import onnxruntime

    z, labels = _parity_inputs(generator)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"noise": z.numpy(), "labels": labels.numpy()})[0]
    with torch.inference_mode():
        expected = generator.net.float().generate(z, labels, 1.0).numpy()
    return float(np.abs(got - expected).max())
