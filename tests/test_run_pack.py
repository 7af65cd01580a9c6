"""A run packed into a few small files (ganpage.run_pack) and unpacked on another machine: the
same networks in bfloat16, the run's files and counters, a resume that goes on from there."""

from __future__ import annotations

import json

import pytest
import torch

from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.data.synthetic import write_noise_dataset
from ganpage.run_pack import PackError, pack_run, unpack_run
from ganpage.train import train
from ganpage.train_config import TrainConfig


def tiny_style_run(tmp_path, steps: int = 3):
    data = write_noise_dataset(tmp_path / "data" / "styled", classes=3, per_class=6, styles=2)
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), total_kimg=1.0,
                         batch_size=4, z_dim=8, embed_dim=8, g_channels=4, d_channels=4,
                         style_label="source", style_dim=4, grid_every_kimg=1.0,
                         checkpoint_every_kimg=1.0, log_every_steps=1, grid_classes=2,
                         grid_seeds=2, threads=1, precision="float32")
    return train(config, show_progress=False, stop_after_steps=steps), data


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack")
    run, data = tiny_style_run(root)
    counters = pack_run(run, root / "packed")
    return run, data, root / "packed", counters


def test_pack_writes_bf16_networks_the_runs_files_and_a_grid(packed):
    run, _, folder, counters = packed
    assert counters == {"step": 3, "images_seen": 12, "checkpoint": "ckpt-0000012.pt"}
    assert sorted(p.name for p in folder.iterdir()) == [
        "D.safetensors", "G.safetensors", "ema.safetensors", "grid.png", "run.tar"]
    checkpoint = latest_checkpoint(run)
    assert sum(p.stat().st_size for p in folder.glob("*.safetensors")) < (
        checkpoint.stat().st_size / 2.5)  # no optimiser moments, half-width floats


def test_unpack_gives_a_run_that_resumes_from_the_same_networks(packed, tmp_path):
    run, data, folder, _ = packed
    target = unpack_run(folder, tmp_path / "moved", data)
    original = load_checkpoint(latest_checkpoint(run))
    moved = load_checkpoint(latest_checkpoint(target))
    assert (moved["step"], moved["images_seen"]) == (3, 12)
    for key in ("G", "D", "G_ema"):
        for name, tensor in original[key].items():
            if tensor.is_floating_point():
                assert torch.equal(moved[key][name], tensor.to(torch.bfloat16).float()), name
    assert json.loads((target / "styles.json").read_text()) == ["style 0", "style 1"]
    assert not (target / "counters.json").exists()
    config = TrainConfig.from_dict(json.loads((target / "config.json").read_text()))
    train(config, resume=target, show_progress=False, stop_after_steps=1)
    assert load_checkpoint(latest_checkpoint(target))["step"] == 4


def test_unpack_refuses_other_labels_a_used_folder_and_missing_files(packed, tmp_path):
    _, data, folder, _ = packed
    other_classes = write_noise_dataset(tmp_path / "other", classes=2, per_class=6, styles=2)
    with pytest.raises(PackError, match="other classes"):
        unpack_run(folder, tmp_path / "a", other_classes)
    other_styles = write_noise_dataset(tmp_path / "styles3", classes=3, per_class=6, styles=3)
    with pytest.raises(PackError, match="other values of 'source'"):
        unpack_run(folder, tmp_path / "b", other_styles)
    unpack_run(folder, tmp_path / "c", data)
    with pytest.raises(PackError, match="already holds a run"):
        unpack_run(folder, tmp_path / "c", data)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "run.tar").write_bytes((folder / "run.tar").read_bytes())
    with pytest.raises(PackError, match="lacks ema.safetensors, G.safetensors, D.safetensors"):
        unpack_run(tmp_path / "half", tmp_path / "d", data)


def test_the_commands_pack_and_unpack_in_one_line_each(packed, tmp_path):
    from typer.testing import CliRunner

    from ganpage.cli import app

    run, data, _, _ = packed
    runner = CliRunner()
    packing = runner.invoke(app, ["run", "pack", str(run), "--out", str(tmp_path / "p")])
    assert packing.exit_code == 0 and "at 0.0 kimg in" in packing.output
    unpacking = runner.invoke(app, ["run", "unpack", str(tmp_path / "p"), "--data", str(data),
                                    "--out", str(tmp_path / "r")])
    assert unpacking.exit_code == 0, unpacking.output
    assert f"ganpage train --resume {tmp_path / 'r'}" in unpacking.output
    again = runner.invoke(app, ["run", "unpack", str(tmp_path / "p"), "--data", str(data),
                                "--out", str(tmp_path / "r")])
    # a GanpageError: ganpage's main() prints it as one line, exit 2 (tests/test_cli.py)
    assert isinstance(again.exception, PackError) and "already holds" in str(again.exception)


def test_a_run_that_died_growing_packs_and_exports_its_checkpoints_widths(tmp_path,
                                                                          monkeypatch):
    from ganpage import train as train_module
    from ganpage.export import export_run
    from ganpage.models.loading import load_generator
    run, data = tiny_style_run(tmp_path, steps=2)
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("out of memory")  # before the first wider checkpoint

    monkeypatch.setattr(train_module, "_loop", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        train(config, resume=run, show_progress=False, changes={"g_channels": 8})
    assert json.loads((run / "model_config.json").read_text())["g_channels"] == 8
    assert load_generator(export_run(run, tmp_path / "model")).net.config.g_channels == 4
    pack_run(run, tmp_path / "packed")
    moved = unpack_run(tmp_path / "packed", tmp_path / "moved", data)
    assert json.loads((moved / "model_config.json").read_text())["g_channels"] == 4
    monkeypatch.undo()
    train(config, resume=moved, show_progress=False, stop_after_steps=1,
          changes={"g_channels": 8})  # grows again from the packed narrow networks
    assert load_checkpoint(latest_checkpoint(moved))["G"]["to_rgb.weight"].shape[1] == 8
