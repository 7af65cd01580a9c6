from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganpage import train as train_module
from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.data.dataset import DatasetError, DatasetWriter, load_training_set
from ganpage.data.synthetic import write_noise_dataset
from ganpage.errors import GanpageError
from ganpage.export import export_run
from ganpage.models import load_generator
from ganpage.train import autocast_dtype, train
from helpers.training import assert_same_networks, make_dataset, straight_and_resumed, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


def test_a_few_steps_give_finite_losses_grids_plot_and_checkpoint(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=4)
    assert run.name == "00000-shapes-32"
    log = [line for line in (run / "log.jsonl").read_text().splitlines() if line]
    assert len(log) == 4
    import json
    assert all(np.isfinite(json.loads(r)["d_loss"]) for r in log)
    assert (run / "fakes000000.png").is_file() and (run / "losses.png").is_file()
    with Image.open(run / "fakes000000.png") as grid:
        assert grid.size == (3 * 32, 2 * 32)
    assert latest_checkpoint(run).name == "ckpt-0000016.pt"
    assert train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                 stop_after_steps=1).name == "00001-shapes-32"


def test_a_time_limit_stops_with_a_checkpoint_that_resume_continues(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs", total_kimg=1000), show_progress=False,
                stop_after_minutes=0)
    assert load_checkpoint(latest_checkpoint(run))["step"] == 1
    train(tiny_config(dataset, tmp_path / "runs", total_kimg=1000), resume=run,
          show_progress=False, stop_after_minutes=0)
    assert load_checkpoint(latest_checkpoint(run))["step"] == 2


def test_the_progress_eta_of_a_time_limited_run_is_its_time_limit(dataset, tmp_path, capsys):
    train(tiny_config(dataset, tmp_path / "runs", total_kimg=100_000), stop_after_minutes=0)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("training: ") and "ETA 0.0 min (time limit)" in last


def test_resume_takes_changed_loss_weights_and_learning_rate_and_records_them(dataset,
                                                                              tmp_path):
    import json
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False, stop_after_steps=2)
    changes = {"class_loss_weight": 0.5, "g_lr": 1e-4, "total_kimg": 2.0}
    train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
          stop_after_steps=1, changes=changes)
    saved = json.loads((run / "config.json").read_text())
    assert (saved["class_loss_weight"], saved["g_lr"], saved["total_kimg"]) == (0.5, 1e-4, 2.0)
    history = [json.loads(line) for line in (run / "config_changes.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["kimg"] == pytest.approx(0.008)
    assert history[0]["changed"]["class_loss_weight"] == [0.0, 0.5]
    assert set(history[0]["changed"]) == {"class_loss_weight", "g_lr", "total_kimg"}
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert checkpoint["opt_g"]["param_groups"][0]["lr"] == 1e-4  # not the restored 2e-4
    assert checkpoint["opt_d"]["param_groups"][0]["lr"] == 2e-4


def test_resume_refuses_changes_to_the_networks_or_data(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False, stop_after_steps=1)
    with pytest.raises(GanpageError, match="cannot change batch_size, z_dim"):
        train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
              changes={"z_dim": 16, "batch_size": 2, "class_loss_weight": 1.0})
    train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
          stop_after_steps=1, changes={"g_channels": tiny_config(dataset, tmp_path).g_channels})
    assert not (run / "config_changes.jsonl").exists()  # the same value is no change


def test_a_run_resumed_wider_grows_and_goes_on(dataset, tmp_path, capsys):
    import json
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False, stop_after_steps=2)
    before = load_checkpoint(latest_checkpoint(run))
    train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
          stop_after_steps=1, changes={"g_channels": 8})
    assert "G grew from the checkpoint's width 4: its optimiser starts afresh" in (
        capsys.readouterr().out)
    after = load_checkpoint(latest_checkpoint(run))
    assert after["step"] == 3 and after["G"]["to_rgb.weight"].shape[1] == 8
    assert after["D"]["linear.weight_orig"].shape == before["D"]["linear.weight_orig"].shape
    steps = {name: float(after[f"opt_{name}"]["state"][0]["step"]) for name in ("g", "d")}
    assert steps == {"g": 1.0, "d": 3.0}  # G's Adam starts afresh, D's goes on
    assert json.loads((run / "model_config.json").read_text())["g_channels"] == 8
    changed = json.loads((run / "config_changes.jsonl").read_text())["changed"]
    assert changed == {"g_channels": [4, 8]}
    with pytest.raises(GanpageError, match="does not fit"):  # narrower again: refused
        train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
              stop_after_steps=1, changes={"g_channels": 4})


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_resume_reproduces_the_uninterrupted_run(dataset, tmp_path, precision):
    config = lambda out: tiny_config(dataset, out, precision=precision)  # noqa: E731
    a, b, _ = straight_and_resumed(config, tmp_path, before=2, after=1)
    assert (a["step"], a["images_seen"]) == (b["step"], b["images_seen"]) == (3, 12)
    assert_same_networks(a, b)


