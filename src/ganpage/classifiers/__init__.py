"""Every way to open a classifier, one entry point: ``open_classifier(spec, model)`` reads any
``--classifier`` spec, or without one opens the classifier the model ships. Beside it:
``loaded.py`` (what an opened classifier is), ``trained.py`` (ganpage's own), ``imagenet.py``."""

from __future__ import annotations

import os
from pathlib import Path

from ganpage.classifiers.imagenet import (
    PICKLE_SUFFIXES,
    WEIGHT_FILES,
    load_imagenet_classifier,
)
from ganpage.classifiers.loaded import ClassifierLoadError, LoadedClassifier
from ganpage.classifiers.trained import (
    BUNDLED_FOLDER,
    bundled_classifier,
    bundled_classifier_folder,
    load_classifier,
)
from ganpage.models.loading import HUB_REPO_ID, builtin_models, looks_local

__all__ = ["ClassifierLoadError", "LoadedClassifier", "bundled_classifier_folder",
           "classifier_folder", "open_classifier"]

# built-in names of ImageNet classifiers on the Hugging Face Hub (timm's files: config.json with
# its pretrained_cfg + model.safetensors). a1_in1k: 80.4% top-1 at 224 px (timm's results table).
HUB_CLASSIFIERS = {"resnet50": "timm/resnet50.a1_in1k"}
CLASSIFIER_FILES = ["config.json", "classes.json", "metrics.json", "README.md", *WEIGHT_FILES,
                    f"{BUNDLED_FOLDER}/*"]


def open_classifier(spec: str | os.PathLike | None,
                    model: str | os.PathLike | None = None) -> LoadedClassifier:
    """The classifier named by ``spec``: a built-in model ('emoji64') or ImageNet name
    ('resnet50'), a local folder or weight file, or an owner/name Hugging Face repo id; with
    no spec, the classifier that ``model`` ships (a clear error if it ships none)."""
    if spec is None:
        if model is None:
            raise ClassifierLoadError("no classifier given; pass --classifier SPEC")
        return load_classifier(bundled_classifier(str(model)))
    path, name = locate_classifier(spec)
    if path.is_dir():
        return open_classifier_folder(path, name)
    return load_imagenet_classifier(path, name)


def classifier_folder(spec: str | os.PathLike) -> Path:
    """The folder of the ganpage classifier (``ganpage train-classifier``'s) that ``spec``
    names, for a model folder to ship; ImageNet weights are not shipped."""
    path, _ = locate_classifier(spec)
    for folder in (path, path / BUNDLED_FOLDER):
        if (folder / "metrics.json").is_file():
            return folder
    raise ClassifierLoadError(
        f"{spec} is not a classifier made by `ganpage train-classifier` (no metrics.json): a "
        "model folder ships only those; make one with `ganpage train-classifier DATA --out "
        "FOLDER`")


def locate_classifier(spec: str | os.PathLike) -> tuple[Path, str | None]:
    """The local folder or weight file a spec names (downloaded if it is a repo id), and the
    name to give the classifier (None: the folder's or file's own)."""
    text = str(spec)
    if text in builtin_models():
        return builtin_models()[text], None
    if text in HUB_CLASSIFIERS:
        return download_classifier(HUB_CLASSIFIERS[text]), text
    path = Path(text).expanduser()
    if path.is_dir() or path.is_file():
        return path, None
    if HUB_REPO_ID.fullmatch(text) and not looks_local(text):
        return download_classifier(text), text
    known = ", ".join([*builtin_models(), *HUB_CLASSIFIERS])
    raise ClassifierLoadError(
        f"no classifier {text!r}: not a built-in name ({known}), a folder or weight file here, "
        "or an owner/name Hugging Face repo id")


def open_classifier_folder(folder: Path, name: str | None = None) -> LoadedClassifier:
    """A ganpage classifier folder, a model folder with ``classifier/``, or a folder of
    ImageNet weights (timm's or torchvision's, with an optional ``config.json``)."""
    if (folder / "metrics.json").is_file():
        return load_classifier(folder)
    if (folder / BUNDLED_FOLDER / "metrics.json").is_file():
        return load_classifier(folder / BUNDLED_FOLDER)
    weights = [folder / f for f in WEIGHT_FILES if (folder / f).is_file()]
    weights = weights or sorted(p for p in folder.iterdir()
                                if p.suffix in PICKLE_SUFFIXES and p.is_file())
    if not weights:
        raise ClassifierLoadError(
            f"{folder} holds no classifier: no metrics.json (a ganpage classifier), no "
            f"{BUNDLED_FOLDER}/ (a model folder) and no weight file ({', '.join(WEIGHT_FILES)} "
            "or *.pth); make one with `ganpage train-classifier DATA --out FOLDER`")
    if len(weights) > 1 and weights[0].name not in WEIGHT_FILES:
        raise ClassifierLoadError(f"{folder} holds several weight files ({weights[0].name}, "
                                  f"{weights[1].name}, ...); pass the one to use")
    return load_imagenet_classifier(weights[0], name or folder.name)


def download_classifier(repo_id: str) -> Path:
    """A local copy of a Hugging Face repo's classifier files (from the cache when offline)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=CLASSIFIER_FILES))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise ClassifierLoadError(
            f"could not fetch the classifier {repo_id!r} from the Hugging Face Hub "
            f"({first_line}); download it elsewhere and pass its folder") from error
