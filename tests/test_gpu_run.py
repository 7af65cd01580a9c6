"""The GPU run's rehearsal: every stage of scripts/gpu_run.sh on the CPU with a tiny config, so
the real run, on a GPU lent for minutes, cannot fail on a typo."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load_file

from ganpage.models.cgan import CGANConfig, CGANGenerator

ROOT = Path(__file__).resolve().parents[1]
FILE_LIMIT, FILES = 16 * 2**20, 8  # what the device tool brings back


def rehearse(out: Path, work: Path, *options: str) -> dict:
    env = {**os.environ, "PYTHON": sys.executable, "GPU_RUN_NO_WHEELS": "1",
           "GPU_RUN_WORK": str(work)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_run.sh"), "--smoke", "--out",
                           str(out), *options], capture_output=True, text=True, env=env,
                          timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads((out / "results.json").read_text())


def load_ema(out: Path) -> CGANGenerator:
    with tarfile.open(out / "run.tar") as tar:
        model_config = json.load(tar.extractfile("model_config.json"))
    net = CGANGenerator(CGANConfig.from_dict(model_config))
    weights = load_file(str(out / "ema.safetensors"))
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.bfloat16}
    net.load_state_dict({k: v.float() for k, v in weights.items()})  # strict: every key
    return net.eval()


def test_smoke_rehearsal_runs_every_stage_and_continue_carries_on(tmp_path):
    first = rehearse(tmp_path / "first", tmp_path / "work")
    files = [p for p in (tmp_path / "first").iterdir() if p.is_file()]
    assert sorted(p.name for p in files) == sorted([
        "results.json", "log.txt", "tests.txt", "grid.png", "ema.safetensors", "G.safetensors",
        "D.safetensors", "run.tar"])
    assert len(files) <= FILES and all(p.stat().st_size <= FILE_LIMIT for p in files)
    assert first["output_problems"] == []
    assert first["tests"]["exit_code"] == 0 and "skipped" in first["tests"]["summary"]
    assert first["speed"]["ganpage_images_per_s"]["32"] > 0
    seen = first["train"]["counters"]["images_seen"]
    assert first["train"]["exit_code"] == 0 and seen > 0
    with torch.no_grad():
        pictures = load_ema(tmp_path / "first")(torch.randn(2, 128), torch.tensor([0, 1]))
    assert torch.isfinite(pictures).all()

    second = rehearse(tmp_path / "second", tmp_path / "work", "--continue",
                      str(tmp_path / "first"))
    assert second["train"]["counters"]["images_seen"] > seen
    with tarfile.open(tmp_path / "second" / "run.tar") as tar:
        config = json.load(tar.extractfile("config.json"))
    assert config["condition_fade_kimg"] > 0  # the recipe's schedule went on with the run
