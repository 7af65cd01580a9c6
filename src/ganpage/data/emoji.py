"""``ganpage data emoji``: the built-in model's data set, made from openly licensed emoji art.

npm packages at pinned versions, checked against their registry integrity hashes: files per
emoji (Noto and Twemoji 64 px PNG, OpenMoji and Fluent flat/modern SVG, Fluent 3D WebP) and
@iconify-json sets (one JSON of SVG bodies named by slugs of emoji names). Every set's art licence
is pinned by hand and must be in ``ALLOWED_LICENCES``; a set that fails is left out and named in
the report. Classes are CLDR emoji names of concrete things, chosen and merged by
``resources/emoji_concepts.json``. Tarballs are read, never extracted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import string
import subprocess
import tarfile
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from PIL import Image

from ganpage.atomic import atomic_write_text
from ganpage.categories import slugify
from ganpage.data.dataset import MANIFEST, REPORT, DatasetWriter
from ganpage.data.decode import DecodeLimits, RejectedImage, decode_image, to_square
from ganpage.errors import GanpageError
from ganpage.progress import progress_bar

# Art licences (SPDX) whose pictures may be redistributed and trained on with credit. Not here,
# so left out: proprietary art (Apple, Facebook, Samsung, JoyPixels/EmojiOne 3+) and anything
# a set does not state clearly.
ALLOWED_LICENCES = frozenset({"Apache-2.0", "MIT", "CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0",
                              "OFL-1.1"})


@dataclass(frozen=True)
class Emoji:
    """One emoji of the concept list: its CLDR name, code points and the class it feeds."""

    cldr_name: str
    hexcode: str  # "1F439", "2708-FE0F"
    concept: str  # the merged concept name, lower case


Picture = tuple[Emoji, str, bytes]  # (emoji, member path inside the tarball, file bytes)


class Layout(Protocol):
    """Where a package keeps its art, and how to read one picture per listed emoji."""

    def pictures(self, tarball: Path, emoji: list[Emoji]) -> Iterator[Picture]: ...

    def licence_problem(self, tarball: Path) -> str | None: ...


@dataclass(frozen=True)
class EmojiSource:
    """A pinned npm package of emoji art, its art licence and credit, and its layout."""

    name: str
    package: str
    version: str
    integrity: str  # npm's "dist.integrity": sha512 of the tarball, base64
    licence: str  # SPDX id of the art (not of the package's code), checked by hand
    credit: str
    layout: Layout

    @property
    def tarball_name(self) -> str:
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def pin(self) -> str:
        return f"{self.package}@{self.version}"


@dataclass(frozen=True)
class TarballFiles:
    """One file per emoji inside the tarball, at paths ``member`` proposes."""

    member: Callable[[Emoji], list[str]]

    def pictures(self, tarball: Path, emoji: list[Emoji]) -> Iterator[Picture]:
        """Reads the gzip stream once, front to back: random access re-inflates it per file."""
        wanted: dict[str, Emoji] = {}
        for item in emoji:
            for path in self.member(item):
                wanted.setdefault(path, item)
        seen: set[tuple[str, str]] = set()
        with tarfile.open(tarball, mode="r|gz") as archive:
            for member in archive:
                item = wanted.get(member.name)
                if item is None or not member.isfile() or (item.hexcode, item.cldr_name) in seen:
                    continue
                stream = archive.extractfile(member)
                if stream is not None:
                    seen.add((item.hexcode, item.cldr_name))
                    yield item, member.name, stream.read()

    def licence_problem(self, tarball: Path) -> str | None:
        return None  # these packages state only their code's licence; the art's is pinned


@dataclass(frozen=True)
class IconifyJson:
    """An @iconify-json package: SVG bodies in ``package/icons.json``, named by emoji-name slugs.

    Names are slugs of CLDR names of some Unicode version ("hamster"), of Unicode character
    names ("hamster-face"), or those run together ("hamsterface"); all compare by ``name_key``.
    """

    declared_licence: str  # what the package's info.json licence.spdx says (may be the code's)
    path: str = "package/icons.json"
    info_path: str = "package/info.json"

    @staticmethod
    def read(tarball: Path, path: str) -> dict:
        with tarfile.open(tarball, mode="r|gz") as archive:
            for member in archive:
                stream = archive.extractfile(member) if member.name == path else None
                if stream is not None:
                    return json.load(stream)
        raise GanpageError(f"{tarball} lacks {path}")

    def pictures(self, tarball: Path, emoji: list[Emoji]) -> Iterator[Picture]:
        icons = iconify_svgs(self.read(tarball, self.path))
        for item in emoji:
            hit = next((icons[key] for key in emoji_keys(item) if key in icons), None)
            if hit is not None:
                yield item, f"{self.path}#{hit[0]}", hit[1]

    def licence_problem(self, tarball: Path) -> str | None:
        """The package's own licence field must still say what was checked when pinned."""
        info = self.read(tarball, self.info_path)
        declared = (info.get("license") or {}).get("spdx", "")
        if declared != self.declared_licence:
            return (f"its info.license says {declared or 'nothing'!r}, not the "
                    f"{self.declared_licence!r} that was checked")
        return None


