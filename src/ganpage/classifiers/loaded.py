"""What every opened classifier is (``LoadedClassifier``), whatever its files: a network over
uint8 pictures with its class names, for curation, labelling and scoring generators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganpage.categories import CategorySet
from ganpage.errors import GanpageError
from ganpage.models.classifier import Classifier


class ClassifierLoadError(GanpageError):
    """A classifier that cannot be found, or whose files do not hold what they claim."""


@dataclass
class LoadedClassifier:
    net: Classifier
    categories: CategorySet
    held_out_accuracy: float
    held_out: list[int]  # indices into the data set's manifest order
    model_id: str = ""
    # pictures per forward pass (an ImageNet ResNet-50 at 224 px: 32). 32 keeps the 64 px
    # activations in cache: emoji64's classifier ran 622 pictures/s per core at 32 and 337 at
    # 256 (CPU time, one thread, benchmarks/curate.py's machine)
    batch_size: int = 32

    @torch.inference_mode()
    def predict(self, images: np.ndarray,
                batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """uint8 pictures (N, H, W, 3) -> (labels (N,), features (N, D))."""
        batch_size = batch_size or self.batch_size
        labels, features = [], []
        for start in range(0, len(images), batch_size):
            x = to_model_input(images[start:start + batch_size])
            f = self.net.features(x)
            labels.append(self.net.head(f).argmax(1))
            features.append(f)
        return torch.cat(labels).numpy(), torch.cat(features).numpy()

    @torch.inference_mode()
    def probabilities(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """uint8 pictures (N, H, W, 3) -> every class's probability (N, num_classes), float32."""
        batch_size = batch_size or self.batch_size
        return torch.cat([self.net(to_model_input(images[start:start + batch_size])).softmax(1)
                          for start in range(0, len(images), batch_size)]).numpy()

    @torch.inference_mode()
    def probability_of(self, images: np.ndarray, labels: np.ndarray,
                       batch_size: int | None = None) -> np.ndarray:
        """uint8 pictures (N, H, W, 3) + class ids (N,) -> the classifier's probability (N,)
        that each picture shows its class (curation's score)."""
        batch_size = batch_size or self.batch_size
        scores = []
        for start in range(0, len(images), batch_size):
            logits = self.net(to_model_input(images[start:start + batch_size]))
            chosen = torch.as_tensor(labels[start:start + batch_size], dtype=torch.long)
            scores.append(logits.softmax(1).gather(1, chosen[:, None]).squeeze(1))
        return torch.cat(scores).numpy()


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (N, 3, H, W) -> float (N, 3, H, W) in [-1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if tensor.shape[-1] == 3:
        tensor = tensor.permute(0, 3, 1, 2)
    return tensor.float() / 127.5 - 1


def check_same_classes(classifier: LoadedClassifier, categories: CategorySet) -> None:
    """Scores mean nothing if the classifier's class ids are not the generator's."""
    ours = [c.name for c in classifier.categories]
    theirs = [c.name for c in categories]
    fix = "train the classifier on the generator's data set"
    if len(ours) != len(theirs):
        raise GanpageError(f"the classifier knows {len(ours)} classes and the generator "
                           f"{len(theirs)}; {fix}")
    for class_id, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if a != b:
            raise GanpageError(f"the classifier and the generator name their classes "
                               f"differently (class {class_id} is {a!r} vs {b!r}); {fix}")
