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
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ganpage.augment import diff_augment, parse_policy
from ganpage.checkpoints import (
    TrainState,
    latest_intact_checkpoint,
    restore,
    rng_states,
    save_checkpoint,
    set_learning_rates,
    unwrap,
    warm_start,
)
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
from ganpage.precision import cpu_has_native_bfloat16
from ganpage.progress import progress_bar
from ganpage.reporting import LossMeans, StepLosses, save_pictures, write_log_row
from ganpage.runs import prepare_run, record_changes, tidy_after_kill, write_run_files
from ganpage.train_config import TrainConfig

DDP_STOP_CHECK_STEPS = 10  # how often DDP ranks agree on stopping (one small all_reduce)


class TrainingStopped(Exception):
    """A signal (Ctrl-C, SIGTERM) stopped training after a step, with a checkpoint written."""

    def __init__(self, run_dir: Path, kimg: float, signal_name: str):
        super().__init__(f"stopped by {signal_name} at {kimg:,.1f} kimg")
        self.run_dir, self.kimg, self.signal_name = run_dir, kimg, signal_name


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
               device: torch.device, styles: torch.Tensor | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A random batch of real pictures in [-1, 1] (B, 3, S, S), with their labels (B,) and,
    when the data has a style label, their styles (B,)."""
    index = torch.randint(len(data), (batch_size,))
    images = data[index.to(data.device)].to(device).float() / 127.5 - 1
    images = images.contiguous(memory_format=torch.channels_last)
    if xflip:
        flip = torch.rand(batch_size) < 0.5
        images[flip.to(device)] = images[flip.to(device)].flip(3)
    return images, labels[index].to(device), _pick(styles, index, device)


def _pick(values: torch.Tensor | None, index: torch.Tensor,
          device: torch.device) -> torch.Tensor | None:
    return None if values is None else values[index].to(device)


def _twice(values: torch.Tensor | None) -> torch.Tensor | None:
    """A label tensor for one D batch of reals then fakes drawn for the same labels."""
    return None if values is None else torch.cat([values, values])


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
           z_dim: int, objective: Objective, autocast,
           styles: torch.Tensor | None = None) -> tuple[StepLosses, torch.Tensor]:
    """Adversarial loss on augmented reals and fakes, plus the weighted class loss on the reals;
    one Adam step of D. Returns the losses and D's logits of the reals (detached), which the
    relativistic G loss pairs its fakes with.

    Reals and fakes go through D as one batch: D has no batch statistics, so this equals two
    passes, is faster, and is what DDP needs (one forward per backward). Fakes are drawn for
    the reals' labels (and styles)."""
    d_loss, _, _ = adversarial_loss(objective.loss)
    z = torch.randn(len(labels), z_dim, device=reals.device)
    with torch.no_grad(), autocast():
        fakes = state.G(z, labels, objective.condition, styles)
    with autocast():
        images = torch.cat([diff_augment(reals, policy), diff_augment(fakes.float(), policy)])
        realness, class_logits = state.D(images, torch.cat([labels, labels]),
                                         objective.condition, _twice(styles))
        real_logits, fake_logits = realness.float().chunk(2)
        adversarial = d_loss(real_logits, fake_logits)
        classification = F.cross_entropy(class_logits[:len(labels)].float(), labels)
        loss = adversarial + objective.class_loss_weight * classification
    state.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_d.step()
    return StepLosses(adversarial.detach(), classification.detach()), real_logits.detach()