def name_key(name: str) -> str:
    """'Man’s Shoe', 'man-s-shoe', 'mans-shoe', 'MANS SHOE' -> 'mansshoe'."""
    return re.sub(r"[^a-z0-9]", "", slugify(name.replace("’", "").replace("'", "")))


def emoji_keys(item: Emoji) -> list[str]:
    """Name keys an icon set may use for ``item``: its CLDR name, then its Unicode name."""
    keys = [name_key(item.cldr_name)]
    points = [int(code, 16) for code in item.hexcode.split("-") if code.upper() != "FE0F"]
    if len(points) == 1:
        unicode_name = unicodedata.name(chr(points[0]), "")
        if unicode_name:
            keys.append(name_key(unicode_name))
    return list(dict.fromkeys(keys))


def iconify_svgs(table: dict) -> dict[str, tuple[str, bytes]]:
    """name key -> (icon name, standalone square SVG) for every icon and plain alias.

    Aliases that flip or rotate their parent are skipped: they are other pictures.
    """
    icons = {name: icon for name, icon in table.get("icons", {}).items()
             if not {"rotate", "hFlip", "vFlip"} & icon.keys()}
    found: dict[str, tuple[str, bytes]] = {}
    # hidden icons are old names kept for compatibility; visible ones win a shared key
    for name, icon in sorted(icons.items(), key=lambda pair: not pair[1].get("hidden")):
        found[name_key(name)] = (name, _standalone_svg(icon, table))
    for name, icon in icons.items():  # numbered variants: "fox-face-1" may stand for "fox face"
        if name.endswith("-1"):
            found.setdefault(name_key(name[:-2]), (name, _standalone_svg(icon, table)))
    for name, alias in table.get("aliases", {}).items():
        parent = icons.get(alias.get("parent", ""))
        if parent is not None and set(alias) == {"parent"}:
            found.setdefault(name_key(name), (name, _standalone_svg(parent, table)))
    return found


def _standalone_svg(icon: dict, table: dict) -> bytes:
    """An iconify body -> an SVG document with a square viewBox centred on the art."""
    left, top = icon.get("left", table.get("left", 0)), icon.get("top", table.get("top", 0))
    width = icon.get("width", table.get("width", 16))
    height = icon.get("height", table.get("height", 16))
    side = max(width, height)
    left, top = left - (side - width) / 2, top - (side - height) / 2
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{left:g} {top:g} {side:g} {side:g}">{icon["body"]}</svg>').encode()


def _datasource_paths(style: str) -> Callable[[Emoji], list[str]]:
    def paths(emoji: Emoji) -> list[str]:
        code = emoji.hexcode.lower()
        return [f"package/img/{style}/64/{code}.png", f"package/img/{style}/64/{code}-fe0f.png"]
    return paths


def _fluent_paths(style: str) -> Callable[[Emoji], list[str]]:
    return lambda emoji: [f"package/icons/{style}/{slugify(emoji.cldr_name)}.svg"]


def _lobehub_paths(emoji: Emoji) -> list[str]:
    code = emoji.hexcode.lower()
    bare = "-".join(part for part in code.split("-") if part != "fe0f")
    return [f"package/assets/{name}.webp" for name in dict.fromkeys([code, f"{code}-fe0f", bare])]


