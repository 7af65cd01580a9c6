"""A training run in a few small files, to carry to another machine or to commit so that a
fresh clone can go on with it.

``pack_run`` writes the networks of the run's latest checkpoint (G, D and the EMA generator) as
bfloat16 safetensors, ``run.tar`` with the run's small files and its counters, and ``grid.png``
(the EMA generator's sample grid). Adam's moments and the RNG states stay behind: they are
twice the size of the networks. ``unpack_run`` makes a run folder around a checkpoint of those
weights, on a local copy of the data set, which ``ganpage train --resume`` continues with fresh
moments (a warm restart, not a bit-exact resume) and ``export_run`` releases.

A width-16 emoji run at 32 px packs into about 4 MB, against an 18 MB checkpoint.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ganpage.atomic import atomic_write_text, atomic_write_with
from ganpage.categories import CategorySet
from ganpage.checkpoints import (
    CheckpointError,
    checkpoint_model_config,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    source_widths,
)
from ganpage.data.dataset import CLASSES, load_training_set
from ganpage.errors import GanpageError
from ganpage.models.cgan import CGANConfig
from ganpage.reporting import save_grid
from ganpage.runs import STYLES, load_run_config
from ganpage.train import build_state
from ganpage.train_config import TrainConfig

NETWORKS = (("ema", "G_ema"), ("G", "G"), ("D", "D"))  # file stem -> checkpoint key
RUN_FILES = ("config.json", "model_config.json", "classes.json", STYLES, "log.jsonl",
             "losses.png", "config_changes.jsonl")
ARCHIVE = "run.tar"
COUNTERS = "counters.json"  # inside run.tar: step and images seen


class PackError(GanpageError):
    """A packed run that is incomplete, or a data set it cannot go on with."""


def pack_run(run_dir: Path, out: Path, grid: bool = True) -> dict:
    """``out``/{ema,G,D}.safetensors, ``run.tar`` and ``grid.png`` from the run's latest
    checkpoint; returns its counters. Each file is written atomically."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise CheckpointError(f"{run_dir} has no checkpoint to pack")
    payload = load_checkpoint(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    for stem, key in NETWORKS:
        weights = {name: (tensor.to(torch.bfloat16) if tensor.is_floating_point() else tensor)
                   .contiguous() for name, tensor in payload[key].items()}
        atomic_write_with(out / f"{stem}.safetensors",
                          lambda temporary, weights=weights: save_file(weights, str(temporary)))
    counters = {"step": int(payload["step"]), "images_seen": int(payload["images_seen"]),
                "checkpoint": checkpoint.name}
    archive = _run_archive(run_dir, counters, source_widths(payload))
    atomic_write_with(out / ARCHIVE, lambda temporary: temporary.write_bytes(archive))
    if grid:
        write_grid(run_dir, payload, out / "grid.png")
    return counters


def _run_archive(run_dir: Path, counters: dict, widths: dict[str, int]) -> bytes:
    """The run's files, with the configs at the packed checkpoint's ``widths`` (a run that grew
    says the new widths before its first wider checkpoint)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in RUN_FILES:
            if (run_dir / name).is_file():
                data = (run_dir / name).read_bytes()
                if name in ("config.json", "model_config.json"):
                    data = json.dumps({**json.loads(data), **widths}, indent=2).encode() + b"\n"
                _add_file(tar, name, data)
        _add_file(tar, COUNTERS, json.dumps(counters, indent=1).encode() + b"\n")
    return buffer.getvalue()


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_grid(run_dir: Path, payload: dict, path: Path) -> None:
    """The sample grid of the checkpoint's EMA generator, as training draws its grids."""
    config = load_run_config(run_dir)
    model_config = checkpoint_model_config(run_dir, payload)
    G_ema = build_state(config, model_config, torch.device("cpu")).G_ema
    G_ema.load_state_dict({k: v.float() for k, v in payload["G_ema"].items()})
    categories = CategorySet.read(run_dir / "classes.json")
    save_grid(path, G_ema.eval(), categories, config, model_config.image_size)


def unpack_run(packed: Path, run_dir: Path, data: Path, device: str = "cpu") -> Path:
    """``run_dir``: a run folder around a checkpoint of ``packed``'s weights (fresh Adam
    moments) on the data set ``data``, which must have the run's classes (and styles) in the
    same order."""
    missing = [name for name in (ARCHIVE, *(f"{stem}.safetensors" for stem, _ in NETWORKS))
               if not (packed / name).is_file()]
    if missing:
        raise PackError(f"{packed} lacks {', '.join(missing)}: not a packed run (ganpage run "
                        "pack)")
    if latest_checkpoint(run_dir) is not None:
        raise PackError(f"{run_dir} already holds a run; choose a new folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(packed / ARCHIVE) as tar:
        tar.extractall(run_dir, filter="data")
    counters = _read_counters(run_dir)
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    _check_same_labels(run_dir, data, config.style_label)
    config.data, config.device = str(data), device
    atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2) + "\n")
    model_config = CGANConfig.from_dict(json.loads((run_dir / "model_config.json").read_text()))
    state = build_state(config, model_config, torch.device("cpu"))
    for stem, key in NETWORKS:
        weights = load_file(str(packed / f"{stem}.safetensors"))
        getattr(state, key).load_state_dict({k: v.float() for k, v in weights.items()})
    state.step, state.images_seen = counters["step"], counters["images_seen"]
    save_checkpoint(run_dir, state, config)
    return run_dir


def _read_counters(run_dir: Path) -> dict:
    path = run_dir / COUNTERS
    if not path.is_file():
        raise PackError(f"{run_dir}: the packed run has no {COUNTERS}; pack it again with "
                        "ganpage run pack")
    counters = json.loads(path.read_text())
    path.unlink()
    return counters


def _check_same_labels(run_dir: Path, data: Path, style_label: str) -> None:
    """The data set's classes (and styles) are the run's, in the same order: a run's label ids
    index its embeddings, so another order would silently swap them."""
    trained_on = [c.slug for c in CategorySet.read(run_dir / CLASSES)]
    if [c.slug for c in CategorySet.read(data / CLASSES)] != trained_on:
        raise PackError(f"the data set {data} has other classes (or another order) than the "
                        f"run was trained on ({len(trained_on)} in its {CLASSES}); give the "
                        "same data set")
    if style_label:
        styles = json.loads((run_dir / STYLES).read_text())
        if load_training_set(data, style_label).style_names != styles:
            raise PackError(f"the data set {data} has other values of {style_label!r} than "
                            f"the run's {STYLES} ({', '.join(styles)}); give the same data set")
