"""Model -> gallery: plan the pictures, skip those already made, generate the rest in batches.

The plan is a pure function of the arguments, so re-running the same command after Ctrl-C or
kill -9 finishes the set without duplicates; ``--shard I/N`` (or ``auto``, ``shards.py``) takes
every N-th job from offset I, so N processes can split one plan and merge their galleries
afterwards.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ganpage.categories import Category, preset_categories
from ganpage.category_scores import best_categories
from ganpage.errors import GanpageError
from ganpage.gallery import Gallery, ImageRecord, image_id
from ganpage.models.generator import Generator
from ganpage.noise import MAX_SEED
from ganpage.progress import progress_bar
from ganpage.rng import StableRandom
from ganpage.shards import WHOLE, Shard


@dataclass(frozen=True)
class TruncationRange:
    """A fixed truncation (low == high) or a range sampled per picture, rounded to 2 decimals."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> TruncationRange:
        """'0.5' or '0.4:0.7' -> TruncationRange; values must lie in (0, 1]."""
        try:
            parts = [float(p) for p in text.split(":")]
        except ValueError:
            parts = []
        if len(parts) == 1:
            parts *= 2
        if len(parts) != 2 or not all(0.0 < p <= 1.0 for p in parts) or parts[0] > parts[1]:
            raise GanpageError(
                f"bad truncation {text!r}: give one value like 0.5 or a range like 0.4:0.7, "
                "within (0, 1]"
            )
        return cls(parts[0], parts[1])

    def for_picture(self, label: int, seed: int) -> float:
        """The truncation of one picture: a pure function of (label, seed)."""
        if self.low == self.high:
            return self.low
        digest = hashlib.sha256(f"truncation|{label}|{seed}".encode()).digest()
        fraction = int.from_bytes(digest[:4], "big") / 2**32
        return round(self.low + (self.high - self.low) * fraction, 2)


@dataclass(frozen=True)
class PictureJob:
    """One picture to make: its category, seed, truncation and the id they determine."""

    category: Category
    seed: int
    truncation: float
    id: str


def choose_categories(generator: Generator, names: Sequence[str] = (),
                      random_count: int | None = None, seed: int = 0,
                      preset: str | None = None, best: int | None = None) -> list[Category]:
    """Categories by name, the ``best`` ones by the model's shipped scores, a seeded random
    choice of ``random_count``, or all of them; a preset (ImageNet models) narrows the last two
    first."""
    ways = [name for name, given in (("--category", bool(names)), ("--best-categories",
            best is not None), ("--random-categories", random_count is not None)) if given]
    if len(ways) > 1:
        raise GanpageError(f"{' and '.join(ways)} cannot be combined; choose categories one way")
    if names:
        return generator.categories.lookup_all(names)
    if best is not None:
        return best_categories(generator, best)
    everything = list(generator.categories)
    if preset is not None:
        everything = preset_categories(generator.categories, preset)
    if random_count is None:
        return everything
    if not 0 < random_count <= len(everything):
        raise GanpageError(
            f"--random-categories must be between 1 and {len(everything)}, got {random_count}"
        )
    return sorted(StableRandom(seed).sample(everything, random_count), key=lambda c: c.id)


def plan(generator: Generator, categories: Sequence[Category], per_category: int,
         truncation: TruncationRange, first_seed: int = 0,
         shard: Shard = WHOLE) -> list[PictureJob]:
    """Every picture of the job (this shard's part), in a fixed order."""
    if first_seed < 0 or first_seed + per_category - 1 > MAX_SEED:
        raise GanpageError(f"seeds {first_seed}..{first_seed + per_category - 1} leave the "
                           f"noise seeds 0..{MAX_SEED}; choose a smaller --first-seed")
    jobs = []
    for category in categories:
        for seed in range(first_seed, first_seed + per_category):
            value = truncation.for_picture(category.id, seed)
            jobs.append(PictureJob(category, seed, value,
                                   image_id(generator.model_id, category.id, seed, value)))
    return jobs[shard.index::shard.count]


def encode(pixels: np.ndarray, image_format: str) -> bytes:
    """(H, W, 3) uint8 -> WebP (quality 90) or PNG bytes."""
    buffer = io.BytesIO()
    image = Image.fromarray(pixels, "RGB")
    if image_format == "webp":
        image.save(buffer, "WEBP", quality=90, method=4)
    else:
        image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def batches(jobs: Sequence[PictureJob], size: int) -> Iterator[list[PictureJob]]:
    for start in range(0, len(jobs), size):
        yield list(jobs[start:start + size])


def generate(generator: Generator, gallery: Gallery, jobs: Sequence[PictureJob],
             batch_size: int = 16, image_format: str = "webp", show_progress: bool = True) -> int:
    """Make the pictures of ``jobs`` that the gallery lacks; return how many were made."""
    gallery.remove_stale_temporaries()
    gallery.record_model(generator.model_id, generator.card, generator.image_size,
                         generator.categories.to_dicts())
    done = gallery.existing_ids(job.id for job in jobs)
    todo = [job for job in jobs if job.id not in done]
    skipped = len(jobs) - len(todo)
    with progress_bar() as bar:
        task = bar.add_task("generating", total=len(todo), unit="img",
                            stats=f"({skipped} already done)", visible=show_progress)
        for batch in batches(todo, batch_size):
            pixels = generator.sample([j.category.id for j in batch], [j.seed for j in batch],
                                      [j.truncation for j in batch])
            gallery.add(
                (_record(generator, job, pixels[i], image_format), encode(pixels[i], image_format))
                for i, job in enumerate(batch)
            )
            bar.advance(task, len(batch))
    return len(todo)


def _record(generator: Generator, job: PictureJob, pixels: np.ndarray, fmt: str) -> ImageRecord:
    return ImageRecord(
        id=job.id, category=job.category.slug, category_name=job.category.name,
        label=job.category.id, model_id=generator.model_id, seed=job.seed,
        truncation=job.truncation, width=pixels.shape[1], height=pixels.shape[0],
        format=fmt, sha256="",
    )
