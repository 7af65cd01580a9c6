"""``ganpage data emoji``: the built-in model's data set, made from permissively licensed emoji art.

Four npm packages at pinned versions, checked against their registry integrity hashes: Noto
(emoji-datasource-google, 64 px PNG), Twemoji (emoji-datasource-twitter, 64 px PNG), OpenMoji
(colour SVG) and Fluent (flat and modern SVG). Classes are CLDR emoji names of concrete things,
chosen and merged by ``resources/emoji_concepts.json``. Tarballs are read, never extracted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import string
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

from ganpage.atomic import atomic_write_text
from ganpage.categories import slugify
from ganpage.data.dataset import DatasetWriter
from ganpage.data.decode import DecodeLimits, RejectedImage, decode_image, to_square
from ganpage.errors import GanpageError
from ganpage.progress import progress_bar


@dataclass(frozen=True)
class Emoji:
    """One emoji of the concept list: its CLDR name, code points and the class it feeds."""

    cldr_name: str
    hexcode: str  # "1F439", "2708-FE0F"
    concept: str  # the merged concept name, lower case


@dataclass(frozen=True)
class EmojiSource:
    """A pinned npm package of emoji art and how to find one emoji's file inside it."""

    name: str
    package: str
    version: str
    integrity: str  # npm's "dist.integrity": sha512 of the tarball, base64
    licence: str
    credit: str
    member: Callable[[Emoji], list[str]]  # candidate paths inside the tarball

    @property
    def tarball_name(self) -> str:
        return f"{self.package}-{self.version}.tgz"


def _datasource_paths(style: str) -> Callable[[Emoji], list[str]]:
    def paths(emoji: Emoji) -> list[str]:
        code = emoji.hexcode.lower()
        return [f"package/img/{style}/64/{code}.png", f"package/img/{style}/64/{code}-fe0f.png"]
    return paths


def _fluent_paths(style: str) -> Callable[[Emoji], list[str]]:
    return lambda emoji: [f"package/icons/{style}/{slugify(emoji.cldr_name)}.svg"]


SOURCES = (
    EmojiSource("noto", "emoji-datasource-google", "16.0.0",
                "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
                "Apache-2.0", "Noto Emoji by Google (github.com/googlefonts/noto-emoji)",
                _datasource_paths("google")),
    EmojiSource("twemoji", "emoji-datasource-twitter", "16.0.0",
                "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
                "CC-BY-4.0", "Twemoji by Twitter and contributors (github.com/twitter/twemoji)",
                _datasource_paths("twitter")),
    EmojiSource("openmoji", "openmoji", "17.0.0",
                "sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w==",
                "CC-BY-SA-4.0", "OpenMoji, the open-source emoji and icon project (openmoji.org)",
                lambda emoji: [f"package/color/svg/{emoji.hexcode}.svg"]),
    EmojiSource("fluent-flat", "fluentui-emoji", "1.3.0",
                "sha512-JTXXwqIie2rWTgOkIJDJxr0WtwTz2WU4kdOq8buLVThYwQ264aFR2jdTyuon2oEbLqqGMT64zI4btyn1saB2xw==",
                "MIT", "Fluent Emoji by Microsoft (github.com/microsoft/fluentui-emoji)",
                _fluent_paths("flat")),
    EmojiSource("fluent-modern", "fluentui-emoji", "1.3.0",
                "sha512-JTXXwqIie2rWTgOkIJDJxr0WtwTz2WU4kdOq8buLVThYwQ264aFR2jdTyuon2oEbLqqGMT64zI4btyn1saB2xw==",
                "MIT", "Fluent Emoji by Microsoft (github.com/microsoft/fluentui-emoji)",
                _fluent_paths("modern")),
)
CONCEPT_LIST_SOURCE = "openmoji"  # its data/openmoji.json carries CLDR names and subgroups


def fetch_tarballs(cache: Path, local: Path | None = None,
                   sources: tuple[EmojiSource, ...] = SOURCES) -> dict[str, Path]:
    """package tarball name -> verified local path; uses ``local`` files or ``npm pack``."""
    cache.mkdir(parents=True, exist_ok=True)
    found = {}
    for source in sources:
        name = source.tarball_name
        if name in found:
            continue
        path = (local / name) if local and (local / name).is_file() else cache / name
        if not path.is_file():
            _npm_pack(f"{source.package}@{source.version}", cache)
        _check_integrity(path, source.integrity)
        found[name] = path
    return found