_FLUENT = "Fluent Emoji by Microsoft (github.com/microsoft/fluentui-emoji)"
SOURCES = (
    EmojiSource("noto", "emoji-datasource-google", "16.0.0",
                "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
                "Apache-2.0", "Noto Emoji by Google (github.com/googlefonts/noto-emoji)",
                TarballFiles(_datasource_paths("google"))),
    EmojiSource("twemoji", "emoji-datasource-twitter", "16.0.0",
                "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
                "CC-BY-4.0", "Twemoji by Twitter and contributors (github.com/twitter/twemoji)",
                TarballFiles(_datasource_paths("twitter"))),
    EmojiSource("openmoji", "openmoji", "17.0.0",
                "sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w==",
                "CC-BY-SA-4.0", "OpenMoji, the open-source emoji and icon project (openmoji.org)",
                TarballFiles(lambda emoji: [f"package/color/svg/{emoji.hexcode}.svg"])),
    EmojiSource("fluent-flat", "fluentui-emoji", "1.3.0",
                "sha512-JTXXwqIie2rWTgOkIJDJxr0WtwTz2WU4kdOq8buLVThYwQ264aFR2jdTyuon2oEbLqqGMT64zI4btyn1saB2xw==",
                "MIT", _FLUENT, TarballFiles(_fluent_paths("flat"))),
    EmojiSource("fluent-modern", "fluentui-emoji", "1.3.0",
                "sha512-JTXXwqIie2rWTgOkIJDJxr0WtwTz2WU4kdOq8buLVThYwQ264aFR2jdTyuon2oEbLqqGMT64zI4btyn1saB2xw==",
                "MIT", _FLUENT, TarballFiles(_fluent_paths("modern"))),
    EmojiSource("fluent-3d", "@lobehub/fluent-emoji-3d", "1.1.0",
                "sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1DLRF0me7ogeRQjKoehDHXuVJ2Qaecgl5wRBv60lUAG3h7g==",
                "MIT", _FLUENT + ", 3D style as WebP repackaged by LobeHub",
                TarballFiles(_lobehub_paths)),
    # Noto as redrawn for Android 8 (2017), before later redesigns: a style of its own
    EmojiSource("noto-2017", "emoji-datasource-google", "4.0.4",
                "sha512-5sz0aIeNJfta2F4E+PNdOc6bqHWt29vOYtFGBXWZQnrxuSQlLpddd04y9K+P6mHiTYZkMe8z5y0lDeYaODBKmA==",
                "Apache-2.0", "Noto Emoji by Google, 2017 design (github.com/googlefonts/"
                "noto-emoji)", TarballFiles(_datasource_paths("google"))),
    EmojiSource("noto-v1", "@iconify-json/noto-v1", "1.2.5",
                "sha512-/DsVMius69Q0fRS53z7QK1TROSuar606jiIx+laXtdsYGMXpf6LtHBx6CGfoo3UHHb/XpBsw+1L1x3eyPqMuVA==",
                "Apache-2.0", "Noto Emoji v1 by Google (github.com/googlefonts/noto-emoji) via "
                "Iconify", IconifyJson("Apache-2.0")),
    EmojiSource("emojione", "@iconify-json/emojione", "1.2.3",
                "sha512-T9+T3HIbJNLKKsmxYKlaYhvnHYkz/HNYTV7SHCXVZPfeUi4FqskY70YeN8yYAZT8cCv7w5vJxS4Q1m8zb9CMMg==",
                "CC-BY-4.0", "EmojiOne 2 by Ranks.com, the last free version (github.com/EmojiTwo/"
                "emojitwo) via Iconify", IconifyJson("CC-BY-4.0")),
    EmojiSource("emojione-v1", "@iconify-json/emojione-v1", "1.2.3",
                "sha512-UjI2VQEXVtGlPBvQuxEizro7QCgBcJDOYwKUupquvvZ8UV4xOlvm45IU82JYWegiAWLerY79gFLMZ26U6Ms+ww==",
                "CC-BY-SA-4.0", "EmojiOne 1 by Ranks.com (github.com/joypixels/emojione-legacy) "
                "via Iconify", IconifyJson("CC-BY-SA-4.0")),
    # the package says Apache-2.0, which is fxemoji's code licence; its LICENSE.md puts the
    # visual design under CC BY 4.0, so that is what each picture records
    EmojiSource("fxemoji", "@iconify-json/fxemoji", "1.2.2",
                "sha512-UAasRaxzFUKfIGSmLwnoarsssA4LX0VLLuEmplIqM6ZNQqIQRtav8tZ4H1neTlBreXuMQyAifr5jP4kn78DpiQ==",
                "CC-BY-4.0", "Firefox OS Emoji by Mozilla (github.com/mozilla/fxemoji) via Iconify",
                IconifyJson("Apache-2.0")),
    EmojiSource("streamline", "@iconify-json/streamline-emojis", "1.2.4",
                "sha512-iNr9T9XuZVTyQPJO8ZlLxBzPkpi7qMl+z1l0C31vpEMqhPMelth3n7CeWQYtixdetDPdI81yeG4ROqjWpYJE6A==",
                "CC-BY-4.0", "Streamline Emojis by Streamline (github.com/webalys-hq/"
                "streamline-vectors) via Iconify", IconifyJson("CC-BY-4.0")),
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
            _npm_pack(source.pin, cache)
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
    with open(path, "rb") as stream:
        digest = hashlib.file_digest(stream, algorithm)
    if base64.b64encode(digest.digest()).decode() != expected:
        raise GanpageError(f"{path} does not match its pinned npm integrity hash; delete it and "
                           "run again")


def licence_problem(source: EmojiSource, tarball: Path) -> str | None:
    """Why ``source`` may not be used (its art licence is not open, or not as pinned), or None."""
    if source.licence not in ALLOWED_LICENCES:
        return f"art licence {source.licence!r} is not one of {sorted(ALLOWED_LICENCES)}"
    return source.layout.licence_problem(tarball)


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
    """PNG, WebP or SVG bytes -> ``size`` x ``size`` RGB on white."""
    if path.endswith(".svg") or data.lstrip()[:4] == b"<svg":
        import resvg_py

        with tempfile.TemporaryDirectory() as empty:  # no external files may be referenced
            png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), width=size,
                                        height=size, resources_dir=empty)
        data = bytes(png)
    image = decode_image(data, DecodeLimits(max_pixels=4096 * 4096, min_side=8))
    return to_square(image, size)


