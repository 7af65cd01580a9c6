"""What a run shows of itself while it trains: the JSONL log (one row per
``log_every_steps``), sample grids ``fakes000140.png`` and the loss plot ``losses.png``."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganpage.atomic import atomic_write_with
from ganpage.categories import CategorySet
from ganpage.checkpoints import TrainState
from ganpage.errors import GanpageError
from ganpage.models.cgan import CGANGenerator
from ganpage.models.generator import Generator
from ganpage.train_config import TrainConfig


@dataclass
class StepLosses:
    """One step's losses as detached 0-d tensors on the training device: reading them (a GPU
    sync) waits until a log row needs them, so a GPU can run ahead of the Python loop."""

    adversarial: torch.Tensor  # D's adversarial loss, or G's loss through D
    classification: torch.Tensor  # cross-entropy of D's class logits (reals for D, fakes for G)
    diversity: torch.Tensor | float = 0.0  # G only: picture / noise distance of same-class pairs


@dataclass
class LossMeans:
    """The mean losses of the steps since the last log row, read from the device at once."""

    d_loss: float
    g_loss: float
    d_class_loss: float
    g_class_loss: float
    diversity: float
    gradient_penalty: float  # the last R1/R2 penalty; nan when there is none

    @classmethod
    def of(cls, losses: list[tuple[StepLosses, StepLosses]],
           penalty: torch.Tensor | float) -> LossMeans:
        device = losses[0][0].adversarial.device
        columns = [[d.adversarial for d, _ in losses], [g.adversarial for _, g in losses],
                   [d.classification for d, _ in losses], [g.classification for _, g in losses],
                   [g.diversity for _, g in losses], [penalty]]
        means = torch.stack([
            torch.stack([torch.as_tensor(v, dtype=torch.float32, device=device)
                         for v in column]).mean()
            for column in columns])
        return cls(*means.cpu().tolist())

    def stats(self, class_loss_weight: float) -> str:
        """The progress bar's loss column; class losses only when they train anything."""
        text = f"D {self.d_loss:.3f}  G {self.g_loss:.3f}"
        if class_loss_weight:
            text += f"  class D {self.d_class_loss:.2f}  G {self.g_class_loss:.2f}"
        return text


def write_log_row(run_dir: Path, state: TrainState, means: LossMeans, rate: float,
                  condition: float) -> None:
    """Append one row; a non-finite loss stops the run with the way out."""
    if not (math.isfinite(means.d_loss) and math.isfinite(means.g_loss)):
        raise GanpageError(f"training diverged at step {state.step} (non-finite loss); resume "
                           "from an earlier checkpoint with a lower learning rate")
    row = {"step": state.step, "kimg": round(state.kimg, 3), "d_loss": round(means.d_loss, 5),
           "g_loss": round(means.g_loss, 5), "d_class_loss": round(means.d_class_loss, 5),
           "g_class_loss": round(means.g_class_loss, 5), "diversity": round(means.diversity, 5),
           "condition": round(condition, 4), "images_per_s": round(rate, 2),
           "time": time.time()}
    if math.isfinite(means.gradient_penalty):
        row["gradient_penalty"] = round(means.gradient_penalty, 5)
    with open(run_dir / "log.jsonl", "a") as log:
        log.write(json.dumps(row) + "\n")


def read_log(run_dir: Path) -> list[dict]:
    """The rows of ``log.jsonl``; a last line cut short by a kill is left out."""
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise GanpageError(f"{path} line {number} is not JSON; delete that line") \
                    from error
    return rows


def save_pictures(run_dir: Path, state: TrainState, categories: CategorySet,
                  config: TrainConfig, image_size: int) -> None:
    """The progress pictures at this point: the sample grid ``fakes000140.png`` (named by
    kimg) and the loss plot."""
    save_grid(run_dir / f"fakes{int(state.kimg):06d}.png", state.G_ema, categories, config,
              image_size)
    save_plot(run_dir)


def grid_labels(categories: CategorySet, count: int) -> list[int]:
    """``count`` class ids spread evenly over all classes (all of them if fewer)."""
    if len(categories) <= count:
        return list(range(len(categories)))
    return [round(i * (len(categories) - 1) / (count - 1)) for i in range(count)]


def save_grid(path: Path, G_ema: CGANGenerator, categories: CategorySet, config: TrainConfig,
              image_size: int) -> None:
    """One row per class, one column per seed, sampled from the EMA generator at truncation 1."""
    generator = Generator(G_ema, categories, "training", config.z_dim, image_size,
                          device=next(G_ema.parameters()).device)
    labels = grid_labels(categories, config.grid_classes)
    rows = [generator.sample([label] * config.grid_seeds, range(config.grid_seeds), 1.0)
            for label in labels]
    grid = np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)
    atomic_write_with(path, lambda temporary: Image.fromarray(grid).save(temporary, "PNG"))


def save_plot(run_dir: Path) -> None:
    """losses.png: adversarial and class losses, the diversity ratio and images/s, by kimg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(run_dir)
    if not rows:
        return
    kimg = [r["kimg"] for r in rows]
    figure, (losses, classes, diversity, speed) = plt.subplots(1, 4, figsize=(18, 3.5))
    losses.plot(kimg, [r["d_loss"] for r in rows], label="D (hinge)")
    losses.plot(kimg, [r["g_loss"] for r in rows], label="G")
    losses.set_xlabel("kimg")
    losses.legend()
    losses.set_title("adversarial losses")
    logged = [r for r in rows if "d_class_loss" in r]  # runs older than the class loss lack it
    classes.plot([r["kimg"] for r in logged], [r["d_class_loss"] for r in logged],
                 label="D on reals")
    classes.plot([r["kimg"] for r in logged], [r["g_class_loss"] for r in logged],
                 label="G's fakes")
    classes.set_xlabel("kimg")
    classes.legend()
    classes.set_title("class cross-entropy (chance: ln classes)")
    paired = [r for r in rows if r.get("diversity")]
    diversity.plot([r["kimg"] for r in paired], [r["diversity"] for r in paired])
    diversity.set_xlabel("kimg")
    diversity.set_title("picture / noise distance of same-class pairs")
    speed.plot(kimg, [r["images_per_s"] for r in rows])
    speed.set_xlabel("kimg")
    speed.set_title("training images/s")
    figure.tight_layout()
    atomic_write_with(run_dir / "losses.png",
                      lambda temporary: figure.savefig(temporary, format="png", dpi=80))
    plt.close(figure)


