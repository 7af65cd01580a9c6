"""ganpage.classifiers, the one way in: open_classifier reads ganpage classifier folders,
built-in names, and ImageNet ResNet-50 weights in timm's and torchvision's layouts (random
weights: no reference library is importable here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganpage.classifiers import (
    HUB_CLASSIFIERS,
    ClassifierLoadError,
    classifier_folder,
    open_classifier,
)
from ganpage.classifiers.imagenet import read_weights
from ganpage.classifiers.loaded import to_model_input
from ganpage.models.resnet import IMAGENET_MEAN, IMAGENET_STD, ImageNetInput, ResNet50

TIMM_CONFIG = {"architecture": "resnet50", "num_classes": 1000, "pretrained_cfg": {
    "input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.95,
    "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}}


def random_state() -> dict[str, torch.Tensor]:
    """A ResNet-50 state dict with random weights and batch-norm statistics."""
    torch.manual_seed(0)
    net = ResNet50()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    return {k: v.contiguous() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    """The same random weights as a timm folder (safetensors + config.json) and as a
    torchvision file (a pickled state dict without the batch counters, as old files are)."""
    root = tmp_path_factory.mktemp("resnet")
    state = random_state()
    timm = root / "timm-resnet50"
    timm.mkdir()
    save_file(state, str(timm / "model.safetensors"))
    (timm / "config.json").write_text(json.dumps(TIMM_CONFIG))
    torchvision = root / "resnet50-0676ba61.pth"
    torch.save({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")},
               torchvision)
    return {"timm": timm, "torchvision": torchvision, "root": root}


def pictures(count: int = 2, size: int = 128) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_resnet50_has_torchvisions_parameters_and_shapes():
    net = ResNet50()
    state = net.state_dict()
    # torchvision's resnet50: 25,557,032 parameters, 320 state-dict entries
    assert sum(p.numel() for p in net.parameters()) == 25_557_032
    assert len(state) == 320
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer4.2.bn3.running_var"].shape == (2048,)
    assert state["fc.weight"].shape == (1000, 2048)
    assert "layer2.0.downsample.1.num_batches_tracked" in state
    assert "layer1.1.downsample.0.weight" not in state
    # "v1.5": the stride of a stage's first block is on its 3x3 conv, not its first 1x1
    assert net.layer2[0].conv2.stride == (2, 2) and net.layer2[0].conv1.stride == (1, 1)
    with torch.inference_mode():
        assert net.features(torch.zeros(1, 3, 224, 224)).shape == (1, 2048)


def test_input_step_is_a_centre_crop_and_imagenet_normalisation():
    step = ImageNetInput()  # torchvision: 256 then the centre 224
    images = torch.rand(2, 3, 256, 256) * 2 - 1
    expected = ((images[..., 16:240, 16:240] + 1) / 2
                - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None,
                                                                                          None]
    assert torch.allclose(step(images), expected, atol=1e-5)
    grey = step(torch.zeros(1, 3, 64, 96))  # any size: the shorter side is resized
    assert grey.shape == (1, 3, 224, 224)
    assert torch.allclose(grey[0, :, 100, 100],
                          (0.5 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD),
                          atol=1e-5)


@pytest.mark.slow
def test_timm_folder_and_torchvision_file_load_the_same_network(weights):
    timm = open_classifier(weights["timm"])
    torchvision = open_classifier(weights["torchvision"])
    assert timm.net.preprocess.interpolation == "bicubic"
    assert timm.net.preprocess.crop_fraction == 0.95
    assert torchvision.net.preprocess == ImageNetInput()  # torchvision's defaults
    assert len(timm.categories) == 1000 and timm.categories[207].name == "Golden Retriever"
    assert torchvision.model_id == "resnet50-0676ba61"
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        assert torch.equal(timm.net.resnet(x), torchvision.net.resnet(x))
        reference = ResNet50().eval()
        reference.load_state_dict(random_state())
        assert torch.allclose(timm.net.resnet(x), reference(x))
    labels, features = timm.predict(pictures())
    assert labels.shape == (2,) and features.shape == (2, 2048)
    probabilities = timm.probabilities(pictures())
    assert probabilities.shape == (2, 1000)
    assert np.allclose(probabilities.sum(1), 1, atol=1e-4)
    assert np.array_equal(probabilities.argmax(1), labels)
    with torch.inference_mode():
        direct = reference(timm.net.preprocess(to_model_input(pictures()))).softmax(1)
    assert np.allclose(probabilities, direct.numpy(), atol=1e-5)
    assert math.isnan(timm.held_out_accuracy) and timm.batch_size == 32


def test_a_wrapped_and_ddp_prefixed_checkpoint_loads(weights):
    state = random_state()
    path = weights["root"] / "wrapped.pt"
    torch.save({"epoch": 90, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    loaded = read_weights(path)
    assert set(loaded) == set(state)
    assert torch.equal(loaded["fc.bias"], state["fc.bias"])


@pytest.mark.parametrize("damage, named", [
    ("swap", "wrong shape"),  # two keys' names exchanged (a permuted key set)
    ("rename", "missing"),  # timm's resnet50d stem, say: other names
    ("drop", "missing"),
])
def test_weights_of_another_network_fail_in_one_line(tmp_path, damage, named):
    state = random_state()
    if damage == "swap":
        a, b = "layer1.0.conv1.weight", "layer1.0.conv2.weight"
        state[a], state[b] = state[b], state[a]
    elif damage == "rename":
        state["conv1.0.weight"] = state.pop("conv1.weight")
    else:
        del state["layer3.5.bn2.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(ClassifierLoadError) as error:
        open_classifier(tmp_path)
    message = str(error.value)
    assert named in message and "\n" not in message and "resnet50" in message


def test_a_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weights": Path("x")}, path)  # an object, not tensors: weights_only refuses it
    with pytest.raises(ClassifierLoadError, match="refused|not a state dict"):
        open_classifier(path)


def test_another_class_count_needs_its_class_names(tmp_path):
    state = random_state()
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:3], state["fc.bias"][:3]
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(ClassifierLoadError, match="classes.json"):
        open_classifier(tmp_path)
    (tmp_path / "classes.json").write_text(json.dumps(
        [{"id": i, "name": n} for i, n in enumerate(["Cat", "Dog", "Fox"])]))
    classifier = open_classifier(tmp_path)
    assert [c.name for c in classifier.categories] == ["Cat", "Dog", "Fox"]
    assert classifier.probabilities(pictures(1, 32)).shape == (1, 3)


def test_a_hub_repo_id_is_downloaded_then_loaded(weights, monkeypatch):
    import huggingface_hub

    asked = []

    def fake_snapshot_download(repo_id, allow_patterns):
        asked.append((repo_id, allow_patterns))
        return str(weights["timm"])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    classifier = open_classifier("someone/resnet50-weights")
    assert asked[0][0] == "someone/resnet50-weights"
    assert "model.safetensors" in asked[0][1] and "config.json" in asked[0][1]
    assert classifier.model_id == "someone-resnet50-weights"
    open_classifier("resnet50")
    assert asked[1][0] == HUB_CLASSIFIERS["resnet50"] == "timm/resnet50.a1_in1k"


def test_an_unreachable_hub_is_one_line(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def offline(repo_id, allow_patterns):
        raise LocalEntryNotFoundError("offline and not in the cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ClassifierLoadError, match="could not fetch .*'owner/name'"):
        open_classifier("owner/name")


def test_builtin_and_model_folders_give_ganpages_own_classifier(tiny_model):
    emoji = open_classifier("emoji64")
    assert len(emoji.categories) > 600 and emoji.held_out_accuracy > 0
    with pytest.raises(ClassifierLoadError, match="generator's model folder"):
        open_classifier(tiny_model)
    with pytest.raises(ClassifierLoadError, match="no classifier 'nope'"):
        open_classifier("nope")


def test_a_hub_repo_id_loads_from_the_cache_when_offline(weights, tmp_path, monkeypatch):
    """The real snapshot_download, offline, reading a cache laid out as the Hub's client
    writes it (refs/main -> snapshots/<commit>/...)."""
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--someone--resnet50-cached"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).symlink_to(weights["timm"] / name)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    classifier = open_classifier("someone/resnet50-cached")
    assert classifier.net.preprocess.interpolation == "bicubic"
    assert classifier.model_id == "someone-resnet50-cached"
    with pytest.raises(ClassifierLoadError, match="could not fetch .*'someone/not-cached'"):
        open_classifier("someone/not-cached")


def test_without_a_spec_the_model_ships_the_classifier(tmp_path):
    from ganpage.models.loading import builtin_models

    shipped = open_classifier(None, "emoji64")
    assert shipped.model_id == open_classifier("emoji64").model_id
    assert classifier_folder("emoji64") == builtin_models()["emoji64"] / "classifier"
    with pytest.raises(ClassifierLoadError, match="no classifier given"):
        open_classifier(None)
    (tmp_path / "model").mkdir()
    with pytest.raises(Exception, match="ships no classifier; pass --classifier"):
        open_classifier(None, tmp_path / "model")


def test_only_a_ganpage_classifier_is_shipped_in_a_model_folder(weights):
    with pytest.raises(ClassifierLoadError, match="not a classifier made by `ganpage train-"):
        classifier_folder(weights["timm"])
