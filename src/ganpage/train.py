"""The training loop: a class-conditional GAN with DiffAugment and an EMA generator, resumable
exactly (bit for bit on the CPU; on CUDA, where cuDNN picks its fastest kernels per process, to
within those kernels' rounding). What it optimises (hinge or relativistic loss, R1/R2
penalties, transitional conditioning, the mode-seeking term) lives in ``ganpage.losses``.

The loop knows the networks only through ``CGANGenerator``/``CGANDiscriminator`` calls; its steps
are small named functions (``d_step``, ``g_step``, ``update_ema``, ``save_checkpoint``). A run
lives in a numbered folder ``runs/00007-emoji64-64/`` with its resolved config, JSONL log,
sample grids ``fakes000140.png`` (named by kimg), a loss plot and checkpoints
``ckpt-0012000.pt`` (named by images seen). Under ``torchrun`` it trains with DDP.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ganpage.atomic import atomic_write_text, atomic_write_with
from ganpage.augment import diff_augment, parse_policy
from ganpage.categories import CategorySet
from ganpage.data.dataset import TrainingSet, load_training_set
from ganpage.errors import GanpageError
from ganpage.interrupt import StopRequest, stop_on_signals
from ganpage.losses import (
    adversarial_loss,
    condition_strength,
    gradient_penalty,
    mode_seeking_loss,
)
from ganpage.models.cgan import CGANConfig, CGANDiscriminator, CGANGenerator
from ganpage.models.generator import Generator
from ganpage.progress import progress_bar

CHECKPOINT = re.compile(r"^ckpt-(\d{7,})\.pt$")
KEEP_CHECKPOINTS = 3
DDP_STOP_CHECK_STEPS = 10  # how often DDP ranks agree on stopping (one small all_reduce)


class CheckpointError(GanpageError):
    """A checkpoint that is missing, truncated, corrupt or from another config."""


class TrainingStopped(Exception):
    """A signal (Ctrl-C, SIGTERM) stopped training after a step, with a checkpoint written."""

    def __init__(self, run_dir: Path, kimg: float, signal_name: str):
        super().__init__(f"stopped by {signal_name} at {kimg:,.1f} kimg")
        self.run_dir, self.kimg, self.signal_name = run_dir, kimg, signal_name


@dataclass
class TrainConfig:
    """Every knob of a run; saved as ``config.json`` in the run folder."""

    data: str
    out: str = "runs"
    total_kimg: float = 500.0
    batch_size: int = 32
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)
    ema_kimg: float = 2.0  # half-life of the EMA generator, in thousands of images
    augment: str = "color,translation-edge,cutout"  # edge fill: see augment.translate_edge
    # weight of D's auxiliary class loss (cross-entropy of its class logits on real pictures
    # for D, on generated ones for G); 0 is a pure projection discriminator
    class_loss_weight: float = 0.0
    # weight of the mode-seeking term (MSGAN, Mao et al. 2019): G is penalised when two noise
    # vectors of one class give near-identical pictures; 0 turns it off
    diversity_loss_weight: float = 0.0
    loss: str = "hinge"  # or "relativistic" (R3GAN's pairing loss; give it r1_gamma)
    # weight gamma of the zero-centred gradient penalties, gamma/2 (R1 on reals + R2 on fakes),
    # applied every r1_every steps as a separate step of D (lazy regularisation, StyleGAN2)
    r1_gamma: float = 0.0
    r1_every: int = 16
    # transitional conditioning: unconditional until condition_start_kimg, then the class input
    # fades in over condition_fade_kimg (both 0: conditional from the start)
    condition_start_kimg: float = 0.0
    condition_fade_kimg: float = 0.0
    xflip: bool = True
    z_dim: int = 128
    embed_dim: int = 128
    g_channels: int = 32
    d_channels: int = 32
    grid_every_kimg: float = 10.0
    checkpoint_every_kimg: float = 10.0
    log_every_steps: int = 20
    grid_classes: int = 16
    grid_seeds: int = 8
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    precision: str = "auto"  # float32, bfloat16, or auto: bfloat16 where the hardware has it

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)

    def model_config(self, num_classes: int, image_size: int) -> CGANConfig:
        return CGANConfig(num_classes=num_classes, image_size=image_size, z_dim=self.z_dim,
                          embed_dim=self.embed_dim, g_channels=self.g_channels,
                          d_channels=self.d_channels)


@dataclass
class TrainState:
    """What a checkpoint holds besides the config: networks, optimisers, counters."""

    G: CGANGenerator
    D: CGANDiscriminator
    G_ema: CGANGenerator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    step: int = 0
    images_seen: int = 0

    @property
    def kimg(self) -> float:
        return self.images_seen / 1000


# -- run folders ------------------------------------------------------------------------------


def new_run_dir(out: Path, data: Path, image_size: int) -> Path:
    """The next numbered run folder: ``out/00007-<data name>-<size>``."""
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:5]) for p in out.iterdir() if p.is_dir() and p.name[:5].isdigit()]
    number = max(numbers, default=-1) + 1
    return out / f"{number:05d}-{data.name}-{image_size}"


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted(p for p in run_dir.glob("ckpt-*.pt") if CHECKPOINT.match(p.name))
    return found[-1] if found else None


# -- building ---------------------------------------------------------------------------------


def build_state(config: TrainConfig, model_config: CGANConfig, device: torch.device) -> TrainState:
    G = CGANGenerator(model_config).to(device)
    D = CGANDiscriminator(model_config).to(device)
    G_ema = CGANGenerator(model_config).to(device)
    G_ema.load_state_dict(G.state_dict())
    G_ema.eval().requires_grad_(False)
    # channels_last is the layout cuDNN and oneDNN convolutions prefer, on GPU and CPU alike
    G, D, G_ema = (m.to(memory_format=torch.channels_last) for m in (G, D, G_ema))
    # fused Adam: one kernel per step instead of a dozen small ops per tensor (~10% of a CPU
    # step in the profile); same state dict, so checkpoints resume either way
    opt_g = torch.optim.Adam(G.parameters(), lr=config.g_lr, betas=config.betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.d_lr, betas=config.betas, fused=True)
    return TrainState(G, D, G_ema, opt_g, opt_d)


# -- precision ------------------------------------------------------------------------------


def cpu_has_native_bfloat16() -> bool:
    """True on CPUs with bfloat16 instructions (AVX512-BF16 or AMX), where oneDNN runs
    bfloat16 convolutions natively (benchmarks/train_speed.py: 1.67x the float32 images/s on
    an AMD EPYC with AVX512-BF16); elsewhere bfloat16 is emulated, so auto does not use it."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision setting on a device; None means plain float32."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise GanpageError(f"unknown precision {precision!r}; use auto, float32 or bfloat16")
    if precision == "auto":
        native = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bfloat16())
        return torch.bfloat16 if native else None
    return torch.bfloat16 if precision == "bfloat16" else None


