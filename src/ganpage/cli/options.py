"""Option types shared by the ``ganpage`` commands: one spelling, one type and one help text
for each choice (statuses, picture formats, --precision, --classifier ...)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer

# Choices, spelt as the library spells them (tests/test_cli_options.py checks that they agree).
ImageFormat = Literal["webp", "png"]  # gallery.FORMATS
Resize = Literal["crop", "pad", "stretch"]  # data.decode.ResizeMode
Server = Literal["granian", "uvicorn"]  # web.server.SERVERS
Precision = Literal["auto", "float32", "bfloat16"]  # models.loading.DTYPES, train_config
Permalinks = Literal["pages", "shards"]  # site_permalinks.LAYOUTS


class Status(StrEnum):
    """Curation statuses (gallery.STATUSES); an enum because --show is repeatable."""

    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


MAX_SEED = 2**32 - 1  # noise seeds are mulberry32 states (noise.py): larger ones would repeat
MAX_CHOICE_SEED = 2**64 - 1  # seeds of random choices (rng.StableRandom)

PRECISION_HELP = ("auto: bfloat16 where the device runs it faster (CUDA, CPUs with AMX or AMD's "
                  "AVX512-BF16), else float32; bfloat16 pictures differ from float32 ones by "
                  "under one 8-bit level on average.")
PrecisionOption = Annotated[Precision, typer.Option("--precision", help=PRECISION_HELP)]
# --dtype was --precision's first name in generate and interpolate: still read, no longer shown
DtypeAlias = Annotated[Precision | None, typer.Option("--dtype", hidden=True)]


def chosen_precision(precision: Precision, dtype: Precision | None) -> Precision:
    """--precision, or the old --dtype where a command still reads it."""
    return dtype or precision


CLASSIFIER_HELP = ("A classifier folder (`ganpage train-classifier`), a model folder or built-in "
                   "model that ships one (emoji64), ImageNet ResNet-50 weights (resnet50, a "
                   ".pth or .safetensors file) or a Hugging Face repo id; default: the model's "
                   "own.")
# every --classifier is one of these specs, opened by ganpage.classifiers.open_classifier
ClassifierOption = Annotated[str | None, typer.Option(metavar="SPEC", help=CLASSIFIER_HELP)]


def default_of(config: type, name: str) -> str:
    """A config dataclass field's default as --help shows it, read from the dataclass so the
    help cannot drift from what a run uses."""
    field = next(f for f in fields(config) if f.name == name)
    value: Any = field.default if field.default is not MISSING else field.default_factory()
    return f"{value:g}" if isinstance(value, float) else str(value)
