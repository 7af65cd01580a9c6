"""The command line as a user meets it (``ganpage.cli.main``): help with examples in a fixed
order, one-line errors, no tracebacks."""

import errno
import importlib
import os
import sqlite3
import subprocess
import sys

import pytest

from helpers.cli import ganpage

# the module, not ganpage.cli.main: the package's `main` is the console script's function
cli = importlib.import_module("ganpage.cli.main")

COMMANDS = [["generate"], ["serve"], ["demo"], ["train"], ["export-model"], ["interpolate"],
            ["categories"], ["models"], ["rank-categories"], ["gallery", "merge"],
            ["gallery", "approve"], ["gallery", "verify"], ["gallery", "list"], ["data", "folder"],
            ["data", "emoji"],
            ["data", "urls"], ["data", "subset"], ["export-onnx"], ["build-site"], ["label"],
            ["run", "pack"], ["run", "unpack"], ["naming-test"], ["naming-test", "score"]]


# `ganpage --help` lists the commands in this order (ganpage.cli.main.AREAS)
HELP_ORDER = ["generate", "interpolate", "categories", "models", "train", "train-classifier",
              "eval", "rank-categories", "export-model", "build-site", "curate", "export-onnx",
              "label", "naming-test", "serve", "demo", "data", "gallery", "run"]


def listed_commands(help_text: str) -> list[str]:
    """The command names of the Commands panel of a --help page, in order."""
    panel = help_text.split("Commands")[1]
    return [line.split()[1] for line in panel.splitlines()
            if line.startswith("│ ") and not line.startswith("│  ")]


@pytest.mark.slow
def test_top_level_help_lists_commands_in_a_fixed_order():
    result = ganpage("--help")
    assert result.returncode == 0
    assert listed_commands(result.stdout) == HELP_ORDER


@pytest.mark.slow
@pytest.mark.parametrize("first", ["serve", "gallery", "naming_test", "options"])
def test_help_order_does_not_depend_on_which_module_is_imported_first(first):
    # an area module imported before the root app (as a test or a script may) changes nothing
    code = (f"import ganpage.cli.{first}, sys; sys.argv = ['ganpage', '--help']; "
            "from ganpage.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert listed_commands(result.stdout) == HELP_ORDER


def test_the_root_app_only_adds_the_areas_in_order():
    from ganpage.cli.main import AREAS, app

    assert not app.registered_commands  # every command lives in its area's module
    assert [group.typer_instance for group in app.registered_groups] == \
        [area.app for area, _ in AREAS]


def test_the_command_starts_without_importing_torch():
    # `ganpage --help` and one-line usage errors come back at once; torch loads per command
    result = subprocess.run([sys.executable, "-c", "import sys, ganpage.cli; "
                             "print('torch' in sys.modules)"], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_shows_a_runnable_example(command):
    result = ganpage(*command, "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout
    assert f"ganpage {' '.join(command)}" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["generate", "g", "--model", "no-such-model"], "no model 'no-such-model'"),
    (["generate", "g", "--truncation", "2"], "bad truncation"),
    (["generate", "g", "--shard", "5/2"], "bad shard"),
    (["serve", "not-a-gallery"], "is not a gallery"),
    (["serve"], "nothing to serve: give a GALLERY folder, --live MODEL, or both"),
    (["serve", "--live", "no-such-model"], "--live no-such-model: no model"),
    (["gallery", "verify", "nowhere"], "is not a gallery"),
    (["data", "folder", "missing-folder", "--out", "o"], "is not a folder"),
    (["train", "no-data"], "not a ganpage data set"),
    (["train", "--resume", "no-run"], "no run folder at no-run"),
    (["eval", "emoji64", "--data", "d", "--classifier", "nowhere"], "no classifier 'nowhere'"),
    (["rank-categories", "no-model", "--classifier", "nowhere"], "no-model is not a model folder"),
    (["export-model", "run", "--out", "o", "--classifier", "nowhere"], "no classifier 'nowhere'"),
    (["generate", "/etc/passwd", "-c", "hamster"], "is a file, not a gallery folder"),
    (["interpolate", "x.gif", "--model", "nope"], "no model 'nope'"),
    (["build-site", "not-a-gallery", "site"], "is not a gallery"),
    (["build-site", "g", "site", "--public-url", "ftp://x.example"], "--public-url"),
])
def test_bad_input_gives_one_line_error_without_traceback(tmp_path, args, message):
    result = ganpage(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr


def tree(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["generate", "g", "--per-category", "0"], "Invalid value for '--per-category'"),
    (["generate", "g", "--per-category", "-3"], "Invalid value for '--per-category'"),
    (["generate", "g", "--seed", "-1"], "Invalid value for '--seed'"),
    (["generate", "g", "--first-seed", "-1"], "Invalid value for '--first-seed'"),
    (["generate", "g", "--format", "jpg"], "Invalid value for '--format'"),
    (["generate", "g", "--dtype", "float16"], "Invalid value for '--dtype'"),
    (["generate", "g", "--device", "bogus"], "unknown device 'bogus'"),
    (["generate", "g", "--model", "models/nope"], "no model folder models/nope; give a model"),
    (["generate", "a-file/g"], "cannot open the gallery a-file/g (Not a directory)"),
    (["serve", "g", "--show", "maybe"], "Invalid value for '--show'"),
    (["data", "folder", "models", "--out", "o", "--resize", "bogus"],
     "Invalid value for '--resize'"),
    (["data", "urls", "a-file", "--out", "o", "--resize", "bogus"],
     "Invalid value for '--resize'"),
    (["data", "folder", "models", "--out", "a-file/o"],
     "cannot write to a-file/o (Not a directory); choose another --out"),
    (["data", "urls", "no-list.txt", "--out", "o"], "no URL list at no-list.txt"),
    (["data", "urls", "a-file", "--out", "o", "--names", "no.tsv"], "no class name list"),
    (["data", "emoji", "--out", "o", "--tarballs", "nowhere"], "--tarballs nowhere is not a"),
    (["gallery", "merge", "merged", "nowhere"], "nowhere is not a gallery"),
    (["interpolate", "x.png"], "write the animation as .gif or .webp"),
    (["interpolate", "new/x.gif", "--grid", "other/g.png", "--model", "nope"], "no model"),
    (["interpolate", "a-file/x.gif"], "cannot write a-file/x.gif: a-file is a file"),
    (["eval", "emoji64", "--data", "d", "--json", "a-file/x.json"],
     "cannot write a-file/x.json: a-file is a file, not a folder; choose another --json"),
    (["export-model", "run", "--out", "o", "--card", "nope.md"], "no model card at nope.md"),
    (["categories", "emoji64", "--best", "0"], "Invalid value for '--best'"),
])
def test_mistakes_are_one_line_exit_2_and_leave_nothing_behind(tmp_path, args, message):
    (tmp_path / "models").mkdir()
    (tmp_path / "a-file").write_text("not a folder")
    before = tree(tmp_path)
    result = ganpage(*args, cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], \
        result.stderr
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_gallery_verify_exits_1_when_it_finds_problems(tmp_path, tiny_model):
    assert ganpage("generate", "g", "--model", str(tiny_model), "--per-category", "1",
                   "--quiet", cwd=tmp_path).returncode == 0
    next((tmp_path / "g").rglob("*.webp")).unlink()
    result = ganpage("gallery", "verify", "g", cwd=tmp_path)
    assert result.returncode == 1 and "1 problems" in result.stdout