def test_precision_follows_the_hardware_and_refuses_unknown_names(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(train_module, "cpu_has_native_bfloat16", lambda: True)
    assert autocast_dtype("auto", cpu) is torch.bfloat16
    monkeypatch.setattr(train_module, "cpu_has_native_bfloat16", lambda: False)
    assert autocast_dtype("auto", cpu) is None  # emulated bfloat16 would be slower
    assert autocast_dtype("auto", cuda) is torch.bfloat16
    assert autocast_dtype("float32", cuda) is None
    assert autocast_dtype("bfloat16", cpu) is torch.bfloat16
    with pytest.raises(GanpageError, match="unknown precision 'fp8'"):
        autocast_dtype("fp8", cpu)


def test_bfloat16_and_float32_steps_agree_roughly(dataset, tmp_path):
    """One step from the same start in both precisions: bfloat16 is an approximation of the
    float32 step, not a different computation (losses within a few percent)."""
    import json

    losses = {}
    for precision in ("float32", "bfloat16"):
        run = train(tiny_config(dataset, tmp_path / precision, precision=precision),
                    show_progress=False, stop_after_steps=1)
        row = json.loads((run / "log.jsonl").read_text().splitlines()[0])
        losses[precision] = (row["d_loss"], row["g_loss"])
    assert losses["float32"] != losses["bfloat16"], "bfloat16 autocast was not applied"
    for exact, approximate in zip(losses["float32"], losses["bfloat16"], strict=True):
        assert approximate == pytest.approx(exact, rel=0.05, abs=0.02)


def test_class_loss_is_logged_and_trains_d_when_weighted(dataset, tmp_path):
    import json

    states = {}
    for weight in (0.0, 1.0):
        run = train(tiny_config(dataset, tmp_path / str(weight), class_loss_weight=weight,
                                precision="float32"), show_progress=False, stop_after_steps=1)
        row = json.loads((run / "log.jsonl").read_text().splitlines()[0])
        assert np.log(2) * 0.5 < row["d_class_loss"] < np.log(2) * 2  # 2 classes, untrained
        states[weight] = load_checkpoint(latest_checkpoint(run))["D"]
    changed = [name for name, tensor in states[0.0].items()
               if not torch.equal(tensor, states[1.0][name])]
    assert "embed.weight_orig" in changed


def test_diversity_weight_pairs_labels_and_logs_the_ratio(dataset, tmp_path):
    import json

    run = train(tiny_config(dataset, tmp_path / "runs", diversity_loss_weight=1.0),
                show_progress=False, stop_after_steps=2)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(row["diversity"] > 0 for row in rows)


def test_empty_and_one_class_datasets_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="at least 2"):
        load_training_set(make_dataset(tmp_path / "one", classes=1))
    with pytest.raises(DatasetError, match="not a ganpage data set"):
        load_training_set(tmp_path / "nothing")
    DatasetWriter(tmp_path / "empty", 32).finish()
    with pytest.raises(DatasetError, match="no pictures"):
        load_training_set(tmp_path / "empty")


def test_export_gives_a_loadable_model(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=2)
    folder = export_run(run, tmp_path / "model", "shapes-test")
    generator = load_generator(folder)
    assert generator.model_id == "shapes-test"
    assert [c.name for c in generator.categories] == ["Class 0", "Class 1"]
    assert generator.sample([0, 1], [1, 2], 0.8).shape == (2, 32, 32, 3)


@pytest.mark.slow
def test_export_ships_the_classifier_and_eval_uses_it(dataset, tmp_path):
    import json
    import subprocess
    import sys

    from ganpage.classifiers.trained import bundled_classifier, train_classifier

    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=1)
    train_classifier(dataset, tmp_path / "cls", epochs=1, batch_size=4, channels=4,
                     show_progress=False)
    folder = export_run(run, tmp_path / "model", "shapes-test", classifier=tmp_path / "cls")
    assert bundled_classifier(str(folder)) == folder / "classifier"
    scores = load_generator(folder).category_scores  # ranked for --best-categories
    assert set(scores) == {0, 1} and all(0 <= value <= 1 for value in scores.values())
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "eval", str(folder), "--data", str(dataset),
         "--per-class", "2", "--json", str(tmp_path / "eval.json")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    scores = json.loads((tmp_path / "eval.json").read_text())
    assert scores["pictures"] == 4 and 0 <= scores["cas"] <= 1
    export_run(run, folder, "shapes-test")  # without the classifier: the old scores must go
    assert load_generator(folder).category_scores == {}