# -- one step ---------------------------------------------------------------------------------


def real_batch(data: torch.Tensor, labels: torch.Tensor, batch_size: int, xflip: bool,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of real pictures in [-1, 1] (B, 3, S, S), with their labels (B,)."""
    index = torch.randint(len(data), (batch_size,))
    images = data[index.to(data.device)].to(device).float() / 127.5 - 1
    images = images.contiguous(memory_format=torch.channels_last)
    if xflip:
        flip = torch.rand(batch_size) < 0.5
        images[flip.to(device)] = images[flip.to(device)].flip(3)
    return images, labels[index].to(device)


@dataclass
class StepLosses:
    """One step's losses as detached 0-d tensors on the training device: reading them (a GPU
    sync) waits until a log row needs them, so a GPU can run ahead of the Python loop."""

    adversarial: torch.Tensor  # D's adversarial loss, or G's loss through D
    classification: torch.Tensor  # cross-entropy of D's class logits (reals for D, fakes for G)
    diversity: torch.Tensor | float = 0.0  # G only: picture / noise distance of same-class pairs


@dataclass(frozen=True)
class Objective:
    """What one step optimises: the config's loss settings at the current condition strength."""

    loss: str
    class_loss_weight: float
    diversity_loss_weight: float
    condition: float  # 0..1: how much of the class input G and D get (transitional conditioning)

    @classmethod
    def at(cls, config: TrainConfig, kimg: float) -> Objective:
        condition = condition_strength(kimg, config.condition_start_kimg,
                                       config.condition_fade_kimg)
        # the class loss is a class signal too, so it fades in with the class input
        return cls(config.loss, config.class_loss_weight * condition,
                   config.diversity_loss_weight, condition)


