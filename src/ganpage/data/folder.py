"""``ganpage data folder``: import a folder of pictures (one sub-folder per class) as a data set.

Every file is validated with the shared safe decoder; exact and near duplicates are dropped;
every rejected file is listed in report.json with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from ganpage.categories import slugify
from ganpage.data.dataset import DatasetWriter
from ganpage.data.decode import DecodeLimits, RejectedImage, ResizeMode, decode_image, to_square
from ganpage.errors import GanpageError
from ganpage.progress import progress_bar


def folder_display_name(folder: str) -> str:
    """'norwegian_elkhound' -> 'Norwegian Elkhound'; names with capitals are kept as written."""
    words = folder.replace("_", " ").replace("-", " ").split()
    name = " ".join(words)
    return name.title() if name == name.lower() else name


def list_pictures(source: Path) -> list[tuple[Path, str]]:
    """(file, class name) for every file below ``source``; class = first sub-folder."""
    if not source.is_dir():
        raise GanpageError(f"{source} is not a folder")
    found = []
    folders_of_class: dict[str, set[str]] = {}
    for folder, _, files in sorted(os.walk(source)):
        relative = Path(folder).relative_to(source)
        class_folder = relative.parts[0] if relative.parts else "."
        class_name = folder_display_name(class_folder if relative.parts
                                         else source.resolve().name)
        pictures = [(Path(folder) / name, class_name) for name in sorted(files)
                    if not name.startswith(".")]
        if pictures:
            folders_of_class.setdefault(slugify(class_name), set()).add(class_folder)
        found.extend(pictures)
    if not found:
        raise GanpageError(f"{source} holds no files")
    _check_classes_apart(source, folders_of_class)
    return found


def _check_classes_apart(source: Path, folders_of_class: dict[str, set[str]]) -> None:
    """Folders whose names differ only in case, accents or punctuation would be one class."""
    for slug, folders in folders_of_class.items():
        if len(folders) > 1:
            first, second = sorted(folders)[:2]
            raise GanpageError(
                f"class folders {first!r} and {second!r} in {source} would become one class "
                f"({slug!r}); rename one of them, or move their pictures into one folder")


def _prepare(path: Path, size: int, mode: ResizeMode, limits: DecodeLimits) -> Image.Image:
    if path.stat().st_size > limits.max_bytes:
        raise RejectedImage("too_large", f"{path.stat().st_size} bytes")
    return to_square(decode_image(path.read_bytes(), limits, output_size=size), size, mode)


def _decoded(files: list[tuple[Path, str]], size: int, mode: ResizeMode,
             limits: DecodeLimits) -> Iterator[tuple[Path, str, Image.Image | RejectedImage]]:
    def work(item: tuple[Path, str]) -> tuple[Path, str, Image.Image | RejectedImage]:
        path, class_name = item
        try:
            return path, class_name, _prepare(path, size, mode, limits)
        except RejectedImage as error:
            return path, class_name, error
        except OSError as error:
            return path, class_name, RejectedImage("unreadable", str(error))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield from pool.map(work, files)


def import_folder(source: Path, out: Path, size: int, mode: ResizeMode = ResizeMode.CROP,
                  limits: DecodeLimits | None = None, show_progress: bool = True) -> dict:
    """Validate, square, de-duplicate and write every picture below ``source``."""
    files = list_pictures(source)
    writer = DatasetWriter(out, size)
    with progress_bar() as bar:
        task = bar.add_task("importing", total=len(files), unit="img", stats="",
                            visible=show_progress)
        for path, class_name, result in _decoded(files, size, mode, limits or DecodeLimits()):
            relative = str(path.relative_to(source))
            if isinstance(result, RejectedImage):
                writer.reject(relative, result.reason)
            else:
                writer.add(result, class_name, relative, source_path=relative)
            bar.update(task, advance=1, stats=f"{len(writer.rejected)} rejected")
    return writer.finish(source=str(source), resize=mode.value)