def test_export_refuses_a_classifier_of_other_classes(dataset, tmp_path):
    from ganpage.classifiers.trained import train_classifier

    other = make_dataset(tmp_path / "other", classes=3)
    train_classifier(other, tmp_path / "cls", epochs=1, batch_size=4, channels=4,
                     show_progress=False)
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=1)
    with pytest.raises(GanpageError, match="classifier knows 3 classes and the generator 2; train"):
        export_run(run, tmp_path / "model", classifier=tmp_path / "cls")
    assert not (tmp_path / "model" / "classifier").exists()


@pytest.mark.slow
def test_torchrun_ddp_on_cpu(dataset, tmp_path):
    """Two processes under torchrun (gloo backend) train one run; rank 0 writes it."""
    import subprocess
    import sys

    from helpers.servers import free_port

    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(free_port()), "-m", "ganpage", "train", str(dataset), "--out",
         str(tmp_path / "runs"), "--kimg", "0.024", "--batch-size", "4", "--g-channels", "4",
         "--d-channels", "4", "--grid-every", "1", "--checkpoint-every", "1", "--threads", "1",
         "--class-loss-weight", "1", "--diversity-loss-weight", "0.2", "--quiet"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "runs" / "00000-shapes-32"
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert checkpoint["images_seen"] == 24 and checkpoint["step"] == 3  # 2 ranks x 4 per step
    # each rank's RNG is saved, so a resume does not give every rank rank 0's draws
    ranks = checkpoint["rng_by_rank"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["torch"], ranks[1]["torch"])


@pytest.mark.slow
def test_ctrl_c_mid_step_finishes_the_step_and_writes_a_checkpoint(dataset, tmp_path,
                                                                   monkeypatch, sigint_raises):
    """SIGINT lands between G's update and the EMA's, the worst place; training finishes that
    step, saves it, and a resume matches the run that was never stopped."""
    import os
    import signal

    from ganpage.train import TrainingStopped

    real_update_ema = train_module.update_ema
    calls = []

    def update_ema_then_signal(state, batch_size, ema_kimg):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        real_update_ema(state, batch_size, ema_kimg)

    monkeypatch.setattr(train_module, "update_ema", update_ema_then_signal)
    with pytest.raises(TrainingStopped, match="stopped by SIGINT at 0.0 kimg") as stopped:
        train(tiny_config(dataset, tmp_path / "b", total_kimg=1000), show_progress=False)
    monkeypatch.setattr(train_module, "update_ema", real_update_ema)
    interrupted = stopped.value.run_dir
    assert load_checkpoint(latest_checkpoint(interrupted))["step"] == 3
    train(tiny_config(dataset, tmp_path / "b", total_kimg=1000), resume=interrupted,
          show_progress=False, stop_after_steps=1)
    straight = train(tiny_config(dataset, tmp_path / "a", total_kimg=1000), show_progress=False,
                     stop_after_steps=4)
    a = load_checkpoint(latest_checkpoint(straight))
    b = load_checkpoint(latest_checkpoint(interrupted))
    assert a["step"] == b["step"] == 4
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after the stop"


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_says_how_to_resume(dataset, tmp_path, reap):
    import signal
    import subprocess
    import sys
    import time

    from helpers.training import default_sigint

    run = tmp_path / "runs" / "00000-shapes-32"
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "ganpage", "train", str(dataset), "--out", str(tmp_path / "runs"),
         "--kimg", "1000", "--batch-size", "4", "--g-channels", "4", "--d-channels", "4",
         "--checkpoint-every", "1000", "--threads", "1", "--quiet"],
        stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint, start_new_session=True))
    deadline = time.monotonic() + 60
    while not (run / "log.jsonl").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-2000:]
    assert f"checkpoint written; go on with: ganpage train --resume {run}" in stderr
    assert "Traceback" not in stderr
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert 0 < checkpoint["images_seen"] < 1_000_000


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_every_rank_on_one_step_with_a_checkpoint(dataset, tmp_path,
                                                                           reap):
    """torchrun passes SIGTERM to its workers; the ranks agree on a step and rank 0 saves it."""
    import signal
    import subprocess
    import sys
    import time

    from helpers.servers import free_port

    run = tmp_path / "runs" / "00000-shapes-32"
    process = reap(subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(free_port()), "-m", "ganpage", "train", str(dataset), "--out",
         str(tmp_path / "runs"), "--kimg", "1000", "--batch-size", "4", "--g-channels", "4",
         "--d-channels", "4", "--checkpoint-every", "1000", "--threads", "1", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True))
    deadline = time.monotonic() + 90
    while not (run / "log.jsonl").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=90)
    assert "checkpoint written; go on with: ganpage train --resume" in output, output[-3000:]
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert checkpoint["step"] > 0 and checkpoint["step"] % train_module.DDP_STOP_CHECK_STEPS == 0
    assert checkpoint["images_seen"] == 8 * checkpoint["step"]  # 2 ranks x 4 per step


