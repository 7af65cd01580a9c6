"""The command line as a user meets it: help with examples, one-line errors, no tracebacks."""

import subprocess
import sys

import pytest

COMMANDS = [["generate"], ["serve"], ["demo"], ["train"], ["export-model"], ["interpolate"],
            ["categories"], ["models"], ["rank-categories"], ["gallery", "merge"],
            ["gallery", "approve"], ["gallery", "verify"], ["data", "folder"], ["data", "emoji"],
            ["data", "urls"]]


def ganpage(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganpage", *args], capture_output=True,
                          text=True, cwd=cwd, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                   "HOME": str(cwd or "/tmp")})


def test_top_level_help_lists_commands():
    result = ganpage("--help")
    assert result.returncode == 0
    for command in ("generate", "serve", "demo", "train", "data", "gallery", "interpolate"):
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_shows_a_runnable_example(command):
    result = ganpage(*command, "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout
    assert f"ganpage {' '.join(command)}" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["generate", "g", "--model", "no-such-model"], "no model 'no-such-model'"),
    (["generate", "g", "--truncation", "2"], "bad truncation"),
    (["generate", "g", "--shard", "5/2"], "bad shard"),
    (["serve", "not-a-gallery"], "is not a gallery"),
    (["gallery", "verify", "nowhere"], "is not a gallery"),
    (["data", "folder", "missing-folder", "--out", "o"], "is not a folder"),
    (["train", "no-data"], "not a ganpage data set"),
    (["train", "--resume", "no-run"], "not a run folder"),
    (["eval", "emoji64", "--data", "d", "--classifier", "nowhere"], "not a classifier folder"),
    (["generate", "/etc/passwd", "-c", "hamster"], "is a file, not a gallery folder"),
    (["interpolate", "x.gif", "--model", "nope"], "no model 'nope'"),
])
def test_bad_input_gives_one_line_error_without_traceback(tmp_path, args, message):
    result = ganpage(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_eval_without_a_classifier_says_how_to_make_one(tmp_path, tiny_model):
    result = ganpage("eval", str(tiny_model), "--data", "d", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "ships no classifier; pass --classifier FOLDER" in result.stderr


def test_unknown_category_suggests(tmp_path, tiny_model):
    result = ganpage("generate", "g", "--model", str(tiny_model), "-c", "hamstr", cwd=tmp_path)
    assert result.returncode == 2
    assert "Did you mean: Hamster?" in result.stderr and "Traceback" not in result.stderr


def test_generate_verify_approve_round_trip(tmp_path, tiny_model):
    assert ganpage("generate", "g", "--model", str(tiny_model), "--per-category", "2",
                   "--quiet", cwd=tmp_path).returncode == 0
    verify = ganpage("gallery", "verify", "g", cwd=tmp_path)
    assert "6 pictures (6 pending, 0 approved, 0 rejected), 0 problems" in verify.stdout
    approve = ganpage("gallery", "approve", "g", "--category", "bagel", cwd=tmp_path)
    assert "2 pictures approved" in approve.stdout


def test_demo_builds_a_gallery_from_a_model_folder(tmp_path, tiny_model):
    result = ganpage("demo", "--model", str(tiny_model), "--per-category", "2", "--no-serve",
                     "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 new pictures" in result.stdout


def test_resume_with_a_different_network_width_says_to_start_a_new_run(tmp_path):
    import json
    from dataclasses import asdict

    from ganpage.train import TrainConfig
    run = tmp_path / "00000-x-32"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(asdict(TrainConfig(data="d"))))
    result = ganpage("train", "--resume", str(run), "--g-channels", "8", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--resume cannot change g_channels" in lines[0], result.stderr
    assert "start a new run" in lines[0]
