"""The option types the commands share (``ganpage.cli.options``): spelt as the library spells
them, one --precision and one --classifier everywhere, help defaults read from the configs."""

from dataclasses import fields
from typing import get_args

import pytest
from typer.testing import CliRunner

from ganpage.cli import app, options
from ganpage.train_config import PRECISIONS, TrainConfig

# train's options whose default is TrainConfig's (None on the command line: "not given", so a
# resumed run keeps its own), with the field each one sets
TRAIN_OPTIONS = {"--kimg": "total_kimg", "--batch-size": "batch_size",
                 "--g-channels": "g_channels", "--d-channels": "d_channels", "--lr": "g_lr",
                 "--ema-kimg": "ema_kimg", "--augment": "augment",
                 "--class-loss-weight": "class_loss_weight",
                 "--diversity-loss-weight": "diversity_loss_weight", "--loss": "loss",
                 "--r1-gamma": "r1_gamma", "--condition-start": "condition_start_kimg",
                 "--condition-fade": "condition_fade_kimg", "--grid-every": "grid_every_kimg",
                 "--checkpoint-every": "checkpoint_every_kimg", "--log-every": "log_every_steps",
                 "--seed": "seed", "--out": "out", "--device": "device", "--threads": "threads",
                 "--precision": "precision"}


def test_choices_are_spelt_as_the_library_spells_them():
    from ganpage.data.decode import ResizeMode
    from ganpage.gallery import FORMATS, STATUSES
    from ganpage.models.loading import DTYPES
    from ganpage.noise import MAX_SEED
    from ganpage.precision import PRECISIONS as DEVICE_PRECISIONS
    from ganpage.site_permalinks import LAYOUTS
    from ganpage.web.server import SERVERS

    assert get_args(options.Resize) == tuple(ResizeMode)
    assert get_args(options.ImageFormat) == tuple(FORMATS)
    assert get_args(options.Precision) == tuple(DTYPES) == PRECISIONS == DEVICE_PRECISIONS
    assert get_args(options.Server) == tuple(SERVERS)
    assert get_args(options.Permalinks) == LAYOUTS
    assert set(options.Status) == set(STATUSES) and options.MAX_SEED == MAX_SEED


def test_train_help_shows_the_defaults_a_new_run_uses():
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    params = {p.opts[0]: p for p in _command(["train"]).params}
    for option, name in TRAIN_OPTIONS.items():
        param, value = params[option], defaults[name]
        shown = param.show_default if isinstance(param.show_default, str) else param.default
        assert str(shown) == (f"{value:g}" if isinstance(value, float) else str(value)), option
    assert defaults["g_lr"] == defaults["d_lr"]  # --lr sets both


def test_train_passes_no_default_of_its_own(tmp_path):
    # a dry run of the bare command resolves to TrainConfig's defaults, field for field
    (tmp_path / "d").mkdir()
    from unittest import mock

    with mock.patch("ganpage.train.train", return_value=tmp_path) as run:
        result = CliRunner().invoke(app, ["train", str(tmp_path / "d"), "--dry-run"])
    assert result.exit_code == 0, result.output
    config = run.call_args.args[0]
    assert config == TrainConfig(data=str(tmp_path / "d"))


def test_serve_shows_the_live_settings_defaults():
    from ganpage.live.settings import LiveSettings

    params = {p.name: p.default for p in _command(["serve"]).params}
    settings = LiveSettings()
    assert (params["live_device"], params["live_batch"], params["live_queue"],
            params["live_rate"], params["live_pool"], params["live_threads"],
            params["live_nice"]) == (settings.device, settings.max_batch, settings.max_queue,
                                     settings.rate_per_second, settings.pool_size,
                                     settings.threads, settings.niceness)
    assert settings.rate_burst == round(2 * settings.rate_per_second)  # as serve derives it


def test_other_defaults_the_help_repeats_are_the_librarys():
    # kept as literals where reading them would load torch or numpy for every `ganpage --help`
    import inspect

    from ganpage.category_scores import SCORE_SEEDS, SCORE_TRUNCATION
    from ganpage.classifiers.trained import train_classifier
    from ganpage.curation.rules import Rules
    from ganpage.label import DEFAULT_SIZE, DEFAULT_THRESHOLD

    def defaults(command):
        return {p.name: p.default for p in _command(command).params}

    assert defaults(["rank-categories"])["seeds"] == SCORE_SEEDS
    assert defaults(["rank-categories"])["truncation"] == SCORE_TRUNCATION
    label = defaults(["label"])
    assert (label["threshold"], label["size"]) == (DEFAULT_THRESHOLD, DEFAULT_SIZE)
    library = inspect.signature(train_classifier).parameters
    command = defaults(["train-classifier"])
    assert all(command[name] == library[name].default for name in ("epochs", "channels", "seed"))
    from ganpage.data.fetch import DownloadSettings
    from ganpage.static_site import SiteOptions

    urls, download = defaults(["data", "urls"]), DownloadSettings()
    assert (urls["size"], urls["concurrency"], urls["per_host"], urls["retries"],
            urls["placeholder_repeats"], urls["max_mb"] * 2**20) == (
        download.size, download.concurrency, download.per_host, download.retries,
        download.placeholder_repeats, download.max_bytes)
    site = SiteOptions()
    assert defaults(["build-site"])["site_name"] == defaults(["serve"])["site_name"] == \
        site.site_name
    assert defaults(["build-site"])["webgpu"] == site.live_webgpu
    assert defaults(["build-site"])["full"] == site.full
    helps = {p.name: p.help for p in _command(["curate"]).params}
    assert f"default {', '.join(Rules().reject)};" in helps["reject"]
    assert f"(default {Rules().duplicate_bits})" in helps["duplicate_bits"]


@pytest.mark.parametrize("command", [["generate"], ["interpolate"], ["train"]])
def test_precision_is_one_option_everywhere(command):
    params = {p.name: p for p in _command(command).params}
    assert params["precision"].opts == ["--precision"]
    assert params["precision"].type_descriptor.annotation == options.Precision
    assert params["precision"].help == options.PRECISION_HELP


@pytest.mark.parametrize("command", [["generate"], ["interpolate"]])
def test_dtype_is_still_read_but_not_shown(command):
    params = {p.name: p for p in _command(command).params}
    assert params["dtype"].hidden and params["dtype"].opts == ["--dtype"]
    assert options.chosen_precision("auto", "float32") == "float32"
    assert options.chosen_precision("bfloat16", None) == "bfloat16"


@pytest.mark.parametrize("command", [["eval"], ["rank-categories"], ["label"], ["curate"],
                                     ["naming-test"]])
def test_classifier_is_any_classifier_spec_everywhere(command):
    params = {p.name: p for p in _command(command).params}
    assert params["classifier"].type_descriptor.annotation is str
    assert params["classifier"].metavar == "SPEC"
    assert params["classifier"].help == options.CLASSIFIER_HELP


def _command(path: list[str]):
    import click
    import typer

    command = typer.main.get_command(app)
    for name in path:
        command = command.get_command(click.Context(command), name)
    return command
