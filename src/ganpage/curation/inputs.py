"""What ``ganpage curate`` compares a gallery against, when not told: the classifier that
ships in the model folder that made the pictures, and the data set that classifier was
trained on (its ``metrics.json`` names it), where those exist on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from ganpage.classifiers import LoadedClassifier, bundled_classifier_folder, open_classifier
from ganpage.models.loading import builtin_models


def gallery_model(model_ids: set[str], model: str | None) -> str | None:
    """The model to take a classifier from: ``--model``, else the gallery's only model when it
    is built in or a local folder (never a download nobody asked for)."""
    if model is not None:
        return model
    if len(model_ids) != 1:
        return None
    (only,) = model_ids
    return only if only in builtin_models() or Path(only).is_dir() else None


def gallery_classifier(spec: str | None, model: str | None) -> LoadedClassifier | None:
    """``--classifier`` (any spec ``open_classifier`` reads), else the model's own; None when
    neither exists: curation then scores no class agreement."""
    if spec is None and bundled_classifier_folder(model) is None:
        return None
    return open_classifier(spec, model)


def training_data(given: Path | None, model: str | None) -> Path | None:
    """``--training-data``, else the data set the model's classifier names, if it is here."""
    if given is not None:
        return given
    folder = bundled_classifier_folder(model)
    if folder is None:
        return None
    named = json.loads((folder / "metrics.json").read_text()).get("data")
    return Path(named) if named and Path(named).is_dir() else None
