"""ImageNet classifiers from timm's or torchvision's weight files: a ResNet-50 with the input
step its ``config.json`` names (``ganpage.classifiers.open_classifier`` decides which files
are ImageNet weights).

Weights are data, never code: safetensors, or a ``.pth``/``.bin`` read with
``torch.load(weights_only=True)``; keys and shapes are checked strictly.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganpage.categories import CategorySet, imagenet_categories, slugify
from ganpage.classifiers.loaded import ClassifierLoadError, LoadedClassifier
from ganpage.classifiers.trained import BUNDLED_FOLDER
from ganpage.errors import GanpageError
from ganpage.models.loading import ARCHITECTURES as GENERATOR_ARCHITECTURES
from ganpage.models.loading import load_state_dict_strict, read_safetensors
from ganpage.models.resnet import ImageNetClassifierNet, ImageNetInput, ResNet50

# weight files looked for in a folder, in this order (timm, then transformers-style names)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PICKLE_SUFFIXES = (".pth", ".pt", ".bin")
IMAGENET_BATCH = 32  # pictures per forward pass: ~0.4 GB of activations at 224 px
# the state-dict wrappers training scripts write around the weights
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema")

# config.json "architecture" of an ImageNet weight file -> builder(num_classes)
IMAGENET_ARCHITECTURES: dict[str, Callable[[int], nn.Module]] = {"resnet50": ResNet50}


def load_imagenet_classifier(weights: Path, name: str | None = None) -> LoadedClassifier:
    """An ImageNet classifier from a weight file; ``config.json`` beside it (timm's layout),
    if any, names the architecture and the input step, ``classes.json`` other classes."""
    config = _read_config(weights.parent / "config.json")
    architecture = config.get("architecture", "resnet50")
    if architecture in GENERATOR_ARCHITECTURES:
        raise ClassifierLoadError(f"{weights.parent} is a generator's model folder that ships "
                                  f"no {BUNDLED_FOLDER}/; pass --classifier FOLDER (make one "
                                  "with `ganpage train-classifier DATA --out FOLDER`)")
    if architecture not in IMAGENET_ARCHITECTURES:
        raise ClassifierLoadError(
            f"{weights.parent / 'config.json'}: architecture {architecture!r} is not one "
            f"ganpage has ({', '.join(IMAGENET_ARCHITECTURES)}); use a ResNet-50")
    state = read_weights(weights)
    num_classes = _class_count(state, weights)
    resnet = IMAGENET_ARCHITECTURES[architecture](num_classes)
    with_batch_counters(state, resnet)
    try:
        load_state_dict_strict(resnet, state)
    except GanpageError as error:
        raise ClassifierLoadError(f"{weights} is not a {architecture} ({error}); pass "
                                  f"{architecture} weights from timm or torchvision") from None
    net = ImageNetClassifierNet(resnet, input_step(config)).eval()
    categories = _categories(weights.parent, num_classes)
    model_id = slugify(name or weights.stem) or "imagenet-classifier"
    return LoadedClassifier(net, categories, float("nan"), [], model_id,
                            batch_size=IMAGENET_BATCH)


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors or a pickle read as data only (``weights_only``); one
    wrapper ({'state_dict': ...}) and DDP's 'module.' prefix are taken off."""
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    if path.suffix not in PICKLE_SUFFIXES:
        raise ClassifierLoadError(f"{path}: unknown weight file type; give a .safetensors, "
                                  ".pth, .pt or .bin file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        first = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise ClassifierLoadError(f"{path} was refused: it is not a plain state dict of "
                                  f"tensors ({first})") from None
    if isinstance(state, dict):
        wrapped = [state[k] for k in WRAPPER_KEYS if isinstance(state.get(k), dict)]
        state = wrapped[0] if wrapped else state
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ClassifierLoadError(f"{path} is not a state dict of tensors")
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def with_batch_counters(state: dict[str, torch.Tensor], net: nn.Module) -> None:
    """Add the batch norms' ``num_batches_tracked`` counters that old torchvision files (saved
    before PyTorch 0.4.1) lack; evaluation never reads them. Every other key stays checked."""
    for key, value in net.state_dict().items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)


def input_step(config: dict) -> ImageNetInput:
    """The input step from timm's ``pretrained_cfg`` if the config has one, else torchvision's."""
    cfg = config.get("pretrained_cfg") or {}
    settings: dict = {}
    try:
        if "input_size" in cfg:
            settings["image_size"] = int(cfg["input_size"][-1])
        if "crop_pct" in cfg:
            settings["crop_fraction"] = float(cfg["crop_pct"])
        if "interpolation" in cfg:
            settings["interpolation"] = str(cfg["interpolation"])
        for key in ("mean", "std"):
            if key in cfg:
                settings[key] = tuple(float(v) for v in cfg[key])
                if len(settings[key]) != 3:
                    raise ValueError(f"{key} has {len(settings[key])} values, not 3")
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise ClassifierLoadError(f"config.json: pretrained_cfg does not describe the input "
                                  f"({type(error).__name__}: {error}); fix or remove it") from None
    return ImageNetInput(**settings)


def _class_count(state: dict[str, torch.Tensor], weights: Path) -> int:
    fc = state.get("fc.weight")
    if fc is None or fc.ndim != 2:
        raise ClassifierLoadError(f"{weights} has no classifier layer fc.weight; pass ResNet-50 "
                                  "weights from timm or torchvision (conv1, layer1..4, fc)")
    return int(fc.shape[0])


def _categories(folder: Path, num_classes: int) -> CategorySet:
    """classes.json beside the weights, else ImageNet-1k's 1000 classes."""
    if (folder / "classes.json").is_file():
        categories = CategorySet.read(folder / "classes.json")
    elif num_classes == 1000:
        return imagenet_categories()
    else:
        raise ClassifierLoadError(f"the classifier in {folder} has {num_classes} classes, not "
                                  "ImageNet's 1000; put their names in a classes.json beside it")
    if len(categories) != num_classes:
        raise ClassifierLoadError(f"{folder / 'classes.json'} names {len(categories)} classes "
                                  f"but the weights have {num_classes}; make them agree")
    return categories


def _read_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ClassifierLoadError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ClassifierLoadError(f"{path} is not a JSON object")
    return config