def test_transitional_conditioning_starts_unconditional_and_is_logged(dataset, tmp_path):
    """The log shows the class input's strength rising from 0 to 1 over the fade."""
    import json

    config = tiny_config(dataset, tmp_path / "runs", condition_start_kimg=0.008,
                         condition_fade_kimg=0.008, class_loss_weight=1.0)
    run = train(config, show_progress=False, stop_after_steps=6)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    # step k is taken at 4k images: 0 up to 8 images, 0.5 at 12, 1 from 16
    assert [row["condition"] for row in rows] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]


def test_unconditional_phase_leaves_class_embeddings_untouched(dataset, tmp_path):
    """At condition 0 no gradient reaches G's or D's class embeddings."""
    config = tiny_config(dataset, tmp_path / "runs", condition_start_kimg=1000,
                         class_loss_weight=1.0, precision="float32")
    first = train(config, show_progress=False, stop_after_steps=1)
    before = load_checkpoint(latest_checkpoint(first))
    train(config, resume=first, show_progress=False, stop_after_steps=3)
    after = load_checkpoint(latest_checkpoint(first))
    assert torch.equal(before["G"]["embed.weight"], after["G"]["embed.weight"])
    assert torch.equal(before["D"]["embed.weight_orig"], after["D"]["embed.weight_orig"])
    assert not torch.equal(before["G"]["stem.weight"], after["G"]["stem.weight"])


@pytest.mark.slow
def test_relativistic_loss_with_penalties_trains_logs_and_resumes_exactly(dataset, tmp_path):
    import json

    config = lambda out: tiny_config(dataset, out, loss="relativistic", r1_gamma=0.1,  # noqa: E731
                                     r1_every=2, diversity_loss_weight=0.2,
                                     condition_fade_kimg=0.02, precision="float32")
    a, b, straight = straight_and_resumed(config, tmp_path, before=3, after=2)
    rows = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["d_loss"]) and np.isfinite(row["g_loss"]) for row in rows)
    assert all(row["gradient_penalty"] >= 0 for row in rows)
    assert rows[0]["d_loss"] == pytest.approx(np.log(2), abs=0.3)  # softplus(0) at the start
    assert_same_networks(a, b)


@pytest.mark.slow
def test_a_style_label_trains_resumes_exactly_and_exports_a_model_that_draws_styles(tmp_path):
    import json

    data = write_noise_dataset(tmp_path / "styled", classes=2, per_class=6, styles=3)
    config = lambda out: tiny_config(data, out, style_label="source", style_dim=4,  # noqa: E731
                                     loss="relativistic", r1_gamma=0.1, r1_every=2,
                                     diversity_loss_weight=0.2, class_loss_weight=1.0,
                                     precision="float32")
    a, b, straight = straight_and_resumed(config, tmp_path, before=3, after=2)
    assert_same_networks(a, b)
    assert a["G"]["style_embed.weight"].shape == (3, 4)
    assert "style_embed.weight_orig" in a["D"]
    rows = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert rows and all(np.isfinite(row["d_loss"]) and np.isfinite(row["g_loss"]) for row in rows)
    assert json.loads((straight / "styles.json").read_text()) == ["style 0", "style 1",
                                                                   "style 2"]
    model = export_run(straight, tmp_path / "model")
    assert json.loads((model / "styles.json").read_text())[2] == "style 2"
    generator = load_generator(model)
    assert generator.num_styles == 3
    assert generator.sample([0, 1], [0, 1]).shape == (2, 32, 32, 3)


def test_a_style_label_is_checked_and_kept_on_resume(dataset, tmp_path):
    with pytest.raises(DatasetError, match="--style-label nope: 12 of 12 pictures.*source"):
        train(tiny_config(dataset, tmp_path / "runs", style_label="nope"), show_progress=False,
              stop_after_steps=1)
    with pytest.raises(DatasetError, match="at least 2 values"):  # all "synthetic"
        train(tiny_config(dataset, tmp_path / "runs", style_label="source"),
              show_progress=False, stop_after_steps=1)
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False, stop_after_steps=1)
    with pytest.raises(GanpageError, match="style_label"):
        train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False,
              stop_after_steps=1, changes={"style_label": "source"})
