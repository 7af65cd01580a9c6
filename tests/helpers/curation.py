"""Hand-made pictures, data sets, galleries and a tiny classifier for the curation tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ganpage.categories import CategorySet
from ganpage.data.dataset import DatasetWriter
from ganpage.gallery import Gallery, ImageRecord

SIZE = 64
CLASSES = ["Red", "Green", "Blue"]
CHANNEL = {"red": 0, "green": 1, "blue": 2}


def shapes(seed: int, colour: int, size: int = SIZE) -> np.ndarray:
    """A few filled ellipses and boxes on white, mostly in one colour channel: (S, S, 3) uint8."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = rng.integers(2, size // 2, 2)
        width, height = rng.integers(size // 4, size // 2, 2)
        x1, y1 = x0 + width, y0 + height
        fill = [int(v) for v in rng.integers(0, 90, 3)]
        fill[colour] = int(rng.integers(180, 256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x0), int(y0), int(x1), int(y1)), fill=tuple(fill))
    return np.asarray(image)


def shifted(picture: np.ndarray, pixels: int) -> np.ndarray:
    """The picture moved right and down by ``pixels``, the gap filled white."""
    out = np.full_like(picture, 255)
    out[pixels:, pixels:] = picture[:-pixels, :-pixels]
    return out


def training_data(root: Path, per_class: int = 10) -> Path:
    """A data set of 3 classes of shape pictures (seeds class * 100 + i)."""
    writer = DatasetWriter(root, SIZE)
    for colour, name in enumerate(CLASSES):
        for i in range(per_class):
            writer.add(Image.fromarray(shapes(colour * 100 + i, colour)), name, f"p{i}")
    writer.finish()
    return root


def png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue()


def make_gallery(root: Path, pictures: list[tuple[str, np.ndarray]],
                 model_id: str = "shapes") -> dict[str, str]:
    """A gallery of (category name, picture) in order; returns name -> id where the name is
    'category#index'."""
    categories = CategorySet.from_names(CLASSES)
    ids = {}
    with Gallery.open(root, create=True) as gallery:
        for seed, (name, picture) in enumerate(pictures):
            category = categories.lookup(name)
            record = ImageRecord(id=f"pic{seed:04d}", category=category.slug,
                                 category_name=category.name, label=category.id,
                                 model_id=model_id, seed=seed, truncation=0.7,
                                 width=picture.shape[1], height=picture.shape[0], format="png",
                                 sha256="")
            gallery.add([(record, png(picture))])
            ids[f"{category.slug}#{seed}"] = record.id
    return ids


class ColourClassifier:
    """A tiny classifier: the softmax of each picture's mean red, green and blue values times
    ``sharpness`` (so a mostly-red picture is "Red")."""

    def __init__(self, sharpness: float = 0.2):
        self.categories = CategorySet.from_names(CLASSES)
        self.model_id = "colour-test"
        self.sharpness = sharpness

    def probabilities(self, pictures: np.ndarray) -> np.ndarray:
        logits = self.sharpness * pictures.astype(np.float32).mean(axis=(1, 2))  # (N, 3)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