def d_step(state: TrainState, reals: torch.Tensor, labels: torch.Tensor, policy: list[str],
           z_dim: int, objective: Objective, autocast) -> tuple[StepLosses, torch.Tensor]:
    """Adversarial loss on augmented reals and fakes, plus the weighted class loss on the reals;
    one Adam step of D. Returns the losses and D's logits of the reals (detached), which the
    relativistic G loss pairs its fakes with.

    Reals and fakes go through D as one batch: D has no batch statistics, so this equals two
    passes, is faster, and is what DDP needs (one forward per backward)."""
    d_loss, _, _ = adversarial_loss(objective.loss)
    z = torch.randn(len(labels), z_dim, device=reals.device)
    with torch.no_grad(), autocast():
        fakes = state.G(z, labels, objective.condition)
    with autocast():
        images = torch.cat([diff_augment(reals, policy), diff_augment(fakes.float(), policy)])
        realness, class_logits = state.D(images, torch.cat([labels, labels]),
                                         objective.condition)
        real_logits, fake_logits = realness.float().chunk(2)
        adversarial = d_loss(real_logits, fake_logits)
        classification = F.cross_entropy(class_logits[:len(labels)].float(), labels)
        loss = adversarial + objective.class_loss_weight * classification
    state.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_d.step()
    return StepLosses(adversarial.detach(), classification.detach()), real_logits.detach()


