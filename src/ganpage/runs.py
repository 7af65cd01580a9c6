"""Run folders: ``runs/00007-emoji64-64/`` with the resolved config, the classes and the
networks' shapes; what a resume may change and its record in ``config_changes.jsonl``; and
tidying a folder a killed run left (half-written files, a torn last log line)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from PIL import Image

from ganpage.atomic import atomic_write_text, remove_stale_temporaries
from ganpage.checkpoints import CheckpointError
from ganpage.errors import GanpageError
from ganpage.models.cgan import CGANConfig
from ganpage.train_config import RESUME_CHANGEABLE, TrainConfig

STYLES = "styles.json"  # a style-labelled run's style names, in id order (also in its export)

def new_run_dir(out: Path, data: Path, image_size: int) -> Path:
    """The next numbered run folder: ``out/00007-<data name>-<size>``."""
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:5]) for p in out.iterdir() if p.is_dir() and p.name[:5].isdigit()]
    number = max(numbers, default=-1) + 1
    return out / f"{number:05d}-{data.name}-{image_size}"


def prepare_run(config: TrainConfig, resume: Path | None,
                changes: dict | None = None) -> tuple[Path, TrainConfig, dict]:
    """The run folder, the config to use and what ``changes`` (the options given on the command
    line) changed in a resumed run's config, as {field: [old, new]}."""
    if resume is None:
        data = Path(config.data)
        image_size = load_image_size(data)
        return new_run_dir(Path(config.out), data, image_size), config, {}
    if not resume.is_dir():
        raise GanpageError(f"no run folder at {resume}; give the folder `ganpage train` printed "
                           "(runs/00003-emoji64-64, say)")
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


def write_run_files(run_dir: Path, config: TrainConfig, model_config: CGANConfig,
                    categories, style_names: list[str] | None = None) -> None:
    """config.json, model_config.json, classes.json and, with a style label, styles.json (the
    style names in id order), each written atomically."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2) + "\n")
    atomic_write_text(run_dir / "model_config.json",
                      json.dumps(model_config.to_dict(), indent=2) + "\n")
    atomic_write_text(run_dir / "classes.json",
                      json.dumps(categories.to_dicts(), indent=1) + "\n")
    if style_names:
        atomic_write_text(run_dir / STYLES, json.dumps(style_names, indent=1) + "\n")


def tidy_after_kill(run_dir: Path) -> None:
    """What a killed run leaves: temporary files of an unfinished write, and a last log line
    cut short (the next row would be glued to it)."""
    remove_stale_temporaries(run_dir)
    log = run_dir / "log.jsonl"
    if log.is_file():
        data = log.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            log.write_bytes(data[:cut])
