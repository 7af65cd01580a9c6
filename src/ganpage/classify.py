"""Train, save, load and apply the data set's classifier (``ganpage train-classifier``).

One picture per class (for classes with at least 3) is held out, seeded, so its accuracy on
real pictures it never saw is the yardstick for the Classification Accuracy Score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganpage.atomic import atomic_write_text
from ganpage.augment import translate
from ganpage.categories import CategorySet
from ganpage.data.dataset import TrainingSet, load_training_set
from ganpage.errors import GanpageError
from ganpage.models.classifier import Classifier, ClassifierConfig
from ganpage.models.loading import (
    load_state_dict_strict,
    read_safetensors,
    resolve_model_dir,
    save_model,
)
from ganpage.progress import progress_bar

CLASSIFIER_ARCHITECTURE = "ganpage-classifier"
BUNDLED_FOLDER = "classifier"  # a model folder may ship its data set's classifier here


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


def split_held_out(labels: np.ndarray, seed: int) -> list[int]:
    """One random index per class with at least 3 pictures."""
    rng = np.random.default_rng(seed)
    held_out = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) >= 3:
            held_out.append(int(rng.choice(members)))
    return sorted(held_out)


def _augment(x: torch.Tensor) -> torch.Tensor:
    """Random x-flips and shifts of up to 1/16 that repeat the edge pixels (colour is left
    alone: it names many things). Real emoji never have the grey strip a zero fill leaves;
    edge fill took held-out accuracy on emoji64 from 39% to 43%."""
    flip = torch.rand(x.shape[0]) < 0.5
    x = x.clone()
    x[flip] = x[flip].flip(3)
    return translate(x, ratio=0.0625, fill="edge")


def accuracy(net: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) == 0:
        return float("nan")
    net.eval()
    with torch.inference_mode():
        predicted = torch.cat([net(to_model_input(images[i:i + 256])).argmax(1)
                               for i in range(0, len(images), 256)])
    return float((predicted.numpy() == labels).mean())


def train_classifier(data: Path, out: Path, epochs: int = 30, batch_size: int = 64,
                     channels: int = 32, seed: int = 0, show_progress: bool = True) -> dict:
    """Train on the data set minus the held-out pictures; save a model folder; return metrics."""
    torch.manual_seed(seed)
    dataset = load_training_set(data)
    held_out = split_held_out(dataset.labels, seed)
    train_index = np.setdiff1d(np.arange(len(dataset.labels)), held_out)
    config = ClassifierConfig(len(dataset.categories), dataset.image_size, channels)
    net = Classifier(config)
    optimiser = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=5e-4)
    steps = epochs * max(1, len(train_index) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 2e-3, total_steps=steps)
    images = torch.from_numpy(dataset.images)
    labels = torch.from_numpy(dataset.labels)
    with progress_bar() as bar:
        task = bar.add_task("classifier", total=steps, unit="step", stats="",
                            visible=show_progress)
        net.train()
        for _ in range(steps):
            batch = torch.from_numpy(train_index)[torch.randint(len(train_index), (batch_size,))]
            x = _augment(images[batch].float() / 127.5 - 1)
            loss = F.cross_entropy(net(x), labels[batch], label_smoothing=0.1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            bar.update(task, advance=1, stats=f"loss {loss.item():.3f}")
    metrics = _evaluate(net, dataset, held_out, train_index)
    _save(out, net, config, dataset, held_out, metrics)
    return metrics


def _evaluate(net: Classifier, dataset: TrainingSet, held_out: list[int],
              train_index: np.ndarray) -> dict:
    images = dataset.images.transpose(0, 2, 3, 1)
    return {
        "held_out_accuracy": accuracy(net, images[held_out], dataset.labels[held_out]),
        "train_accuracy": accuracy(net, images[train_index], dataset.labels[train_index]),
        "held_out_count": len(held_out),
        "chance": 1 / len(dataset.categories),
    }


def _save(out: Path, net: Classifier, config: ClassifierConfig, dataset: TrainingSet,
          held_out: list[int], metrics: dict) -> None:
    card = (f"# classifier for {dataset.root.name}\n\n{len(dataset.categories)} classes, "
            f"held-out accuracy {metrics['held_out_accuracy']:.3f} on {len(held_out)} "
            f"pictures (chance {metrics['chance']:.4f}).\n")
    save_model(out, architecture=CLASSIFIER_ARCHITECTURE, model_id=f"{dataset.root.name}-cls",
               config=config.to_dict(), net=net, categories=dataset.categories, card=card)
    atomic_write_text(out / "metrics.json", json.dumps(
        {**metrics, "held_out": held_out, "data": str(dataset.root)}, indent=1) + "\n")


def load_classifier(folder: Path) -> LoadedClassifier:
    """Read a folder written by ``train_classifier``."""
    if not (folder / "metrics.json").is_file():
        raise GanpageError(f"{folder} is not a classifier folder; make one with "
                           "`ganpage train-classifier DATA --out FOLDER`")
    meta = json.loads((folder / "config.json").read_text())
    net = Classifier(ClassifierConfig.from_dict(meta["config"]))
    load_state_dict_strict(net, read_safetensors(folder / "model.safetensors"))
    net.eval().fold_batch_norms()  # a loaded classifier only predicts
    metrics = json.loads((folder / "metrics.json").read_text())
    categories = CategorySet.read(folder / "classes.json")
    return LoadedClassifier(net, categories, metrics["held_out_accuracy"], metrics["held_out"],
                            meta.get("model_id") or folder.name)


def bundled_classifier(model: str) -> Path:
    """The classifier shipped inside a model folder (``MODEL/classifier``), or a clear error."""
    folder = resolve_model_dir(model) / BUNDLED_FOLDER
    if not (folder / "metrics.json").is_file():
        raise GanpageError(f"model {model!r} ships no classifier; pass --classifier FOLDER "
                           "(make one with `ganpage train-classifier DATA --out FOLDER`)")
    return folder


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
