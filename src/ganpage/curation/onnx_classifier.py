"""A ganpage classifier run by onnxruntime for curation: 1.84x the pictures per CPU-second of
PyTorch at batch 32 (emoji64's: 920 vs 499, one thread), the largest part of curating.

The network is exported once per set of weights (their sha256) into the cache
(``$GANPAGE_CACHE/onnx-classifiers``, default ``~/.cache/ganpage``) and checked against PyTorch
on a batch each time it is opened; a failure of either falls back to PyTorch. Exporting takes
seconds, so a first run uses it only for ``EXPORT_MIN_PICTURES`` pictures or more.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganpage.atomic import atomic_write_with
from ganpage.categories import CategorySet
from ganpage.classifiers.loaded import LoadedClassifier, to_model_input
from ganpage.models.classifier import Classifier

BATCH = 32
PARITY_TOLERANCE = 1e-4  # largest probability difference from PyTorch accepted
EXPORT_MIN_PICTURES = 5000  # export ~5 s vs ~1 ms saved per picture

log = logging.getLogger(__name__)


@dataclass
class OnnxClassifier:
    """The parts of ``LoadedClassifier`` that curation calls, over an onnxruntime session."""

    categories: CategorySet
    model_id: str
    session: object  # onnxruntime.InferenceSession
    batch_size: int = BATCH

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """uint8 pictures (N, H, W, 3) -> the softmax over every class, float32 (N, C)."""
        logits = [self.session.run(None, {"images": to_model_input(
            images[start:start + self.batch_size]).numpy()})[0]
            for start in range(0, len(images), self.batch_size)]
        return torch.from_numpy(np.concatenate(logits)).softmax(1).numpy()


def cache_folder() -> Path:
    root = os.environ.get("GANPAGE_CACHE") or Path("~/.cache/ganpage").expanduser()
    return Path(root) / "onnx-classifiers"


def weights_digest(net: torch.nn.Module) -> str:
    """sha256 of the network's tensors, names and shapes (the weights as loaded and folded)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def faster(classifier, pictures_to_score: int):
    """``classifier`` through onnxruntime when that is worth it and agrees with PyTorch; else
    ``classifier`` itself."""
    if not isinstance(classifier, LoadedClassifier) or not isinstance(classifier.net,
                                                                       Classifier):
        return classifier
    path = cache_folder() / f"{weights_digest(classifier.net)[:32]}.onnx"
    if not path.is_file() and pictures_to_score < EXPORT_MIN_PICTURES:
        return classifier
    try:
        if not path.is_file():
            atomic_write_with(path, lambda temporary: _export(classifier.net, temporary))
        return _checked(classifier, path)
    except Exception as error:  # noqa: BLE001 - any failure leaves PyTorch doing the work
        log.warning("onnxruntime not used for the classifier (%s); PyTorch scores instead",
                    str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        return classifier


def _export(net: Classifier, path: Path) -> None:
    size = net.config.image_size
    example = torch.zeros(2, 3, size, size)
    # torch's exporter trips its own deprecations and logs that torchvision's ops are absent
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (example,), str(path), input_names=["images"],
                              output_names=["logits"], dynamo=True, external_data=False,
                              dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
                              verbose=False)
    finally:
        registration.setLevel(level)


def _checked(classifier: LoadedClassifier, path: Path) -> OnnxClassifier:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    fast = OnnxClassifier(classifier.categories, classifier.model_id, session)
    size = classifier.net.config.image_size
    probe = np.random.default_rng(0).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    difference = float(np.abs(fast.probabilities(probe)
                              - classifier.probabilities(probe)).max())
    if not difference <= PARITY_TOLERANCE:
        raise ValueError(f"{path.name} differs from PyTorch by {difference:.2g}")
    return fast
