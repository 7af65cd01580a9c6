"""The on-disk training set every importer writes and the trainer reads.

Layout: ``DATA/<class-slug>/<name>.png`` (square RGB), ``DATA/classes.json`` (the categories),
``DATA/manifest.jsonl`` (one row per picture: path, class, source, licence, hashes) and
``DATA/report.json`` (counts, and every rejected input with its reason).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.atomic import atomic_write_bytes, atomic_write_text
from ganpage.categories import CategorySet, slugify
from ganpage.data.decode import difference_hash, hamming
from ganpage.errors import GanpageError

MANIFEST = "manifest.jsonl"
CLASSES = "classes.json"
REPORT = "report.json"


class DatasetError(GanpageError):
    """A data set folder that is missing, empty or unusable for training."""


@dataclass
class DatasetWriter:
    """Collects square pictures per class, drops exact and near duplicates, writes the layout."""

    out: Path
    size: int
    near_duplicate_bits: int = 4  # dHash Hamming distance at or below which two are the same
    rows: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    _hashes: dict[str, list[int]] = field(default_factory=dict)
    _digests: set[str] = field(default_factory=set)
    _class_names: dict[str, str] = field(default_factory=dict)  # slug -> the one class name
    _paths: set[str] = field(default_factory=set)

    def add(self, image: Image.Image, class_name: str, name: str, **extra: str) -> bool:
        """Write one picture (already ``size`` x ``size`` RGB); False if it was a duplicate."""
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        data = buffer.getvalue()
        digest = hashlib.sha256(np.asarray(image).tobytes()).hexdigest()
        source = extra.get("source_path", name)
        slug = self._class_slug(class_name)
        if digest in self._digests:
            self.reject(source, "duplicate")
            return False
        dhash = difference_hash(image)
        if any(hamming(dhash, other) <= self.near_duplicate_bits
               for other in self._hashes.get(slug, ())):
            self.reject(source, "near_duplicate")
            return False
        self._digests.add(digest)
        self._hashes.setdefault(slug, []).append(dhash)
        relative = self._free_path(slug, slugify(name))
        atomic_write_bytes(self.out / relative, data, durable=False)
        self.rows.append({"path": relative, "class": slug, "class_name": class_name,
                          "sha256": digest, "dhash": f"{dhash:016x}", **extra})
        return True

    def _class_slug(self, class_name: str) -> str:
        """The folder of a class; two names that slug alike would silently become one class."""
        slug = slugify(class_name)
        known = self._class_names.setdefault(slug, class_name)
        if known != class_name:
            raise DatasetError(f"classes {known!r} and {class_name!r} would share the folder "
                               f"{slug!r} and become one class; rename one of them")
        return slug

    def _free_path(self, slug: str, stem: str) -> str:
        """``<slug>/<stem>.png``, or ``<stem>-2.png``... when another picture took that name
        ('A.png' and 'a.png', 'a b.jpg' and 'a-b.jpg' have one stem)."""
        relative, number = f"{slug}/{stem}.png", 2
        while relative in self._paths:
            relative, number = f"{slug}/{stem}-{number}.png", number + 1
        self._paths.add(relative)
        return relative

    def reject(self, source: str, reason: str) -> None:
        self.rejected.append({"source": source, "reason": reason})

    def finish(self, min_per_class: int = 1, **report_extra: object) -> dict:
        """Write classes.json, manifest.jsonl and report.json; return the report."""
        counts = Counter(row["class"] for row in self.rows)
        kept = {slug for slug, n in counts.items() if n >= min_per_class}
        rows = sorted((r for r in self.rows if r["class"] in kept), key=lambda r: r["path"])
        names = {r["class"]: r["class_name"] for r in rows}
        ordered = sorted(names, key=lambda s: names[s].lower())
        categories = CategorySet.from_names([names[s] for s in ordered])
        atomic_write_text(self.out / CLASSES, json.dumps(categories.to_dicts(), indent=1) + "\n")
        atomic_write_text(self.out / MANIFEST, "".join(json.dumps(r) + "\n" for r in rows))
        report = {
            "image_size": self.size, "classes": len(categories), "images": len(rows),
            "images_per_class": {names[s]: counts[s] for s in ordered},
            "rejected_by_reason": dict(Counter(r["reason"] for r in self.rejected)),
            "rejected": self.rejected, **report_extra,
        }
        atomic_write_text(self.out / REPORT, json.dumps(report, indent=1) + "\n")
        return report


@dataclass
class TrainingSet:
    """A data set in memory: images (N, 3, S, S) uint8, labels (N,), and its categories; with
    a style label, styles (N,) indexing ``style_names`` (sorted)."""

    images: np.ndarray
    labels: np.ndarray
    categories: CategorySet
    root: Path
    styles: np.ndarray | None = None
    style_names: list[str] = field(default_factory=list)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])


def _read_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read as a picture ({error}); re-make the data "
                           "set with `ganpage data ...`") from None


def _read_manifest(path: Path) -> list:
    """The rows of manifest.jsonl; a damaged file is one DatasetError."""
    try:
        text = path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is damaged ({error}); re-make the data set with "
                           "`ganpage data ...`") from None


def picture_path(root: Path, row: object, slugs: set[str]) -> Path:
    """A manifest row's picture: a file inside ``root`` of a class in classes.json. The
    manifest may come from elsewhere, so its names never become paths unchecked."""
    path = row.get("path") if isinstance(row, dict) else None
    if (not isinstance(path, str) or row.get("class") not in slugs
            or Path(path).is_absolute() or ".." in Path(path).parts):
        raise DatasetError(f"{root / MANIFEST}: row {row!r} does not name a picture of a class "
                           f"in {CLASSES}; re-make the data set with `ganpage data ...`")
    return root / path


def read_styles(rows: list[dict], field_name: str, root: Path) -> tuple[np.ndarray, list[str]]:
    """Each row's value of the manifest field ``field_name`` (e.g. ``source``: the emoji set a
    picture comes from) as a style label: (N,) ids into the sorted distinct values."""
    values = [row.get(field_name) for row in rows]
    missing = sum(not isinstance(value, str) or not value for value in values)
    if missing:
        known = sorted({key for row in rows for key, value in row.items()
                        if isinstance(value, str)} - {"path", "sha256", "dhash"})
        raise DatasetError(f"--style-label {field_name}: {missing} of {len(rows)} pictures in "
                           f"{root / MANIFEST} have no such field; fields there: "
                           f"{', '.join(known)}")
    names = sorted(set(values))
    if len(names) < 2:
        raise DatasetError(f"--style-label {field_name}: every picture has the value "
                           f"{names[0]!r}; a style label needs at least 2 values")
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[value] for value in values], dtype=np.int64), names


def load_training_set(root: str | Path, style_label: str = "") -> TrainingSet:
    """Read a data set written by ``ganpage data ...``; clear errors for empty or odd ones.
    ``style_label`` names a manifest field whose values become a second label."""
    root = Path(root)
    if not (root / MANIFEST).is_file() or not (root / CLASSES).is_file():
        raise DatasetError(f"{root} is not a ganpage data set (no {MANIFEST}/{CLASSES}); make "
                           "one with `ganpage data folder` or `ganpage data emoji`")
    categories = CategorySet.read(root / CLASSES)
    rows = _read_manifest(root / MANIFEST)
    if not rows:
        raise DatasetError(f"{root} holds no pictures")
    if len(categories) < 2:
        raise DatasetError(f"{root} has {len(categories)} class; a class-conditional GAN needs "
                           "at least 2 (put pictures in one sub-folder per class)")
    slug_to_id = {c.slug: c.id for c in categories}
    paths = [picture_path(root, row, set(slug_to_id)) for row in rows]
    pictures = [_read_rgb(path) for path in paths]
    if len({p.shape for p in pictures}) > 1:
        raise DatasetError(f"{root} mixes picture sizes; re-make it with one --size")
    images = np.stack(pictures)
    labels = np.array([slug_to_id[r["class"]] for r in rows], dtype=np.int64)
    styles, style_names = read_styles(rows, style_label, root) if style_label else (None, [])
    return TrainingSet(images.transpose(0, 3, 1, 2).copy(), labels, categories, root, styles,
                       style_names)
