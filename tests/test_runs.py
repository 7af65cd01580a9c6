import json

import pytest

from ganpage.checkpoints import latest_checkpoint, load_checkpoint
from ganpage.errors import GanpageError
from ganpage.reporting import read_log
from ganpage.train import train
from ganpage.train_config import TrainConfig
from helpers.training import make_dataset, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


def test_resume_tidies_what_a_kill_left_and_goes_on(dataset, tmp_path):
    """A kill mid-write leaves a torn last log line and a temporary checkpoint file; the
    resumed run used to crash at its first sample grid on the torn line."""
    config = tiny_config(dataset, tmp_path / "runs")
    run = train(config, show_progress=False, stop_after_steps=2)
    with open(run / "log.jsonl", "a") as log:
        log.write('{"step": 3, "kimg": 0.0')  # cut short by kill -9
    leftover = run / ".ckpt-0000012.pt.x1y2.partial"
    leftover.write_bytes(b"half a checkpoint")
    train(config, resume=run, show_progress=False, stop_after_steps=2)
    assert not leftover.exists()
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    assert (run / "losses.png").is_file()
    assert load_checkpoint(latest_checkpoint(run))["step"] == 4


def test_read_log_leaves_out_only_a_torn_last_line(tmp_path):
    (tmp_path / "log.jsonl").write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "kimg"')
    assert read_log(tmp_path) == [{"step": 1}, {"step": 2}]
    (tmp_path / "log.jsonl").write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    with pytest.raises(GanpageError, match="line 2 is not JSON"):
        read_log(tmp_path)


def test_unknown_config_keys_are_named_not_dropped():
    with pytest.raises(GanpageError, match="unknown setting .gamma_r1. in the run.s config.json"):
        TrainConfig.from_dict({"data": "d", "gamma_r1": 1.0})


@pytest.mark.parametrize("changes, message", [
    ({"augment": "color,bogus"}, "--augment: unknown augment"),
    ({"batch_size": 0}, "--batch-size must be above 0"),
    ({"loss": "wgan"}, "unknown loss 'wgan'"),
    ({"r1_gamma": -1.0}, "--r1-gamma must be 0 or more"),
    ({"precision": "fp8"}, "unknown precision 'fp8'"),
])
def test_invalid_settings_fail_in_one_line_before_a_run_folder_exists(
        dataset, tmp_path, changes, message):
    with pytest.raises(GanpageError, match=message):
        train(tiny_config(dataset, tmp_path / "runs", **changes), show_progress=False)
    assert not list((tmp_path / "runs").glob("*/*"))


def test_resume_of_a_missing_folder_says_what_to_give(tmp_path):
    with pytest.raises(GanpageError, match="no run folder at"):
        train(TrainConfig(data=""), resume=tmp_path / "runs" / "00003-nope")