def iter_source_images(source: EmojiSource, tarball: Path,
                       emoji: list[Emoji]) -> Iterator[Picture]:
    """(emoji, member path, file bytes) for every listed emoji the package draws."""
    return source.layout.pictures(tarball, emoji)


def _add_source(writer: DatasetWriter, source: EmojiSource, tarball: Path, emoji: list[Emoji],
                rules: dict, advance: Callable[[], None]) -> dict:
    """Rasterise and add one set's pictures; return what it matched, wrote and lost."""
    before, matched, written = len(writer.rejected), 0, 0
    for item, path, data in iter_source_images(source, tarball, emoji):
        matched += 1
        origin = f"{source.pin}:{path}"
        try:
            image = rasterise(data, path, size=writer.size)
        except (RejectedImage, ValueError, OSError) as error:
            writer.reject(origin, f"undecodable ({error})")
            continue
        written += writer.add(image, display_name(item.concept, rules["names"]),
                              f"{source.name}-{item.hexcode}", source=source.name,
                              licence=source.licence, credit=source.credit, source_path=origin,
                              cldr_name=item.cldr_name)
        advance()
    return {"matched": matched, "added": written,
            "rejected": dict(Counter(r["reason"].split(" (")[0]
                                     for r in writer.rejected[before:]))}


def build_emoji_dataset(out: Path, size: int, cache: Path, local: Path | None = None,
                        min_per_class: int = 3, show_progress: bool = True,
                        sources: tuple[EmojiSource, ...] = SOURCES) -> dict:
    """Fetch, verify, rasterise and write the emoji data set; return the report.

    Sets are added in ``sources`` order, so a later set's near duplicate of an earlier one's
    picture is the one dropped.
    """
    tarballs = fetch_tarballs(cache, local, sources)
    by_name = {s.name: s for s in sources}
    rules = concept_rules()
    emoji = concept_list(tarballs[by_name[CONCEPT_LIST_SOURCE].tarball_name], rules)
    left_out = {s.name: problem for s in sources
                if (problem := licence_problem(s, tarballs[s.tarball_name]))}
    used = tuple(s for s in sources if s.name not in left_out)
    writer = DatasetWriter(out, size)
    per_source = {}
    with progress_bar() as bar:
        task = bar.add_task("emoji", total=len(emoji) * len(used), unit="img", stats="",
                            visible=show_progress)
        for source in used:
            per_source[source.name] = _add_source(writer, source, tarballs[source.tarball_name],
                                                  emoji, rules, lambda: bar.advance(task))
            bar.update(task, stats=f"{source.name} done")
    report = writer.finish(min_per_class=min_per_class,
                           sources={s.name: f"{s.pin} ({s.licence})" for s in used},
                           left_out=left_out, concept_emoji=len(emoji))
    return _finish_report(out, report, used, per_source)


