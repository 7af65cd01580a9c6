"""The GPU run's rehearsal: every stage of scripts/gpu_run.sh on the CPU with a tiny config, so
the real run, on a GPU lent for minutes, cannot fail on a typo."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganpage.categories import CategorySet
from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.export import export_run
from ganpage.models import load_generator
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


@pytest.mark.slow
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
        pictures = load_ema(tmp_path / "first")(torch.randn(2, 128), torch.tensor([0, 1]),
                                                styles=torch.tensor([0, 1]))
    assert torch.isfinite(pictures).all()

    second = rehearse(tmp_path / "second", tmp_path / "work", "--continue",
                      str(tmp_path / "first"), "--width", "8")  # grown from the smoke's 4
    assert second["train"]["counters"]["images_seen"] > seen
    with tarfile.open(tmp_path / "second" / "run.tar") as tar:
        config = json.load(tar.extractfile("config.json"))
        model_config = json.load(tar.extractfile("model_config.json"))
    assert config["condition_fade_kimg"] > 0  # the recipe's schedule went on with the run
    assert {config[k] for k in ("g_channels", "d_channels")} == {8}
    assert {model_config[k] for k in ("g_channels", "d_channels")} == {8}
    assert load_ema(tmp_path / "second") is not None  # strict: every grown tensor came back
    unpack_for_release(tmp_path / "second", tmp_path / "work" / "data" / "tiny", tmp_path,
                       second["train"]["counters"]["images_seen"])


def unpack_for_release(out: Path, data: Path, tmp_path: Path, images_seen: int) -> None:
    """What comes back from the GPU becomes a run folder here that exports and draws (the
    path to scripts/release_model.py) and that `ganpage train --resume` takes."""
    from typer.testing import CliRunner

    from ganpage.cli import app
    from ganpage.run_pack import PackError

    # `ganpage run unpack` in this process (a torch start-up less each); its one-line errors
    # as a process are tests/test_cli.py's
    run = tmp_path / "runs" / "v2"
    unpack = ["run", "unpack", str(out), "--data", str(data), "--out", str(run)]
    unpacked = CliRunner().invoke(app, unpack)
    assert unpacked.exit_code == 0, unpacked.output
    payload = load_checkpoint(latest_checkpoint(run))
    assert payload["images_seen"] == images_seen
    ema = load_file(str(out / "ema.safetensors"))
    assert all(torch.equal(payload["G_ema"][k], v.float()) for k, v in ema.items())
    generator = load_generator(export_run(run, tmp_path / "model", "emoji64-v2"))
    assert len(generator.sample([0, 1], [0, 1], 0.7)) == 2
    again = CliRunner().invoke(app, unpack)
    assert isinstance(again.exception, PackError) and "already holds" in str(again.exception)
    resumed = subprocess.run([sys.executable, "-m", "ganpage", "train", "--resume", str(run),
                              "--kimg", str(images_seen / 1000 + 0.05), "--threads", "1"],
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert load_checkpoint(latest_checkpoint(run))["images_seen"] > images_seen


def test_the_output_check_counts_results_json_before_it_is_written(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import gpu_run

    for index in range(FILES):
        (tmp_path / f"file{index}.bin").write_bytes(b"x")
    noted: list[str] = []
    assert gpu_run.check_outputs(tmp_path, noted.append) == ["9 files (at most 8 come back)"]
    (tmp_path / "file0.bin").rename(tmp_path / "results.json")  # written already: 8 in all
    assert gpu_run.check_outputs(tmp_path, noted.append) == []
    assert noted == ["OUTPUT PROBLEM: 9 files (at most 8 come back)"]


def write_classes(path: Path, names: list[str]) -> None:
    path.write_text(json.dumps(CategorySet.from_names(names).to_dicts()))


def test_unpacking_a_wrong_folder_is_one_line(tmp_path):
    """rebuild_run is ganpage.run_pack's unpack_run (tests/test_run_pack.py), its errors one
    line each, as the script's exit message."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import gpu_run

    out = tmp_path / "out"
    out.mkdir()
    with tarfile.open(out / "run.tar", "w") as tar:
        write_classes(tmp_path / "classes.json", ["Cat", "Dog"])
        tar.add(tmp_path / "classes.json", arcname="classes.json")
    data = tmp_path / "data"
    data.mkdir()
    write_classes(data / "classes.json", ["Dog", "Cat"])
    with pytest.raises(SystemExit, match="^error: .*lacks ema.safetensors.*not a packed run"):
        gpu_run.rebuild_run(out, tmp_path / "run", data, "cpu")


def test_width_is_refused_without_a_run_to_grow(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "GPU_RUN_NO_WHEELS": "1"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_run.sh"), "--fresh", "--width",
                           "48", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and "--width grows a continued run" in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_committed_run_is_continued_unless_another_or_a_fresh_one_is_asked_for(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import gpu_run

    committed, other = tmp_path / "emoji-v2", tmp_path / "other"
    assert gpu_run.run_to_continue(None, False, False, committed) is None  # not committed yet
    committed.mkdir()
    assert gpu_run.run_to_continue(None, False, False, committed) == committed
    assert gpu_run.run_to_continue(other, False, False, committed) == other
    assert gpu_run.run_to_continue(None, True, False, committed) is None
    assert gpu_run.run_to_continue(None, False, True, committed) is None