def _npm_pack(spec: str, cache: Path) -> None:
    if shutil.which("npm") is None:
        raise GanpageError(f"npm is needed to fetch {spec}; install Node.js, or download the "
                           "tarballs elsewhere and pass --tarballs DIR")
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=scratch,
                                capture_output=True, text=True, check=False)
        packed = list(Path(scratch).glob("*.tgz"))
        if result.returncode != 0 or len(packed) != 1:
            detail = (result.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise GanpageError(f"npm pack {spec} failed ({detail}); pass --tarballs DIR instead")
        packed[0].replace(cache / packed[0].name)


def _check_integrity(path: Path, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    if base64.b64encode(digest.digest()).decode() != expected:
        raise GanpageError(f"{path} does not match its pinned npm integrity hash; delete it and "
                           "run again")


def concept_rules() -> dict:
    """The parsed ``resources/emoji_concepts.json``."""
    return json.loads((resources.files("ganpage") / "resources" / "emoji_concepts.json")
                      .read_text())


def concept_list(openmoji_tarball: Path, rules: dict | None = None) -> list[Emoji]:
    """The emoji that become classes, from openmoji's CLDR data and the concepts file."""
    rules = rules or concept_rules()
    subgroups, excluded = set(rules["subgroups"]), set(rules["exclude"])
    with tarfile.open(openmoji_tarball) as archive:
        member = archive.extractfile("package/data/openmoji.json")
        if member is None:
            raise GanpageError(f"{openmoji_tarball} lacks package/data/openmoji.json")
        table = json.load(member)
    chosen = []
    for row in table:
        name = row["annotation"]
        if (row["subgroups"] not in subgroups or name in excluded or row.get("skintone")
                or ":" in name):
            continue
        concept = rules["merge"].get(name, name)
        for suffix in rules["strip_suffixes"]:
            concept = concept.removesuffix(suffix)
        chosen.append(Emoji(name, row["hexcode"], concept))
    return chosen


def display_name(concept: str, overrides: dict[str, str]) -> str:
    """'hot dog' -> 'Hot Dog', unless the concepts file names it."""
    return overrides.get(concept) or string.capwords(concept.replace("’", "'"))


def rasterise(data: bytes, path: str, size: int) -> Image.Image:
    """PNG or SVG bytes -> ``size`` x ``size`` RGB on white."""
    if path.endswith(".svg"):
        import resvg_py

        with tempfile.TemporaryDirectory() as empty:  # no external files may be referenced
            png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), width=size,
                                        height=size, resources_dir=empty)
        data = bytes(png)
    image = decode_image(data, DecodeLimits(max_pixels=4096 * 4096, min_side=8))
    return to_square(image, size)


def iter_source_images(source: EmojiSource, tarball: Path,
                       emoji: list[Emoji]) -> Iterator[tuple[Emoji, str, bytes]]:
    """(emoji, member path, file bytes) for every listed emoji the package draws.

    Reads the gzip stream once, front to back: random access would re-inflate it per file.
    """
    wanted: dict[str, Emoji] = {}
    for item in emoji:
        for path in source.member(item):
            wanted.setdefault(path, item)
    seen: set[str] = set()
    with tarfile.open(tarball, mode="r|gz") as archive:
        for member in archive:
            item = wanted.get(member.name)
            if item is None or not member.isfile() or (item.hexcode, item.cldr_name) in seen:
                continue
            stream = archive.extractfile(member)
            if stream is not None:
                seen.add((item.hexcode, item.cldr_name))
                yield item, member.name, stream.read()


def build_emoji_dataset(out: Path, size: int, cache: Path, local: Path | None = None,
                        min_per_class: int = 3, show_progress: bool = True,
                        sources: tuple[EmojiSource, ...] = SOURCES) -> dict:
    """Fetch, verify, rasterise and write the emoji data set; return the report."""
    tarballs = fetch_tarballs(cache, local, sources)
    by_name = {s.name: s for s in sources}
    rules = concept_rules()
    emoji = concept_list(tarballs[by_name[CONCEPT_LIST_SOURCE].tarball_name], rules)
    writer = DatasetWriter(out, size)
    with progress_bar() as bar:
        task = bar.add_task("emoji", total=len(emoji) * len(sources), unit="img", stats="",
                            visible=show_progress)
        for source in sources:
            for item, path, data in iter_source_images(source, tarballs[source.tarball_name],
                                                       emoji):
                origin = f"{source.package}@{source.version}:{path}"
                try:
                    image = rasterise(data, path, size)
                except (RejectedImage, ValueError, OSError) as error:
                    writer.reject(origin, f"undecodable ({error})")
                    continue
                writer.add(image, display_name(item.concept, rules["names"]),
                           f"{source.name}-{item.hexcode}", source=source.name,
                           licence=source.licence, source_path=origin, cldr_name=item.cldr_name)
                bar.advance(task)
            bar.update(task, stats=f"{source.name} done")
    report = writer.finish(min_per_class=min_per_class,
                           sources={s.name: f"{s.package}@{s.version} ({s.licence})"
                                    for s in sources})
    write_attribution(out, sources)
    return report


def write_attribution(out: Path, sources: tuple[EmojiSource, ...] = SOURCES) -> None:
    """ATTRIBUTION.md: every source set, its licence, and how many pictures came from it."""
    counts: dict[str, int] = {}
    for line in (out / "manifest.jsonl").read_text().splitlines():
        source = json.loads(line)["source"]
        counts[source] = counts.get(source, 0) + 1
    lines = ["# Attribution", "",
             "The pictures of this data set are emoji art from these sets, rasterised and "
             "composited on white by `ganpage data emoji`. `manifest.jsonl` names the source "
             "file and licence of every picture.", "",
             "| set | package | licence | pictures | credit |", "|---|---|---|---|---|"]
    for source in sources:
        lines.append(f"| {source.name} | {source.package}@{source.version} | {source.licence} | "
                     f"{counts.get(source.name, 0)} | {source.credit} |")
    atomic_write_text(out / "ATTRIBUTION.md", "\n".join(lines) + "\n")