def g_step(state: TrainState, labels: torch.Tensor, policy: list[str], z_dim: int,
           objective: Objective, autocast,
           real_logits: torch.Tensor | None = None) -> StepLosses:
    """G's adversarial loss through the augmented discriminator, plus the weighted class loss
    (D should name the class each fake was drawn for) and the mode-seeking term. The
    relativistic loss pairs each fake with ``real_logits`` of the same class (``labels`` are
    the ones ``d_step`` drew its fakes for)."""
    _, g_loss, needs_reals = adversarial_loss(objective.loss)
    if objective.diversity_loss_weight:
        labels = labels[:len(labels) // 2].repeat(2)  # pairs of one class, different noise
        if real_logits is not None:
            real_logits = real_logits[:len(labels) // 2].repeat(2)
    z = torch.randn(len(labels), z_dim, device=labels.device)
    with autocast():
        fakes = state.G(z, labels, objective.condition)
        realness, class_logits = state.D(diff_augment(fakes.float(), policy), labels,
                                         objective.condition)
        adversarial = g_loss(realness.float(), real_logits if needs_reals else None)
        classification = F.cross_entropy(class_logits.float(), labels)
        loss = adversarial + objective.class_loss_weight * classification
        ratio = 0.0
        if objective.diversity_loss_weight:
            diversity, ratio = mode_seeking_loss(fakes, z)
            loss = loss + objective.diversity_loss_weight * diversity
    state.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_g.step()
    return StepLosses(adversarial.detach(), classification.detach(), ratio)


def d_regularize(state: TrainState, reals: torch.Tensor, labels: torch.Tensor,
                 policy: list[str], z_dim: int, objective: Objective, gamma: float,
                 every: int, world: Distributed) -> torch.Tensor:
    """One lazy-regularisation step of D (StyleGAN2): gamma/2 (R1 + R2) times ``every``, in
    float32, on the same augmented inputs D trains on. It runs on the unwrapped D (DDP does not
    support double backward) and averages the gradients across ranks itself. Returns the
    mean squared gradient norm."""
    z = torch.randn(len(labels), z_dim, device=reals.device)
    with torch.no_grad():
        fakes = state.G(z, labels, objective.condition)
    images = torch.cat([diff_augment(reals, policy), diff_augment(fakes.float(), policy)])
    penalty = gradient_penalty(_unwrap(state.D), images, torch.cat([labels, labels]),
                               objective.condition)
    state.opt_d.zero_grad(set_to_none=True)
    (gamma * penalty * every).backward()  # mean over both halves = (R1 + R2) / 2
    if world.world_size > 1:
        for parameter in _unwrap(state.D).parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= world.world_size
    state.opt_d.step()
    return penalty.detach()


@torch.no_grad()
def update_ema(state: TrainState, batch_size: int, ema_kimg: float) -> None:
    """G_ema <- beta G_ema + (1 - beta) G, with beta set by the half-life; buffers copied."""
    beta = 0.5 ** (batch_size / max(ema_kimg * 1000, 1e-8))
    G = _unwrap(state.G)
    # one fused kernel per list instead of one per tensor (dozens of small launches on a GPU)
    torch._foreach_lerp_(list(state.G_ema.parameters()), [p.detach() for p in G.parameters()],
                         1 - beta)
    torch._foreach_copy_(list(state.G_ema.buffers()), list(G.buffers()))


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


# -- checkpoints ------------------------------------------------------------------------------


def save_checkpoint(run_dir: Path, state: TrainState, config: TrainConfig) -> Path:
    """Plain state dicts, RNG states and counters, written atomically; old ones pruned."""
    payload = {
        "step": state.step, "images_seen": state.images_seen, "config": asdict(config),
        "G": _unwrap(state.G).state_dict(), "D": _unwrap(state.D).state_dict(),
        "G_ema": state.G_ema.state_dict(),
        "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(),
        "rng_torch": torch.get_rng_state(),  # every random draw of the loop uses torch's RNG
    }
    if torch.cuda.is_available():
        payload["rng_cuda"] = torch.cuda.get_rng_state_all()
    path = run_dir / f"ckpt-{state.images_seen:07d}.pt"
    atomic_write_with(path, lambda temporary: torch.save(payload, temporary))
    for old in sorted(run_dir.glob("ckpt-*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint as data only (``weights_only=True``), with one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(f"no checkpoint at {path}") from error
    except (RuntimeError, EOFError, pickle.UnpicklingError, OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path} is truncated or corrupt ({first[:160]}); delete it to "
                              "resume from the one before") from error


def restore(state: TrainState, payload: dict) -> None:
    """Put a checkpoint's weights, optimisers, counters and RNG back in place."""
    for name in ("G", "D"):
        _unwrap(getattr(state, name)).load_state_dict(payload[name])
    state.G_ema.load_state_dict(payload["G_ema"])
    state.opt_g.load_state_dict(payload["opt_g"])
    state.opt_d.load_state_dict(payload["opt_d"])
    state.step, state.images_seen = int(payload["step"]), int(payload["images_seen"])
    torch.set_rng_state(payload["rng_torch"])
    if "rng_cuda" in payload and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["rng_cuda"])


def set_learning_rates(state: TrainState, config: TrainConfig) -> None:
    """The config's learning rates, over the ones a restored optimiser state carries."""
    for optimizer, lr in ((state.opt_g, config.g_lr), (state.opt_d, config.d_lr)):
        for group in optimizer.param_groups:
            group["lr"] = lr


# -- pictures of progress ---------------------------------------------------------------------


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

    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
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


# -- the loop ---------------------------------------------------------------------------------


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Distributed:
    """Join the torchrun process group when launched by torchrun; no-op otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    dist.init_process_group(backend)
    return Distributed(dist.get_rank(), world_size, int(os.environ.get("LOCAL_RANK", "0")))


# what a resumed run may change: how it goes on. The rest fixes the networks' shapes, the data
# and the sampling order, so changing it would not continue the same run.
RESUME_CHANGEABLE = frozenset({
    "total_kimg", "g_lr", "d_lr", "ema_kimg", "augment", "class_loss_weight",
    "diversity_loss_weight", "loss", "r1_gamma", "r1_every", "condition_start_kimg",
    "condition_fade_kimg", "grid_every_kimg", "checkpoint_every_kimg", "log_every_steps",
    "device", "threads", "precision"})


def prepare_run(config: TrainConfig, resume: Path | None,
                changes: dict | None = None) -> tuple[Path, TrainConfig, dict]:
    """The run folder, the config to use and what ``changes`` (the options given on the command
    line) changed in a resumed run's config, as {field: [old, new]}."""
    if resume is None:
        data = Path(config.data)
        image_size = load_image_size(data)
        return new_run_dir(Path(config.out), data, image_size), config, {}
    resumed = load_run_config(resume)
    # where and how fast to run may change between sessions without being asked for
    resumed.device, resumed.threads = config.device, config.threads
    resumed.precision = config.precision
    changed = {name: [getattr(resumed, name), value] for name, value in (changes or {}).items()
               if getattr(resumed, name) != value}
    return resume, apply_changes(resumed, changed), changed


def load_run_config(run_dir: Path) -> TrainConfig:
    saved = run_dir / "config.json"
    if not saved.is_file():
        raise CheckpointError(f"{run_dir} is not a run folder (no config.json)")
    return TrainConfig.from_dict(json.loads(saved.read_text()))


def apply_changes(config: TrainConfig, changed: dict) -> TrainConfig:
    """``config`` with ``changed`` ({field: [old, new]}); refuses changes to what the run's
    networks and data fix."""
    fixed = sorted(name for name in changed if name not in RESUME_CHANGEABLE)
    if fixed:
        raise GanpageError(f"--resume cannot change {', '.join(fixed)}: the run's networks and "
                           "data depend on it; start a new run to change it")
    return replace(config, **{name: new for name, (_, new) in changed.items()})


def record_changes(run_dir: Path, changed: dict, kimg: float) -> None:
    """Append what a resume changed to ``config_changes.jsonl`` (the run's config history)."""
    row = {"kimg": kimg, "time": time.time(), "changed": changed}
    with open(run_dir / "config_changes.jsonl", "a") as log:
        log.write(json.dumps(row) + "\n")


def load_image_size(data: Path) -> int:
    """The picture size of a data set, read from one file (cheap; for naming the run)."""
    manifest = data / "manifest.jsonl"
    if not manifest.is_file():
        raise GanpageError(f"{data} is not a ganpage data set (no manifest.jsonl)")
    first = manifest.read_text().split("\n", 1)[0]
    if not first:
        raise GanpageError(f"{data} holds no pictures")
    with Image.open(data / json.loads(first)["path"]) as image:
        return image.size[0]


@contextmanager
def fastest_kernels(device: torch.device):
    """cuDNN's autotuner on CUDA (the run's shapes never change), put back afterwards."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = before or device.type == "cuda"
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def train(config: TrainConfig, resume: Path | None = None, dry_run: bool = False,
          show_progress: bool = True, stop_after_steps: int | None = None,
          stop_after_minutes: float | None = None, changes: dict | None = None) -> Path:
    """Train (or resume) a run; return its folder. ``changes`` are config fields a resumed run
    takes from the command line (``RESUME_CHANGEABLE``); ``stop_after_minutes`` ends this
    invocation early with a checkpoint (``--resume`` goes on); ``stop_after_steps`` is for
    tests."""
    run_dir, config, changed = prepare_run(config, resume, changes)
    adversarial_loss(config.loss)  # an unknown loss name fails here, in one line
    world = init_distributed(config.device)
    device = torch.device(config.device)
    if config.device.startswith("cuda") and world.world_size > 1:
        device = torch.device("cuda", world.local_rank)
    if config.threads:
        torch.set_num_threads(config.threads)
    dataset = load_training_set(config.data)
    model_config = config.model_config(len(dataset.categories), dataset.image_size)
    torch.manual_seed(config.seed + world.rank)
    state = build_state(config, model_config, device)
    if dry_run:
        _describe(run_dir, config, model_config, state, dataset)
        return run_dir
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if checkpoint is not None:
        restore(state, load_checkpoint(checkpoint))
        set_learning_rates(state, config)
    if changed and world.is_main:
        record_changes(run_dir, changed, state.kimg)
    if world.world_size > 1:
        state.G = nn.parallel.DistributedDataParallel(state.G)
        state.D = nn.parallel.DistributedDataParallel(state.D)
    if world.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2) + "\n")
        atomic_write_text(run_dir / "model_config.json",
                          json.dumps(model_config.to_dict(), indent=2) + "\n")
        atomic_write_text(run_dir / "classes.json",
                          json.dumps(dataset.categories.to_dicts(), indent=1) + "\n")
    try:
        deadline = (None if stop_after_minutes is None
                    else time.monotonic() + 60 * stop_after_minutes)
        with stop_on_signals() as stop, fastest_kernels(device):
            _loop(run_dir, config, state, dataset, device, world, show_progress,
                  stop_after_steps, deadline, stop)
    finally:
        if world.world_size > 1:
            dist.destroy_process_group()
    if stop.requested:
        raise TrainingStopped(run_dir, state.kimg, stop.signal_name)
    return run_dir


def _loop(run_dir: Path, config: TrainConfig, state: TrainState, dataset: TrainingSet,
          device: torch.device, world: Distributed, show_progress: bool,
          stop_after_steps: int | None, deadline: float | None = None,
          stop: StopRequest | None = None) -> None:
    policy = parse_policy(config.augment)
    data = torch.from_numpy(dataset.images).to(device)  # uint8: 74 MB for 6,000 at 64 px
    labels = torch.from_numpy(dataset.labels)
    dtype = autocast_dtype(config.precision, device)

    def autocast():
        return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)

    per_step = config.batch_size * world.world_size
    total = int(config.total_kimg * 1000)
    next_grid = _next_multiple(state.images_seen, config.grid_every_kimg)
    next_checkpoint = _next_multiple(state.images_seen, config.checkpoint_every_kimg)
    losses: list[tuple[StepLosses, StepLosses]] = []
    penalty: torch.Tensor | float = float("nan")  # the last R1/R2 penalty, logged if any
    started, steps_done = time.monotonic(), 0
    with progress_bar() as bar:
        task = bar.add_task("training", total=config.total_kimg, completed=state.kimg,
                            unit="kimg", stats="", visible=show_progress and world.is_main)
        while state.images_seen < total:
            objective = Objective.at(config, state.kimg)
            reals, real_labels = real_batch(data, labels, config.batch_size, config.xflip, device)
            d_losses, real_logits = d_step(state, reals, real_labels, policy, config.z_dim,
                                           objective, autocast)
            if config.r1_gamma and state.step % config.r1_every == 0:
                penalty = d_regularize(state, reals, real_labels, policy, config.z_dim,
                                       objective, config.r1_gamma, config.r1_every, world)
            if objective.loss == "relativistic":  # pairs with the reals D just saw
                g_losses = g_step(state, real_labels, policy, config.z_dim, objective,
                                  autocast, real_logits)
            else:  # labels drawn afresh, as before the relativistic loss existed
                fake_labels = labels[torch.randint(len(labels), (config.batch_size,))].to(device)
                g_losses = g_step(state, fake_labels, policy, config.z_dim, objective, autocast)
            update_ema(state, per_step, config.ema_kimg)
            state.step += 1
            state.images_seen += per_step
            steps_done += 1
            losses.append((d_losses, g_losses))
            bar.update(task, completed=state.kimg)
            if state.step % config.log_every_steps == 0:  # every rank, so each list is cleared
                means = LossMeans.of(losses, penalty)  # the one GPU sync of these steps
                losses.clear()
                bar.update(task, stats=means.stats(config.class_loss_weight))
                if world.is_main:
                    rate = steps_done * per_step / (time.monotonic() - started)
                    _log(run_dir, state, means, rate, objective.condition)
            if world.is_main and state.images_seen >= next_grid:
                save_grid(run_dir / f"fakes{int(state.kimg):06d}.png", state.G_ema,
                          dataset.categories, config, dataset.image_size)
                if (run_dir / "log.jsonl").is_file():
                    save_plot(run_dir)
                next_grid = _next_multiple(state.images_seen, config.grid_every_kimg)
            finished = (state.images_seen >= total or stop_after_steps == steps_done
                        or _asked_to_stop(deadline, stop, world, device, state.step))
            if world.is_main and (state.images_seen >= next_checkpoint or finished):
                save_checkpoint(run_dir, state, config)
                next_checkpoint = _next_multiple(state.images_seen, config.checkpoint_every_kimg)
            if finished:
                break


def _asked_to_stop(deadline: float | None, stop: StopRequest | None, world: Distributed,
                   device: torch.device, step: int) -> bool:
    """Whether the wall-clock limit has passed or a signal asked to stop. Under DDP the ranks
    agree every ``DDP_STOP_CHECK_STEPS`` steps, so all stop on the same step, and a signal to
    any rank stops them all."""
    past_deadline = deadline is not None and time.monotonic() >= deadline
    signalled = stop is not None and stop.requested
    if world.world_size == 1:
        return past_deadline or signalled
    if step % DDP_STOP_CHECK_STEPS:
        return False
    flags = torch.tensor([float(past_deadline), float(signalled)], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    past_deadline, signalled = (bool(f) for f in flags.tolist())
    if signalled and stop is not None and not stop.requested:
        stop.signal_name = "a signal to another rank"
    return past_deadline or signalled


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


def _next_multiple(images_seen: int, every_kimg: float) -> int:
    every = max(int(every_kimg * 1000), 1)
    return (images_seen // every + 1) * every


def _log(run_dir: Path, state: TrainState, means: LossMeans, rate: float,
         condition: float) -> None:
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


def _describe(run_dir: Path, config: TrainConfig, model_config: CGANConfig, state: TrainState,
              dataset: TrainingSet) -> None:
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    print(f"run folder (not created): {run_dir}")
    print(json.dumps({"train": asdict(config), "model": model_config.to_dict()}, indent=2))
    print(f"data: {len(dataset.images)} pictures, {len(dataset.categories)} classes, "
          f"{dataset.image_size}px; G {count(state.G) / 1e6:.2f}M params, "
          f"D {count(state.D) / 1e6:.2f}M params; "
          f"autocast {autocast_dtype(config.precision, next(state.G.parameters()).device)}")
