"""The generator as ONNX, in float32 and a float16 variant, each checked against PyTorch with
onnxruntime when it is written, plus ``manifest.json`` that says how to call them.

Inputs: ``noise`` (B, z_dim) float32 (``noise.truncated_noise``: already truncated and scaled),
``labels`` (B,) int64 class ids, for models trained with a style label ``styles`` (B,) int64
(``noise.style_ids``: drawn from the seed), and, for models that take it (BigGAN-deep: its batch
norm statistics depend on it), ``truncation`` (1,) float64. Output: ``images`` (B, 3, H, W) float32
in [-1, 1], NCHW, RGB; ``Generator.to_uint8`` turns it into pixels.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganpage.atomic import atomic_write_text, atomic_write_with
from ganpage.errors import GanpageError
from ganpage.models.biggan import BigGANDeep
from ganpage.models.cgan import CGANGenerator
from ganpage.models.generator import Generator
from ganpage.models.loading import conversion_cache, load_generator, resolve_model_dir
from ganpage.noise import truncated_noise

PARITY_SEEDS = (0, 1, 2, 3)
PARITY_TRUNCATIONS = (0.4, 0.7, 1.0)  # on and off BigGAN's statistics grid
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "ganpage-onnx/1"
DTYPES = {"float32": torch.float32, "float16": torch.float16}
GOALS = {"float32": 1e-3, "float16": 3e-2}  # max abs diff in [-1, 1] against PyTorch float32


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


class _StyleSampler(_Sampler):
    """(noise, labels, styles) -> images, for networks with a style label."""

    def forward(self, noise: torch.Tensor, labels: torch.Tensor,  # type: ignore[override]
                styles: torch.Tensor) -> torch.Tensor:
        return self.net.generate(noise.to(self.dtype), labels, 1.0, styles=styles).float()


class _TruncationSampler(_Sampler):
    """(noise, labels, truncation (1,) float64) -> images, for networks that take truncation."""

    def forward(self, noise: torch.Tensor, labels: torch.Tensor,  # type: ignore[override]
                truncation: torch.Tensor) -> torch.Tensor:
        return self.net.generate(noise.to(self.dtype), labels, truncation).float()


@dataclass(frozen=True)
class ExportedFile:
    path: Path
    dtype: str
    max_abs_diff: float  # against PyTorch float32 on PARITY_SEEDS and PARITY_TRUNCATIONS
    size: int
    sha256: str

    def to_dict(self) -> dict:
        return {"file": self.path.name, "dtype": self.dtype, "bytes": self.size,
                "sha256": self.sha256, "max_abs_diff": self.max_abs_diff}


def takes_truncation(generator: Generator) -> bool:
    """Whether the network reads truncation beyond the noise (an extra ONNX input)."""
    return isinstance(generator.net, BigGANDeep)


def onnx_file_name(dtype: str) -> str:
    return f"generator.{dtype}.onnx"


def export_onnx(generator: Generator, out: Path) -> list[ExportedFile]:
    """Write ``generator.float32.onnx``, ``generator.float16.onnx`` and ``manifest.json``."""
    if not isinstance(generator.net, CGANGenerator | BigGANDeep):
        raise OnnxExportError(f"{generator.model_id}: only ganpage-cgan and BigGAN-deep models "
                              "export to ONNX")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dtype in DTYPES.items():
        path = out / onnx_file_name(name)
        atomic_write_with(path, lambda temporary, dtype=dtype: _export(generator, dtype,
                                                                       temporary))
        data = path.read_bytes()
        written.append(ExportedFile(path, name, parity(generator, path), len(data),
                                    hashlib.sha256(data).hexdigest()))
    atomic_write_text(out / MANIFEST, json.dumps(manifest(generator, written), indent=1) + "\n")
    return written


def _export(generator: Generator, dtype: torch.dtype, path: Path) -> None:
    sampler_class = (_TruncationSampler if takes_truncation(generator)
                     else _StyleSampler if generator.num_styles else _Sampler)
    sampler = sampler_class(copy.deepcopy(generator.net).float(), dtype).eval()
    inputs = _parity_inputs(generator, PARITY_TRUNCATIONS[1])
    batch = torch.export.Dim("batch", min=1, max=4096)
    names = input_names(generator)
    shapes = {name: ({} if name == "truncation" else {0: batch}) for name in names}
    # torch's exporter trips its own deprecations and logs that torchvision's ops are absent
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(sampler, inputs, str(path), input_names=names,
                              output_names=["images"], dynamo=True, external_data=False,
                              dynamic_shapes=shapes, verbose=False)
        finally:
            registration.setLevel(level)


def input_names(generator: Generator) -> list[str]:
    """The ONNX inputs, in order: noise, labels, then styles or truncation if it takes them."""
    if takes_truncation(generator):
        return ["noise", "labels", "truncation"]
    return ["noise", "labels", "styles"] if generator.num_styles else ["noise", "labels"]


def _parity_inputs(generator: Generator, truncation: float) -> tuple[torch.Tensor, ...]:
    seeds = list(PARITY_SEEDS)
    labels = torch.tensor([seed % len(generator.categories) for seed in seeds], dtype=torch.long)
    z = torch.from_numpy(truncated_noise(seeds, generator.z_dim, truncation))
    if takes_truncation(generator):
        return z, labels, torch.tensor([truncation], dtype=torch.float64)
    if generator.num_styles:
        return z, labels, generator.styles_of(seeds).cpu()
    return z, labels


def parity(generator: Generator, path: Path) -> float:
    """Max absolute difference between onnxruntime's and PyTorch float32's images, over
    PARITY_SEEDS at each of PARITY_TRUNCATIONS."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    net = copy.deepcopy(generator.net).float()
    worst = 0.0
    for truncation in PARITY_TRUNCATIONS:
        inputs = _parity_inputs(generator, truncation)
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
        styles = {"styles": inputs[2]} if "styles" in names else {}
        with torch.inference_mode():
            expected = net.generate(inputs[0], inputs[1], truncation, **styles).numpy()
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def manifest(generator: Generator, files: list[ExportedFile]) -> dict:
    """What a runtime needs to call the files: inputs, output layout, classes, checksums."""
    size = generator.image_size
    inputs = {
        "noise": {"dtype": "float32", "shape": ["batch", generator.z_dim],
                  "values": "truncated_noise(seed, z_dim, truncation): noise.py / noise.js"},
        "labels": {"dtype": "int64", "shape": ["batch"], "values": "class ids (classes[].id)"},
    }
    if generator.num_styles:
        inputs["styles"] = {"dtype": "int64", "shape": ["batch"],
                            "values": "style_ids(seed, z_dim, num_styles): noise.py / noise.js"}
    if takes_truncation(generator):
        inputs["truncation"] = {"dtype": "float64", "shape": [1],
                                "values": "the truncation the noise was made with, (0, 1]"}
    return {
        "format": MANIFEST_FORMAT,
        "model_id": generator.model_id,
        "architecture": "biggan-deep" if takes_truncation(generator) else "ganpage-cgan",
        "z_dim": generator.z_dim,
        "num_styles": generator.num_styles,
        "resolution": size,
        "inputs": inputs,
        "output": {"name": "images", "dtype": "float32", "shape": ["batch", 3, size, size],
                   "layout": "NCHW", "channels": "RGB", "range": [-1.0, 1.0],
                   "to_uint8": "round((clamp(x, -1, 1) + 1) * 127.5)"},
        "classes": [{"id": c.id, "slug": c.slug, "name": c.name} for c in generator.categories],
        "files": [f.to_dict() for f in files],
        "parity": {"seeds": list(PARITY_SEEDS), "truncations": list(PARITY_TRUNCATIONS),
                   "goal_max_abs_diff": GOALS},
    }


def cached_export(model: str | os.PathLike) -> Path:
    """The ONNX folder of a model (name, folder or repo id), exported once into
    ``$GANPAGE_CACHE/onnx/<digest of the model's files>`` and reused while its files match."""
    source = resolve_model_dir(model)
    digest = hashlib.sha256(MANIFEST_FORMAT.encode())
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    target = conversion_cache().parent / "onnx" / digest.hexdigest()[:24]
    if _intact(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    try:
        export_onnx(load_generator(source, dtype="float32"), scratch)
        shutil.rmtree(target, ignore_errors=True)  # a damaged copy
        os.replace(scratch, target)
    except OSError:
        if not _intact(target):  # not another process that finished first
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _intact(folder: Path) -> bool:
    """Whether ``folder`` holds a manifest whose files all match their sha256."""
    try:
        files = json.loads((folder / MANIFEST).read_text())["files"]
        return all(hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"]
                   for f in files)
    except (OSError, ValueError, KeyError, TypeError):
        return False
