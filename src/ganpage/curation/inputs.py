"""What ``ganpage curate`` compares a gallery against, when not told: the classifier that
ships in the model folder that made the pictures, and the data set that classifier was
trained on (its ``metrics.json`` names it), where those exist on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from ganpage import classifiers
from ganpage.classify import BUNDLED_FOLDER, LoadedClassifier, load_classifier
from ganpage.models.loading import builtin_models, resolve_model_dir


def gallery_model(model_ids: set[str], model: str | None) -> str | None:
    """The model to take a classifier from: ``--model``, else the gallery's only model when it
    is built in or a local folder (never a download nobody asked for)."""
    if model is not None:
        return model
    if len(model_ids) != 1:
        return None
    (only,) = model_ids
    return only if only in builtin_models() or Path(only).is_dir() else None


def bundled_classifier_folder(model: str | None) -> Path | None:
    if model is None:
        return None
    folder = resolve_model_dir(model) / BUNDLED_FOLDER
    return folder if (folder / "metrics.json").is_file() else None


def open_classifier(spec: str | None, model: str | None) -> LoadedClassifier | None:
    """``--classifier`` (``classifiers.open_classifier``: a classifier or model folder, a
    built-in name, ImageNet ResNet-50 weights or a repo id), else the model's own; None when
    neither exists."""
    if spec is not None:
        return classifiers.open_classifier(spec)
    folder = bundled_classifier_folder(model)
    return None if folder is None else load_classifier(folder)


def training_data(given: Path | None, model: str | None) -> Path | None:
    """``--training-data``, else the data set the model's classifier names, if it is here."""
    if given is not None:
        return given
    folder = bundled_classifier_folder(model)
    if folder is None:
        return None
    named = json.loads((folder / "metrics.json").read_text()).get("data")
    return Path(named) if named and Path(named).is_dir() else None