@pytest.mark.slow
def test_a_failed_generate_removes_the_gallery_it_made_but_not_one_that_was_there(tmp_path,
                                                                                 tiny_model):
    result = ganpage("generate", "g", "--model", str(tiny_model), "-c", "hamstr", cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "g").exists()
    assert ganpage("generate", "g", "--model", str(tiny_model), "--per-category", "1",
                   "--quiet", cwd=tmp_path).returncode == 0
    assert ganpage("generate", "g", "--model", str(tiny_model), "-c", "hamstr",
                   cwd=tmp_path).returncode == 2
    assert len(list((tmp_path / "g").rglob("*.webp"))) == 3


@pytest.mark.slow
def test_eval_without_a_classifier_says_how_to_make_one(tmp_path, tiny_model):
    result = ganpage("eval", str(tiny_model), "--data", "d", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "ships no classifier; pass --classifier FOLDER" in result.stderr


@pytest.mark.slow
def test_unknown_category_suggests(tmp_path, tiny_model):
    result = ganpage("generate", "g", "--model", str(tiny_model), "-c", "hamstr", cwd=tmp_path)
    assert result.returncode == 2
    assert "Did you mean: Hamster?" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_generate_verify_approve_round_trip(tmp_path, tiny_model):
    assert ganpage("generate", "g", "--model", str(tiny_model), "--per-category", "2",
                   "--quiet", cwd=tmp_path).returncode == 0
    verify = ganpage("gallery", "verify", "g", cwd=tmp_path)
    assert "6 pictures (6 pending, 0 approved, 0 rejected), 0 problems" in verify.stdout
    approve = ganpage("gallery", "approve", "g", "--category", "bagel", cwd=tmp_path)
    assert "2 pictures approved" in approve.stdout
    unknown = ganpage("gallery", "approve", "g", "0123456789ab", "feedfacecafe", cwd=tmp_path)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "has no picture 0123456789ab, feedfacecafe; nothing changed" in unknown.stderr


@pytest.mark.slow
def test_demo_builds_a_gallery_from_a_model_folder(tmp_path, tiny_model):
    result = ganpage("demo", "--model", str(tiny_model), "--per-category", "2", "--no-serve",
                     "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 new pictures" in result.stdout


@pytest.mark.slow
def test_resume_with_a_different_batch_size_says_to_start_a_new_run(tmp_path):
    import json
    from dataclasses import asdict

    from ganpage.train import TrainConfig
    run = tmp_path / "00000-x-32"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(asdict(TrainConfig(data="d"))))
    result = ganpage("train", "--resume", str(run), "--batch-size", "8", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--resume cannot change batch_size" in lines[0], result.stderr
    assert "start a new run" in lines[0]


@pytest.mark.parametrize("error", [sqlite3.OperationalError("database or disk is full"),
                                   OSError(errno.EFBIG, "File too large", "g/x.webp")])
def test_a_full_disk_is_one_line_and_says_the_command_resumes(monkeypatch, capsys, error):
    def run_out_of_space(**_: object) -> None:
        raise error

    monkeypatch.setattr(cli, "app", run_out_of_space)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    lines = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert "free some space" in lines[0]


def test_other_index_errors_keep_their_traceback(monkeypatch):
    def broken(**_: object) -> None:
        raise sqlite3.OperationalError("no such table: images")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(sqlite3.OperationalError):
        cli.main()


@pytest.mark.parametrize("module", ["ganpage", "ganpage.cli"])
def test_python_dash_m_runs_the_command(module):
    result = subprocess.run([sys.executable, "-m", module, "models"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "emoji32 (default): 128 things at 32x32" in result.stdout
    assert "emoji64: 682 things at 64x64, 3,500 kimg" in result.stdout
    assert "RuntimeWarning" not in result.stderr
