"""Small training data sets and configs, and how to compare a resumed run with a straight one."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.data.dataset import DatasetWriter
from ganpage.data.synthetic import write_noise_dataset
from ganpage.train import train
from ganpage.train_config import TrainConfig


def make_dataset(root: Path, classes: int = 2, per_class: int = 6, size: int = 32) -> Path:
    """Random-noise pictures, distinct enough to survive near-duplicate removal."""
    return write_noise_dataset(root, classes, per_class, size)


def tiny_config(data: Path, out: Path, **changes) -> TrainConfig:
    values = dict(data=str(data), out=str(out), total_kimg=1.0, batch_size=4, z_dim=8,
                  embed_dim=8, g_channels=4, d_channels=4, grid_every_kimg=0.008,
                  checkpoint_every_kimg=1.0, log_every_steps=1, grid_classes=2, grid_seeds=3,
                  threads=1)
    values.update(changes)
    return TrainConfig(**values)


def straight_and_resumed(config, tmp_path: Path, before: int, after: int):
    """The last checkpoints of ``before + after`` steps in one go and of ``before`` steps, a
    resume, then ``after`` more; with the straight run's folder. ``config(out)`` makes a
    config."""
    straight = train(config(tmp_path / "a"), show_progress=False,
                     stop_after_steps=before + after)
    interrupted = train(config(tmp_path / "b"), show_progress=False, stop_after_steps=before)
    train(config(tmp_path / "b"), resume=interrupted, show_progress=False,
          stop_after_steps=after)
    return (load_checkpoint(latest_checkpoint(straight)),
            load_checkpoint(latest_checkpoint(interrupted)), straight)


def assert_same_networks(a: dict, b: dict) -> None:
    """Two checkpoints' G, D and EMA G equal bit for bit."""
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"


def colour_dataset(root, per_class=6, size=32):
    """Three classes a classifier can learn: red, green and blue pictures with noise."""
    rng = np.random.default_rng(3)
    writer = DatasetWriter(root, size, near_duplicate_bits=-1)
    for c, name in enumerate(["Red", "Green", "Blue"]):
        for i in range(per_class):
            pixels = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
            pixels[..., c] += 160
            writer.add(Image.fromarray(pixels), name, f"{name}{i}")
    writer.finish()
    return root


def default_sigint() -> None:
    """``preexec_fn`` for a child that must obey SIGINT whatever its parent ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