def g_step(state: TrainState, labels: torch.Tensor, policy: list[str], z_dim: int,
           objective: Objective, autocast, real_logits: torch.Tensor | None = None,
           styles: torch.Tensor | None = None) -> StepLosses:
    """G's adversarial loss through the augmented discriminator, plus the weighted class loss
    (D should name the class each fake was drawn for) and the mode-seeking term. The
    relativistic loss pairs each fake with ``real_logits`` of the same class (``labels`` are
    the ones ``d_step`` drew its fakes for)."""
    _, g_loss, needs_reals = adversarial_loss(objective.loss)
    if objective.diversity_loss_weight:  # pairs of one class (and style), different noise
        half = len(labels) // 2
        labels = labels[:half].repeat(2)
        if real_logits is not None:
            real_logits = real_logits[:half].repeat(2)
        if styles is not None:
            styles = styles[:half].repeat(2)
    z = torch.randn(len(labels), z_dim, device=labels.device)
    with autocast():
        fakes = state.G(z, labels, objective.condition, styles)
        realness, class_logits = state.D(diff_augment(fakes.float(), policy), labels,
                                         objective.condition, styles)
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
                 every: int, world: Distributed,
                 styles: torch.Tensor | None = None) -> torch.Tensor:
    """One lazy-regularisation step of D (StyleGAN2): gamma/2 (R1 + R2) times ``every``, in
    float32, on the same augmented inputs D trains on. It runs on the unwrapped D (DDP does not
    support double backward) and averages the gradients across ranks itself. Returns the
    mean squared gradient norm."""
    z = torch.randn(len(labels), z_dim, device=reals.device)
    with torch.no_grad():
        fakes = state.G(z, labels, objective.condition, styles)
    images = torch.cat([diff_augment(reals, policy), diff_augment(fakes.float(), policy)])
    penalty = gradient_penalty(unwrap(state.D), images, torch.cat([labels, labels]),
                               objective.condition, _twice(styles))
    state.opt_d.zero_grad(set_to_none=True)
    (gamma * penalty * every).backward()  # mean over both halves = (R1 + R2) / 2
    if world.world_size > 1:
        for parameter in unwrap(state.D).parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= world.world_size
    state.opt_d.step()
    return penalty.detach()


@torch.no_grad()
def update_ema(state: TrainState, batch_size: int, ema_kimg: float) -> None:
    """G_ema <- beta G_ema + (1 - beta) G, with beta set by the half-life; buffers copied."""
    beta = 0.5 ** (batch_size / max(ema_kimg * 1000, 1e-8))
    G = unwrap(state.G)
    # one fused kernel per list instead of one per tensor (dozens of small launches on a GPU)
    torch._foreach_lerp_(list(state.G_ema.parameters()), [p.detach() for p in G.parameters()],
                         1 - beta)
    torch._foreach_copy_(list(state.G_ema.buffers()), list(G.buffers()))


