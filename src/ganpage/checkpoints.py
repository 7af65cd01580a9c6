"""Checkpoints of a training run: what they hold, how they are written, checked and restored.

A checkpoint ``ckpt-0012000.pt`` (named by images seen; more digits past 9,999,999) holds plain
state dicts of G, D and the EMA G, both optimisers, the counters, every rank's RNG states and a
SHA-256 of all its tensors. It is written atomically and read as data only
(``torch.load(weights_only=True)``); one whose digest, keys or counters are wrong is refused in
one line, and a resume falls back to the newest intact one.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from ganpage.atomic import atomic_write_with
from ganpage.errors import GanpageError
from ganpage.models.cgan import CGANConfig, CGANDiscriminator, CGANGenerator
from ganpage.train_config import TrainConfig
from ganpage.widen import WidenError, widen_state_dict

CHECKPOINT = re.compile(r"^ckpt-(\d{7,})\.pt$")
KEEP_CHECKPOINTS = 3
CHANNELS = {"G": "g_channels", "D": "d_channels"}  # each network's width in a run's config
REQUIRED = ("step", "images_seen", "config", "G", "D", "G_ema", "opt_g", "opt_d", "rng_torch")


class CheckpointError(GanpageError):
    """A checkpoint that is missing, truncated, corrupt or from another config."""


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


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (or the network itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


# -- finding ----------------------------------------------------------------------------------


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first, ordered by the images seen in their names (not by
    the names as text: ``ckpt-10000000.pt`` comes after ``ckpt-9990000.pt``)."""
    found = [(int(match[1]), p) for p in run_dir.glob("ckpt-*.pt")
             if (match := CHECKPOINT.match(p.name))]
    return [path for _, path in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    paths = checkpoint_paths(run_dir)
    return paths[-1] if paths else None


def latest_intact_checkpoint(run_dir: Path, note=print) -> tuple[Path, dict] | None:
    """The newest checkpoint that loads and checks out, with its payload; each one skipped is
    named through ``note`` in one line. None when the run has none at all."""
    paths = checkpoint_paths(run_dir)
    for path in reversed(paths):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as error:
            note(f"skipping {path.name}: {error}")
    if paths:
        raise CheckpointError(f"no intact checkpoint in {run_dir}; start a new run")
    return None


# -- writing ----------------------------------------------------------------------------------


def tensor_digest(value: object) -> str:
    """SHA-256 over every tensor in a nested dict/list, with its path, dtype and shape."""
    digest = hashlib.sha256()
    _feed(digest, "", value)
    return digest.hexdigest()


def _feed(digest, path: str, value: object) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{path}|{tensor.dtype}|{tuple(value.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            _feed(digest, f"{path}/{key}", value[key])
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _feed(digest, f"{path}/{index}", item)


def rng_states() -> dict:
    """This process's random number generator states (the CPU's, and the current GPU's)."""
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def save_checkpoint(run_dir: Path, state: TrainState, config: TrainConfig,
                    rng_by_rank: list[dict] | None = None) -> Path:
    """State dicts, counters, each rank's RNG states (``rng_by_rank``; this process's alone
    when None) and their digest, written atomically; the oldest beyond KEEP_CHECKPOINTS go."""
    rng_by_rank = rng_by_rank or [rng_states()]
    payload = {
        "step": state.step, "images_seen": state.images_seen, "config": asdict(config),
        "G": unwrap(state.G).state_dict(), "D": unwrap(state.D).state_dict(),
        "G_ema": state.G_ema.state_dict(),
        "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(),
        "rng_torch": rng_by_rank[0]["torch"], "rng_by_rank": rng_by_rank,
    }
    payload["sha256"] = tensor_digest(payload)
    path = run_dir / f"ckpt-{state.images_seen:07d}.pt"
    atomic_write_with(path, lambda temporary: torch.save(payload, temporary))
    for old in checkpoint_paths(run_dir)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


# -- reading ----------------------------------------------------------------------------------


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint as data only (``weights_only=True``) and check it: its keys, its
    counters and, when it has one, the digest of its tensors. One-line errors."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(f"no checkpoint at {path}") from error
    except (RuntimeError, EOFError, pickle.UnpicklingError, OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path} is truncated or corrupt ({first[:160]}); delete it to "
                              "resume from the one before") from error
    _check(path, payload)
    return payload


def _check(path: Path, payload: object) -> None:
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a ganpage checkpoint (no dict inside)")
    missing = [key for key in REQUIRED if key not in payload]
    if missing:
        raise CheckpointError(f"{path} is not a ganpage checkpoint (no {missing[0]!r}); "
                              "delete it to resume from the one before")
    for key in ("step", "images_seen"):
        value = payload[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CheckpointError(f"{path} has an invalid {key} ({value!r}); delete it to "
                                  "resume from the one before")
    if "sha256" in payload:  # checkpoints before the digest have none
        body = {key: value for key, value in payload.items() if key != "sha256"}
        if tensor_digest(body) != payload["sha256"]:
            raise CheckpointError(f"{path} does not match its digest (its data changed after "
                                  "it was written); delete it to resume from the one before")


def restore(state: TrainState, payload: dict, rank: int = 0, world_size: int = 1,
            note=print) -> None:
    """Put a checkpoint's weights, optimisers, counters and this rank's RNG back in place. A
    run resumed wider (``--g-channels``/``--d-channels`` above the checkpoint's) grows the
    networks (``ganpage.widen``); a grown network's optimiser starts afresh."""
    widths = source_widths(payload)
    try:
        for name, optimizer in (("G", state.opt_g), ("D", state.opt_d)):
            if _load_or_grow(unwrap(getattr(state, name)), payload[name], widths):
                note(f"{name} grew from the checkpoint's width {widths[CHANNELS[name]]}: its "
                     "optimiser starts afresh")
            else:
                optimizer.load_state_dict(payload[f"opt_{name.lower()}"])
        _load_or_grow(state.G_ema, payload["G_ema"], widths)
    except (RuntimeError, ValueError, KeyError, WidenError) as error:
        raise CheckpointError(f"the checkpoint does not fit this run's networks "
                              f"({load_error_detail(error)}); resume with the run's own "
                              "settings (widths may grow)") from error
    state.step, state.images_seen = int(payload["step"]), int(payload["images_seen"])
    restore_rng(payload, rank, world_size, state.step, note)


def restore_rng(payload: dict, rank: int, world_size: int, step: int, note=print) -> None:
    """Each rank takes back its own RNG states. A checkpoint from another number of ranks (or
    one before per-rank states) gives rank r fresh states seeded by (step, r), said once, so
    ranks never draw the same batches."""
    by_rank = payload.get("rng_by_rank")
    if by_rank is not None and len(by_rank) == world_size:
        torch.set_rng_state(by_rank[rank]["torch"])
        if "cuda" in by_rank[rank] and torch.cuda.is_available():
            torch.cuda.set_rng_state(by_rank[rank]["cuda"])
    elif world_size == 1:
        torch.set_rng_state(payload["rng_torch"])
        if "rng_cuda" in payload and torch.cuda.is_available():  # older checkpoints
            torch.cuda.set_rng_state_all(payload["rng_cuda"])
    else:
        saved = len(by_rank) if by_rank is not None else 1
        if rank == 0:
            note(f"the checkpoint holds RNG states of {saved} rank(s), this run has "
                 f"{world_size}: each rank draws from a fresh seed from here on")
        torch.manual_seed(_mix(step, rank))


def _mix(step: int, rank: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{step}/{rank}".encode()).digest()[:8], "little")


@dataclass(frozen=True)
class WarmStart:
    """Where a new run's networks came from, and whether they grew wider on the way."""

    checkpoint: Path
    grown: bool


def warm_start(state: TrainState, source: Path) -> WarmStart:
    """Begin a new run's networks as ``source``'s (a checkpoint file, or a run folder's newest
    intact one). The classes, styles and resolution must match; wider networks
    (``--g-channels``/``--d-channels``) grow from narrower ones and start by drawing what they
    drew (``ganpage.widen``)."""
    if source.is_dir():
        found = latest_intact_checkpoint(source)
        if found is None:
            raise CheckpointError(f"no checkpoint in {source} to start from")
        path, payload = found
    else:
        path, payload = source, load_checkpoint(source)
    widths = source_widths(payload)
    try:
        grown = [_load_or_grow(unwrap(getattr(state, name)), payload[name], widths)
                 for name in ("G", "D")]
        _load_or_grow(state.G_ema, payload["G_ema"], widths)
    except (RuntimeError, WidenError) as error:
        raise CheckpointError(f"{path} does not fit this run's networks "
                              f"({load_error_detail(error)}); give the same classes, styles and "
                              "resolution as its run, and --g-channels/--d-channels at least its "
                              "widths") from error
    return WarmStart(path, any(grown))


def load_error_detail(error: Exception) -> str:
    """The line of a failed ``load_state_dict`` (or widening) that names what differs: its
    first line only says "Error(s) in loading state_dict for CGANGenerator:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    detail = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]
    return detail[:200]


def checkpoint_model_config(run_dir: Path, payload: dict) -> CGANConfig:
    """The networks of one of the run's checkpoints: the run's ``model_config.json`` at the
    widths that checkpoint was trained at (a resume that grows a run rewrites the file before
    its first wider checkpoint, and older checkpoints stay narrower)."""
    config = CGANConfig.from_dict(json.loads((run_dir / "model_config.json").read_text()))
    return replace(config, **source_widths(payload))


def source_widths(payload: dict) -> dict[str, int]:
    """The widths a checkpoint's networks were trained at (its run's g_channels, d_channels)."""
    config = payload.get("config") or {}
    return {key: config[key] for key in CHANNELS.values() if isinstance(config.get(key), int)}


def _load_or_grow(net: nn.Module, trained: dict[str, torch.Tensor],
                  widths: dict[str, int]) -> bool:
    """Load ``trained`` into ``net``; if ``net`` is wider, check ``trained`` against a network
    at its checkpoint's ``widths`` and otherwise ``net``'s config (classes, styles, resolution),
    then grow it. Whether it grew."""
    fresh = net.state_dict()
    if all(name not in fresh or tensor.shape == fresh[name].shape
           for name, tensor in trained.items()):
        net.load_state_dict(trained)  # strict: names are checked here
        return False
    type(net)(replace(net.config, **widths)).load_state_dict(trained)  # all but widths the same
    net.load_state_dict(widen_state_dict(trained, fresh))
    return True


def set_learning_rates(state: TrainState, config: TrainConfig) -> None:
    """The config's learning rates, over the ones a restored optimiser state carries."""
    for optimizer, lr in ((state.opt_g, config.g_lr), (state.opt_d, config.d_lr)):
        for group in optimizer.param_groups:
            group["lr"] = lr
