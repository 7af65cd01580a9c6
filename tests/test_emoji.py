"""The emoji builder on tiny tarballs that imitate the four npm packages."""

import base64
import hashlib
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from ganpage.data.emoji import SOURCES, build_emoji_dataset, concept_list, display_name
from ganpage.errors import GanpageError

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72">'
       '<circle cx="36" cy="36" r="{r}" fill="{color}"/></svg>')
OPENMOJI_ROWS = [
    {"annotation": "hamster", "hexcode": "1F439", "subgroups": "animal-mammal", "skintone": ""},
    {"annotation": "bagel", "hexcode": "1F96F", "subgroups": "food-prepared", "skintone": ""},
    {"annotation": "closed mailbox with raised flag", "hexcode": "1F4EB", "subgroups": "mail",
     "skintone": ""},
    {"annotation": "open mailbox with lowered flag", "hexcode": "1F4ED", "subgroups": "mail",
     "skintone": ""},
    {"annotation": "grinning face", "hexcode": "1F600", "subgroups": "face-smiling",
     "skintone": ""},
    {"annotation": "paw prints", "hexcode": "1F43E", "subgroups": "animal-mammal", "skintone": ""},
    {"annotation": "dog face", "hexcode": "1F436", "subgroups": "animal-mammal", "skintone": ""},
]
COLORS = ["#e33", "#3a3", "#33e", "#fa0", "#0cc", "#c0c", "#888"]


def png(color_index: int, shift: int) -> bytes:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    color = Image.new("RGBA", (20 + shift * 7, 30), COLORS[color_index % 7])
    image.paste(color, (5 + shift * 3, 10 + color_index * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_tarball(path: Path, files: dict[str, bytes]) -> str:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


@pytest.fixture
def fake_npm(tmp_path):
    """Tarballs laid out like the real packages, and sources pinned to their hashes."""
    folder = tmp_path / "npm"
    folder.mkdir()
    rows = OPENMOJI_ROWS
    slug = lambda name: name.replace(" ", "-")  # noqa: E731
    layouts = {
        "emoji-datasource-google": {f"package/img/google/64/{r['hexcode'].lower()}.png":
                                    png(i, 0) for i, r in enumerate(rows)},
        "emoji-datasource-twitter": {f"package/img/twitter/64/{r['hexcode'].lower()}.png":
                                     png(i, 1) for i, r in enumerate(rows)},
        "openmoji": {"package/data/openmoji.json": json.dumps(rows).encode(),
                     **{f"package/color/svg/{r['hexcode']}.svg":
                        SVG.format(r=30, color=COLORS[i]).encode() for i, r in enumerate(rows)}},
        "fluentui-emoji": {
            **{f"package/icons/flat/{slug(r['annotation'])}.svg":
               SVG.format(r=20, color=COLORS[(i + 2) % 7]).encode() for i, r in enumerate(rows)},
            **{f"package/icons/modern/{slug(r['annotation'])}.svg":
               SVG.format(r=12, color=COLORS[(i + 4) % 7]).encode() for i, r in enumerate(rows)},
        },
    }
    integrity = {package: write_tarball(folder / f"{package}-{source.version}.tgz", files)
                 for package, files in layouts.items()
                 for source in SOURCES if source.package == package}
    sources = tuple(replace(s, integrity=integrity[s.package]) for s in SOURCES)
    return folder, sources


def test_builds_classes_of_concrete_things_with_merges(fake_npm, tmp_path):
    folder, sources = fake_npm
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=3, show_progress=False, sources=sources)
    assert sorted(report["images_per_class"]) == ["Bagel", "Dog", "Hamster", "Mailbox"]
    # 5 kept emoji x 5 sources, each written or counted as a (near) duplicate
    assert report["images"] + len(report["rejected"]) == 25
    assert set(report["rejected_by_reason"]) <= {"duplicate", "near_duplicate"}
    assert report["images_per_class"]["Mailbox"] > report["images_per_class"]["Bagel"]
    rows = [json.loads(line) for line in (tmp_path / "out/manifest.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rows} == {s.name for s in SOURCES}
    assert all(r["licence"] for r in rows)
    with Image.open(tmp_path / "out" / rows[0]["path"]) as image:
        assert image.size == (32, 32) and image.mode == "RGB"
        assert image.getpixel((0, 0)) == (255, 255, 255)  # composited on white
    attribution = (tmp_path / "out/ATTRIBUTION.md").read_text()
    assert "CC-BY-4.0" in attribution and "Apache-2.0" in attribution


def test_tampered_tarball_is_refused(fake_npm, tmp_path):
    folder, sources = fake_npm
    target = folder / "openmoji-17.0.0.tgz"
    target.write_bytes(target.read_bytes() + b"tampered")
    with pytest.raises(GanpageError, match="integrity"):
        build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                            show_progress=False, sources=sources)


def test_concept_list_and_names(fake_npm):
    folder, _ = fake_npm
    concepts = {e.concept for e in concept_list(folder / "openmoji-17.0.0.tgz")}
    assert concepts == {"hamster", "bagel", "mailbox", "dog"}
    assert display_name("hot dog", {}) == "Hot Dog"
    assert display_name("automobile", {"automobile": "Car"}) == "Car"