# -- processes ------------------------------------------------------------------------------


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    active: bool = False  # launched by torchrun: a process group, DDP, one GPU per rank

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Distributed:
    """Join the torchrun process group when launched by torchrun (one process too, so that
    ``--nproc-per-node 1`` runs the path several GPUs run); a no-op otherwise."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return Distributed()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size(), local_rank, active=True)


def gather_rng_states(world: Distributed) -> list[dict]:
    """Every rank's RNG states, in rank order (a collective: all ranks call it)."""
    if not world.active:
        return [rng_states()]
    gathered: list = [None] * world.world_size
    dist.all_gather_object(gathered, rng_states())
    return gathered


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
    tests. Every setting is checked before anything is written."""
    run_dir, config, changed = prepare_run(config, resume, changes)
    config.validate()
    world = init_distributed(config.device)
    device = torch.device("cuda", world.local_rank) if (
        config.device.startswith("cuda") and world.active) else torch.device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        dataset = load_training_set(config.data, config.style_label)
        model_config = config.model_config(len(dataset.categories), dataset.image_size,
                                           len(dataset.style_names))
        torch.manual_seed(config.seed + world.rank)
        state = build_state(config, model_config, device)
        if dry_run:
            _describe(run_dir, config, model_config, state, dataset)
            return run_dir
        if resume is not None:
            _resume(run_dir, state, config, world)
        elif config.init_from:
            started = warm_start(state, Path(config.init_from))
            if world.is_main:
                grown = (f", grown to widths G {config.g_channels} / D {config.d_channels} "
                         "(the new channels start silent)" if started.grown else "")
                print(f"networks start as {started.checkpoint}{grown}")
        if changed and world.is_main:
            record_changes(run_dir, changed, state.kimg)
        if world.active:
            state.G = nn.parallel.DistributedDataParallel(state.G)
            state.D = nn.parallel.DistributedDataParallel(state.D)
        if world.is_main:
            write_run_files(run_dir, config, model_config, dataset.categories,
                            dataset.style_names)
        deadline = (None if stop_after_minutes is None
                    else time.monotonic() + 60 * stop_after_minutes)
        with stop_on_signals() as stop, fastest_kernels(device):
            _loop(run_dir, config, state, dataset, device, world, show_progress,
                  stop_after_steps, deadline, stop)
    finally:
        if world.active:
            dist.destroy_process_group()
    if stop.requested:
        raise TrainingStopped(run_dir, state.kimg, stop.signal_name)
    return run_dir


def _resume(run_dir: Path, state: TrainState, config: TrainConfig, world: Distributed) -> None:
    """The newest intact checkpoint back in place (damaged ones skipped, each named once)."""
    note = print if world.is_main else (lambda _: None)
    if world.is_main:
        tidy_after_kill(run_dir)
    found = latest_intact_checkpoint(run_dir, note)
    if found is not None:
        restore(state, found[1], world.rank, world.world_size, note)
        set_learning_rates(state, config)


def _loop(run_dir: Path, config: TrainConfig, state: TrainState, dataset: TrainingSet,
          device: torch.device, world: Distributed, show_progress: bool,
          stop_after_steps: int | None, deadline: float | None = None,
          stop: StopRequest | None = None) -> None:
    policy = parse_policy(config.augment)
    data = torch.from_numpy(dataset.images).to(device)  # uint8: 74 MB for 6,000 at 64 px
    labels = torch.from_numpy(dataset.labels)
    styles = None if dataset.styles is None else torch.from_numpy(dataset.styles)
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
                            unit="kimg", stats="", deadline=deadline,
                            visible=show_progress and world.is_main)
        while state.images_seen < total:
            objective = Objective.at(config, state.kimg)
            reals, real_labels, real_styles = real_batch(data, labels, config.batch_size,
                                                         config.xflip, device, styles)
            d_losses, real_logits = d_step(state, reals, real_labels, policy, config.z_dim,
                                           objective, autocast, real_styles)
            if config.r1_gamma and state.step % config.r1_every == 0:
                penalty = d_regularize(state, reals, real_labels, policy, config.z_dim,
                                       objective, config.r1_gamma, config.r1_every, world,
                                       real_styles)
            if objective.loss == "relativistic":  # pairs with the reals D just saw
                g_losses = g_step(state, real_labels, policy, config.z_dim, objective,
                                  autocast, real_logits, real_styles)
            else:  # labels drawn afresh, as before the relativistic loss existed
                index = torch.randint(len(labels), (config.batch_size,))
                g_losses = g_step(state, labels[index].to(device), policy, config.z_dim,
                                  objective, autocast, styles=_pick(styles, index, device))
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
                    write_log_row(run_dir, state, means, rate, objective.condition)
            if world.is_main and state.images_seen >= next_grid:
                save_pictures(run_dir, state, dataset.categories, config, dataset.image_size)
                next_grid = _next_multiple(state.images_seen, config.grid_every_kimg)
            finished = (state.images_seen >= total or stop_after_steps == steps_done
                        or _asked_to_stop(deadline, stop, world, device, state.step))
            if state.images_seen >= next_checkpoint or finished:  # every rank: RNGs gathered
                rng_by_rank = gather_rng_states(world)
                if world.is_main:
                    save_checkpoint(run_dir, state, config, rng_by_rank)
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


def _next_multiple(images_seen: int, every_kimg: float) -> int:
    every = max(int(every_kimg * 1000), 1)
    return (images_seen // every + 1) * every


def _describe(run_dir: Path, config: TrainConfig, model_config: CGANConfig, state: TrainState,
              dataset: TrainingSet) -> None:
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    print(f"run folder (not created): {run_dir}")
    print(json.dumps({"train": asdict(config), "model": model_config.to_dict()}, indent=2))
    print(f"data: {len(dataset.images)} pictures, {len(dataset.categories)} classes, "
          f"{dataset.image_size}px; G {count(state.G) / 1e6:.2f}M params, "
          f"D {count(state.D) / 1e6:.2f}M params; "
          f"autocast {autocast_dtype(config.precision, next(state.G.parameters()).device)}")
