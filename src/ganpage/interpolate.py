"""Morphs between two pictures (category and/or seed), as in the BigGAN Colab: an animation
(GIF or animated WebP, ping-pong looped) and a contact-sheet grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganpage.atomic import atomic_write_with
from ganpage.errors import GanpageError
from ganpage.models.generator import Generator

ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP"}


def check_animation_path(path: Path) -> Path:
    """``path`` if it names an animation format ganpage writes; else a one-line error."""
    if path.suffix.lower() not in ANIMATION_FORMATS:
        raise GanpageError(f"{path}: write the animation as .gif or .webp")
    return path


def write_animation(frames: np.ndarray, path: Path, frame_ms: int = 80) -> None:
    """Frames (N, H, W, 3) uint8 there and back again, looping forever."""
    image_format = ANIMATION_FORMATS[check_animation_path(path).suffix.lower()]
    sequence = [Image.fromarray(f) for f in [*frames, *frames[-2:0:-1]]]
    atomic_write_with(path, lambda temporary: sequence[0].save(
        temporary, image_format, save_all=True, append_images=sequence[1:],
        duration=frame_ms, loop=0, **({"lossless": True} if image_format == "WEBP" else {})))


def write_grid(frames: np.ndarray, path: Path, columns: int = 8) -> None:
    """Frames in rows of ``columns`` (the last row padded with white)."""
    count, height, width, _ = frames.shape
    rows = -(-count // columns)
    grid = np.full((rows * height, columns * width, 3), 255, dtype=np.uint8)
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = frame
    atomic_write_with(path, lambda temporary: Image.fromarray(grid).save(temporary, "PNG"))


def interpolate(generator: Generator, categories: tuple[str, str], seeds: tuple[int, int],
                steps: int, truncation: float, animation: Path, grid: Path | None) -> None:
    """Morph from (categories[0], seeds[0]) to (categories[1], seeds[1]) and write the files."""
    first, second = generator.categories.lookup_all(categories)
    frames = generator.morph((first.id, second.id), seeds, steps, truncation)
    write_animation(frames, animation)
    if grid is not None:
        write_grid(frames, grid)