def _manifest_counts(out: Path, field: str) -> dict[str, int]:
    rows = (json.loads(line) for line in (out / MANIFEST).read_text().splitlines() if line)
    return dict(Counter(row[field] for row in rows))


def _finish_report(out: Path, report: dict, used: tuple[EmojiSource, ...],
                   per_source: dict[str, dict]) -> dict:
    """Add per-set and per-licence picture counts (after small classes went) and attribution."""
    pictures = _manifest_counts(out, "source")
    report["source_details"] = {
        s.name: {"package": s.pin, "integrity": s.integrity, "licence": s.licence,
                 "credit": s.credit, "pictures": pictures.get(s.name, 0), **per_source[s.name]}
        for s in used}
    report["pictures_per_source"] = pictures
    report["pictures_per_licence"] = _manifest_counts(out, "licence")
    counts = Counter(report["images_per_class"].values())
    report["classes_with_at_least"] = {n: sum(v for k, v in counts.items() if k >= n)
                                       for n in (3, 5, 8, 10)}
    atomic_write_text(out / REPORT, json.dumps(report, indent=1) + "\n")
    write_attribution(out, used, report["left_out"])
    return report


LICENCE_LINKS = {
    "Apache-2.0": "[Apache-2.0](https://www.apache.org/licenses/LICENSE-2.0)",
    "CC-BY-4.0": "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)",
    "CC-BY-SA-4.0": "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/)",
    "MIT": "MIT",
}


def model_attribution(data: Path, model: str) -> str:
    """The credits that a model trained on the emoji data set ``data`` carries (its about
    page, ``resources/attributions/<model>.md``): every set it has pictures from, with its
    licence and credit, and the ShareAlike term for the weights when a set has one."""
    details = json.loads((data / REPORT).read_text())["source_details"]
    used = {name: d for name, d in details.items() if d["pictures"]}
    share_alike = [name for name, d in used.items() if "-SA-" in d["licence"]]
    terms = (f", and the ShareAlike term of CC BY-SA 4.0 ({', '.join(share_alike)}) for the "
             "weights as a whole" if share_alike else "")
    lines = [f"The {model} model (generator and classifier weights) was trained on "
             f"{sum(d['pictures'] for d in used.values()):,} pictures from {len(used)} emoji "
             "sets. ganpage treats the weights as an adaptation of that art, so they carry the "
             f"art's licences: the attributions below{terms}.", "",
             "| set | pictures from | pictures | licence | credit |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {d['package']} | {d['pictures']:,} | "
              f"{LICENCE_LINKS.get(d['licence'], d['licence'])} | {d['credit']} |"
              for name, d in used.items()]
    lines += ["", "The pictures were rasterised, composited on white and de-duplicated by "
              "`ganpage data emoji`; the model's pictures are new drawings by a neural network, "
              "not copies of them."]
    return "\n".join(lines) + "\n"


def write_attribution(out: Path, sources: tuple[EmojiSource, ...] = SOURCES,
                      left_out: dict[str, str] | None = None) -> None:
    """ATTRIBUTION.md: every source set, its licence, and how many pictures came from it."""
    counts = _manifest_counts(out, "source")
    lines = ["# Attribution", "",
             "The pictures of this data set are emoji art from these sets, rasterised and "
             "composited on white by `ganpage data emoji`. `manifest.jsonl` names the source "
             "file, licence and credit of every picture.", "",
             "| set | package | licence | pictures | credit |", "|---|---|---|---|---|"]
    for source in sources:
        lines.append(f"| {source.name} | {source.pin} | {source.licence} | "
                     f"{counts.get(source.name, 0)} | {source.credit} |")
    if left_out:
        lines += ["", "Left out because of their licence:", ""]
        lines += [f"- {name}: {reason}" for name, reason in left_out.items()]
    atomic_write_text(out / "ATTRIBUTION.md", "\n".join(lines) + "\n")
