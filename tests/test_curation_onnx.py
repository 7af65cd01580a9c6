"""The classifier through onnxruntime (curation/onnx_classifier.py): exported once into the
cache, the same probabilities as PyTorch, used only when worth it, PyTorch on any failure."""

import numpy as np
import pytest
import torch

from ganpage.categories import CategorySet
from ganpage.classifiers.loaded import LoadedClassifier
from ganpage.curation import onnx_classifier
from ganpage.curation.onnx_classifier import OnnxClassifier, cache_folder, faster
from ganpage.models.classifier import Classifier, ClassifierConfig


@pytest.fixture
def classifier(monkeypatch, tmp_path) -> LoadedClassifier:
    monkeypatch.setenv("GANPAGE_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    net = Classifier(ClassifierConfig(num_classes=3, image_size=32, channels=4)).eval()
    return LoadedClassifier(net.fold_batch_norms(), CategorySet.from_names(["A", "B", "C"]),
                            0.5, [], "tiny-cls")


@pytest.mark.slow
def test_exported_once_it_gives_pytorchs_probabilities(classifier):
    fast = faster(classifier, onnx_classifier.EXPORT_MIN_PICTURES)
    assert isinstance(fast, OnnxClassifier) and fast.categories is classifier.categories
    pictures = np.random.default_rng(1).integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    assert np.abs(fast.probabilities(pictures) - classifier.probabilities(pictures)).max() < 1e-5
    (exported,) = cache_folder().glob("*.onnx")
    stamp = exported.stat().st_mtime_ns
    assert isinstance(faster(classifier, 1), OnnxClassifier)  # cached: used for one picture too
    assert exported.stat().st_mtime_ns == stamp


def test_few_pictures_do_not_pay_for_an_export(classifier):
    assert faster(classifier, 10) is classifier
    assert not cache_folder().exists()


def test_a_disagreeing_export_falls_back_to_pytorch(classifier, monkeypatch, caplog):
    monkeypatch.setattr(onnx_classifier, "PARITY_TOLERANCE", -1.0)  # nothing can agree
    assert faster(classifier, onnx_classifier.EXPORT_MIN_PICTURES) is classifier
    assert "PyTorch scores instead" in caplog.text


def test_classifiers_other_than_ganpages_are_left_alone():
    class Other:
        categories = CategorySet.from_names(["A", "B"])

    other = Other()
    assert faster(other, 10**6) is other
