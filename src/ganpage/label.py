"""Any folder of pictures into a gallery, each named by a classifier's top-1 category
(``ganpage label``): the original site's first plan for an unconditional GAN's output.

A picture's id is ``source_image_id`` of its file's sha256 and its ``source`` is its file name
(relative to the folder), so a re-run skips what the index has. Pictures the classifier is not
sure of are kept, rejected by the rule ``unsure`` with the flag ``unsure``, for a person to see.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.classifiers.loaded import LoadedClassifier, check_same_classes
from ganpage.data.decode import DecodeLimits, RejectedImage, ResizeMode, decode_image, to_square
from ganpage.errors import GanpageError
from ganpage.gallery import MAX_SOURCE_LENGTH, Gallery, ImageRecord, source_image_id
from ganpage.generate import encode
from ganpage.models.classifier import Classifier
from ganpage.models.generator import Generator
from ganpage.progress import progress_bar

# Top-1 probability below which a picture is kept rejected as `unsure`, chosen on 2,728 emoji64
# generator pictures (seeds 0-3 of all 682 classes, truncation 0.7) named by its bundled
# classifier through this module (ganpage label DRAWN GALLERY --model emoji64
# --measure-threshold 4 --size 64 --format png):
#   threshold        0.0   0.1   0.2   0.3   0.4   0.5   0.6   0.7   0.8   0.9
#   kept (coverage)  1.000 0.974 0.798 0.603 0.461 0.343 0.264 0.178 0.096 0.029
#   right of kept    0.736 0.750 0.824 0.897 0.943 0.968 0.979 0.992 0.996 1.000
# 0.4 is the knee: 94% of the pictures it keeps are named right (1 in 18 wrong, against 1 in 10
# at 0.3), and each step above it buys at most 2.5 points of accuracy for 8-12 of coverage.
# Another classifier is calibrated differently: measure it the same way, pass --threshold.
DEFAULT_THRESHOLD = 0.4
MEASURE_TRUNCATION = 0.7  # the pictures DEFAULT_THRESHOLD was measured on
MEASURE_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
UNSURE = "unsure"
UNSURE_RULE = f"rule:{UNSURE}"
DEFAULT_SIZE = 256  # stored pictures: a square of this side
BATCH = 64  # files read, decoded, classified and indexed together


@dataclass
class LabelReport:
    """What a run did: pictures named (of which unsure), already indexed, skipped per reason."""

    named: int = 0
    unsure: int = 0
    already: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items()))
        return (f"{self.named} pictures named ({self.unsure} unsure, kept rejected), "
                f"{self.already} already there, {sum(self.skipped.values())} skipped"
                + (f" ({skipped})" if skipped else ""))


@dataclass
class Picture:
    """A decoded file on its way into the gallery."""

    source: str  # the file name relative to the folder, as shown on its page
    sha256: str
    image: Image.Image  # RGB, square, the stored size


def list_files(folder: Path) -> list[Path]:
    """Every file below ``folder`` (hidden ones and links excluded), in a stable order."""
    if not folder.is_dir():
        raise GanpageError(f"{folder} is not a folder; give the folder of pictures to name")
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if not name.startswith("."))
    return found


def source_name(path: Path, folder: Path) -> str:
    """The name shown for a picture: its path below the folder, printable, at most 1000
    characters (the gallery's limit); a file name is data, never a path again."""
    text = path.relative_to(folder).as_posix()
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= MAX_SOURCE_LENGTH else "..." + text[-(MAX_SOURCE_LENGTH - 3):]


def read_picture(path: Path, folder: Path, size: int, resize: ResizeMode,
                 limits: DecodeLimits) -> Picture:
    """Read and decode one file with the shared safe decoder, or raise ``RejectedImage``."""
    if path.is_symlink() or not path.is_file():
        raise RejectedImage("not_a_file")
    if path.stat().st_size > limits.max_bytes:
        raise RejectedImage("too_large")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RejectedImage("unreadable", error.strerror or "") from None
    image = to_square(decode_image(data, limits, at_least=size), size, resize)
    return Picture(source_name(path, folder), hashlib.sha256(data).hexdigest(), image)


def classifier_view(classifier: LoadedClassifier, image: Image.Image) -> np.ndarray:
    """uint8 (H, W, 3) as the classifier is fed: ganpage's own at the size it was trained at,
    an ImageNet one as stored (its input step resizes and crops)."""
    if isinstance(classifier.net, Classifier):
        side = classifier.net.config.image_size
        image = image.resize((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(image, dtype=np.uint8)


def label_folder(folder: Path, gallery: Gallery, classifier: LoadedClassifier,
                 threshold: float = DEFAULT_THRESHOLD, size: int = DEFAULT_SIZE,
                 resize: ResizeMode = ResizeMode.CROP, image_format: str = "webp",
                 limits: DecodeLimits | None = None,
                 show_progress: bool = True) -> LabelReport:
    """Name every picture of ``folder`` not yet in ``gallery`` by its top-1 category."""
    limits = limits or DecodeLimits()
    if not 0 <= threshold <= 1:
        raise GanpageError(f"threshold {threshold} is not a probability; give one in [0, 1]")
    files = list_files(folder)
    gallery.remove_stale_temporaries()
    _record_classifier(gallery, classifier, size)
    finish_unsure(gallery)
    report = LabelReport()
    seen: set[str] = set()
    with progress_bar() as bar:
        task = bar.add_task("labelling", total=len(files), unit="img", stats="",
                            visible=show_progress)
        for chunk in _chunks(files, BATCH):
            pictures = _new_pictures(chunk, folder, gallery, seen, report, size, resize, limits)
            if pictures:
                _add(gallery, classifier, pictures, threshold, image_format, report)
            bar.update(task, advance=len(chunk), stats=f"{report.unsure} unsure, "
                       f"{sum(report.skipped.values())} skipped")
    return report


def _new_pictures(chunk: list[Path], folder: Path, gallery: Gallery, seen: set[str],
                  report: LabelReport, size: int, resize: ResizeMode,
                  limits: DecodeLimits) -> list[Picture]:
    """The chunk's pictures whose content is neither indexed nor met earlier in this run."""
    pictures = []
    for path in chunk:
        try:
            pictures.append(read_picture(path, folder, size, resize, limits))
        except RejectedImage as error:
            report.skipped[error.reason] += 1
    indexed = gallery.existing_ids(source_image_id(p.sha256) for p in pictures)
    fresh = []
    for picture in pictures:
        image_id = source_image_id(picture.sha256)
        if image_id in indexed:
            report.already += 1
        elif image_id in seen:
            report.skipped["same_bytes_as_another_file"] += 1
        else:
            seen.add(image_id)
            fresh.append(picture)
    return fresh


def _add(gallery: Gallery, classifier: LoadedClassifier, pictures: list[Picture],
         threshold: float, image_format: str, report: LabelReport) -> None:
    """Classify, write and index one batch; then reject its unsure pictures by the rule."""
    probabilities = classifier.probabilities(
        np.stack([classifier_view(classifier, p.image) for p in pictures]))
    labels = probabilities.argmax(1)
    entries, unsure = [], []
    for picture, label, row in zip(pictures, labels, probabilities, strict=True):
        record = _record(classifier, picture, int(label), float(row[label]), threshold,
                         image_format)
        if record.flags:
            unsure.append(record.id)
        entries.append((record, encode(np.asarray(picture.image), image_format)))
    gallery.add(entries)
    if unsure:
        gallery.set_status("rejected", unsure, decided_by=UNSURE_RULE)
    report.named += len(entries)
    report.unsure += len(unsure)


def _record(classifier: LoadedClassifier, picture: Picture, label: int, probability: float,
            threshold: float, image_format: str) -> ImageRecord:
    category = classifier.categories[label]
    return ImageRecord(
        id=source_image_id(picture.sha256), category=category.slug,
        category_name=category.name, label=category.id, model_id=classifier.model_id,
        seed=None, truncation=1.0, width=picture.image.width, height=picture.image.height,
        format=image_format, sha256="", source=picture.source,
        # the same scores `ganpage curate` gives: the labelling classifier agrees by definition
        scores={"class_probability": round(probability, 4), "class_rank": 1},
        flags=[UNSURE] if probability < threshold else [])


def finish_unsure(gallery: Gallery) -> int:
    """Reject, by the rule, unsure pictures a killed run indexed but did not yet reject."""
    waiting = [r.id for r in gallery.records(["pending"])
               if r.imported and UNSURE in r.flags and not r.decided_by]
    return gallery.set_status("rejected", waiting, decided_by=UNSURE_RULE) if waiting else 0


def _record_classifier(gallery: Gallery, classifier: LoadedClassifier, size: int) -> None:
    """The about page's card for the imported pictures' "model": the classifier that named
    them."""
    card = (f"# {classifier.model_id}\n\nThese pictures were not made from a seed: they came "
            f"from a folder of files and were named by the classifier {classifier.model_id} "
            f"({len(classifier.categories)} classes, its top-1 category). Each picture's page "
            "gives its file name.\n")
    gallery.record_model(classifier.model_id, card, size, classifier.categories.to_dicts())


def draw_known_pictures(generator: Generator, classifier: LoadedClassifier, folder: Path,
                        seeds: int, truncation: float = MEASURE_TRUNCATION) -> int:
    """``<class id>-<seed>.png`` for seeds 0..seeds-1 of every class, into a new folder:
    pictures whose right name is known, to measure the classifier's threshold on
    (``threshold_table``); returns how many."""
    check_same_classes(classifier, generator.categories)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise GanpageError(f"{folder} is not a new folder; --measure-threshold draws its "
                           "pictures into one")
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for category in generator.categories:
        pixels = generator.sample([category.id] * seeds, list(range(seeds)), truncation)
        for seed in range(seeds):
            Image.fromarray(pixels[seed]).save(folder / f"{category.id}-{seed}.png")
            count += 1
    return count


def measure_threshold(model: str, classifier: str | None, folder: Path, gallery: Path,
                      seeds: int, threshold: float = DEFAULT_THRESHOLD, size: int = DEFAULT_SIZE,
                      resize: ResizeMode = ResizeMode.CROP, image_format: str = "webp",
                      show_progress: bool = True) -> list[str]:
    """``label --measure-threshold``: the model's own pictures (``draw_known_pictures`` into
    ``folder``) labelled into ``gallery`` as any folder is; what was done, then coverage and
    accuracy per threshold (``threshold_table``)."""
    from ganpage.classifiers import open_classifier
    from ganpage.models import load_generator

    scorer, generator = open_classifier(classifier, model), load_generator(model)
    count = draw_known_pictures(generator, scorer, folder, seeds)
    with Gallery.open(gallery, create=True) as target:
        report = label_folder(folder, target, scorer, threshold, size, resize, image_format,
                              show_progress=show_progress)
        table = threshold_table(target)
    return [f"{folder}: {count} pictures of {model} ({seeds} seeds x "
            f"{len(generator.categories)} classes, truncation {MEASURE_TRUNCATION}), named by "
            f"{scorer.model_id}; {gallery}: {report.summary()}", *table]


def threshold_table(gallery: Gallery) -> list[str]:
    """Per threshold: how many of the labelled ``draw_known_pictures`` are kept (top-1
    probability at least the threshold, the coverage) and how many of those, and of the rest,
    are named right."""
    records = [r for r in gallery.records() if r.imported]
    truth = np.array([int(r.source.split("-")[0]) for r in records])
    right = np.array([r.label for r in records]) == truth
    probability = np.array([r.scores["class_probability"] for r in records])
    lines = ["threshold  kept (coverage)  accuracy of kept  accuracy of the rest"]
    for threshold in MEASURE_THRESHOLDS:
        kept = probability >= threshold
        rest = f"{right[~kept].mean():.3f}" if (~kept).any() else "-"
        lines.append(f"{threshold:9.1f}  {kept.sum():5d} ({kept.mean():.3f})    "
                     f"{right[kept].mean() if kept.any() else float('nan'):.3f}"
                     f"             {rest}")
    return lines


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
