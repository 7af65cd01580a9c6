"""The emoji builder on tiny tarballs that imitate its npm packages (files and iconify JSON)."""

import base64
import hashlib
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
import resvg_py
from PIL import Image

from ganpage.data.emoji import (
    SOURCES,
    Emoji,
    IconifyJson,
    build_emoji_dataset,
    concept_list,
    display_name,
    emoji_keys,
    iconify_svgs,
    model_attribution,
    name_key,
)
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


# iconify sets name icons by CLDR slug, Unicode-name slug, run-together names, or aliases
ICONIFY_NAMES = {"1F439": "hamster-face", "1F96F": "bagel",
                 "1F4EB": "closed-mailbox-with-raised-flag", "1F4ED": "mailbox-open",
                 "1F600": "grinning-face", "1F43E": "paw-prints", "1F436": "dogface"}
ICONIFY_ALIASES = {"open-mailbox-with-lowered-flag": {"parent": "mailbox-open"},
                   "hamster": {"parent": "bagel", "hFlip": True}}  # a flipped alias: not used


def bars(code: int, color: str) -> str:
    """SVG rects, a vertical bar where each bit of ``code`` is set: codes differ in dHash."""
    return "".join(f'<rect x="{j * 9}" y="0" width="9" height="72" fill="{color}"/>'
                   for j in range(8) if code >> j & 1)


def iconify_files(bodies: dict[str, str], spdx: str) -> dict[str, bytes]:
    table = {"prefix": "fake", "width": 72, "height": 72, "aliases": ICONIFY_ALIASES,
             "icons": {name: {"body": body} for name, body in bodies.items()}}
    return {"package/icons.json": json.dumps(table).encode(),
            "package/info.json": json.dumps({"prefix": "fake",
                                             "license": {"spdx": spdx}}).encode()}


def webp(code: int) -> bytes:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72">{bars(code, "#2a6")}</svg>'
    png_bytes = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=72, height=72))
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_bytes)).save(buffer, "WEBP", lossless=True)
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
    layouts = {  # by package name, or by tarball name where a package is pinned twice
        "emoji-datasource-google-4.0.4.tgz": {f"package/img/google/64/{r['hexcode'].lower()}.png":
                                              png(i, 2) for i, r in enumerate(rows)},
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
    layouts["@lobehub/fluent-emoji-3d"] = {
        f"package/assets/{r['hexcode'].lower()}.webp": webp(0x80 | 1 << i)
        for i, r in enumerate(rows)}
    iconify = [s for s in SOURCES if isinstance(s.layout, IconifyJson)]
    for n, source in enumerate(iconify):  # set n, emoji i: its own bar code
        bodies = {ICONIFY_NAMES[r["hexcode"]]: bars(0x0F + 16 * n + i, COLORS[i])
                  for i, r in enumerate(rows)}
        layouts[source.package] = iconify_files(bodies, source.layout.declared_licence)
    integrity = {s.tarball_name: write_tarball(folder / s.tarball_name,
                                               layouts.get(s.tarball_name) or layouts[s.package])
                 for s in SOURCES}
    sources = tuple(replace(s, integrity=integrity[s.tarball_name]) for s in SOURCES)
    return folder, sources


def pick(sources, *names):
    return tuple(s for s in sources if s.name in ("openmoji", *names))


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_builds_classes_of_concrete_things_with_merges(fake_npm, tmp_path):
    folder, sources = fake_npm
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=3, show_progress=False, sources=sources)
    assert sorted(report["images_per_class"]) == ["Bagel", "Dog", "Hamster", "Mailbox"]
    # 5 kept emoji x every source, each written or counted as a (near) duplicate
    assert report["images"] + len(report["rejected"]) == 5 * len(SOURCES)
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


def test_iconify_set_lands_in_classes_with_its_licence(fake_npm, tmp_path):
    folder, sources = fake_npm
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=1, show_progress=False,
                                 sources=pick(sources, "noto-v1"))
    assert list(report["source_details"]) == ["openmoji", "noto-v1"]
    rows = [r for r in manifest(tmp_path / "out") if r["source"] == "noto-v1"]
    icon_of = {r["cldr_name"]: r["source_path"].split("#")[1] for r in rows}
    assert icon_of == {"hamster": "hamster-face", "bagel": "bagel", "dog face": "dogface",
                       "closed mailbox with raised flag": "closed-mailbox-with-raised-flag",
                       "open mailbox with lowered flag": "open-mailbox-with-lowered-flag"}
    assert {r["class"] for r in rows} == {"hamster", "bagel", "dog", "mailbox"}
    assert {(r["licence"], r["credit"]) for r in rows} == {
        ("Apache-2.0", next(s.credit for s in sources if s.name == "noto-v1"))}
    details = report["source_details"]["noto-v1"]
    assert (details["matched"], details["pictures"]) == (5, 5)
    assert details["package"] == "@iconify-json/noto-v1@1.2.5"
    assert report["pictures_per_licence"]["Apache-2.0"] == 5
    with Image.open(tmp_path / "out" / rows[0]["path"]) as image:
        assert image.getpixel((31, 0)) == (255, 255, 255)  # the last bar is never set: white
    assert "@iconify-json/noto-v1@1.2.5 | Apache-2.0 | 5" in (
        tmp_path / "out/ATTRIBUTION.md").read_text()


def test_fluent_3d_webp_files_are_read(fake_npm, tmp_path):
    folder, sources = fake_npm
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=1, show_progress=False,
                                 sources=pick(sources, "fluent-3d"))
    assert report["source_details"]["fluent-3d"]["pictures"] == 5
    assert {r["licence"] for r in manifest(tmp_path / "out")
            if r["source"] == "fluent-3d"} == {"MIT"}


def test_set_with_a_disallowed_licence_is_left_out(fake_npm, tmp_path):
    folder, sources = fake_npm
    sources = tuple(replace(s, licence="LicenseRef-Proprietary") if s.name == "emojione" else s
                    for s in pick(sources, "emojione", "fxemoji"))
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=1, show_progress=False, sources=sources)
    assert list(report["left_out"]) == ["emojione"]
    assert "LicenseRef-Proprietary" in report["left_out"]["emojione"]
    assert {r["source"] for r in manifest(tmp_path / "out")} == {"openmoji", "fxemoji"}
    # fxemoji's package states its code's Apache-2.0; the art's CC-BY-4.0 is what is recorded
    assert report["pictures_per_licence"]["CC-BY-4.0"] == 5
    assert "emojione" in (tmp_path / "out/ATTRIBUTION.md").read_text().split("Left out")[1]


def test_iconify_package_whose_stated_licence_changed_is_left_out(fake_npm, tmp_path):
    folder, sources = fake_npm
    streamline = next(s for s in sources if s.name == "streamline")
    files = iconify_files({"bagel": bars(0x33, "#e33")}, "CC-BY-NC-4.0")
    integrity = write_tarball(folder / streamline.tarball_name, files)
    sources = tuple(replace(s, integrity=integrity) if s is streamline else s
                    for s in pick(sources, "streamline"))
    report = build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder,
                                 min_per_class=1, show_progress=False, sources=sources)
    assert "CC-BY-NC-4.0" in report["left_out"]["streamline"]
    assert "streamline" not in report["pictures_per_source"]


def test_icon_names_match_by_cldr_and_unicode_names():
    assert name_key("Man’s Shoe") == name_key("man-s-shoe") == name_key("MANS SHOE")
    assert emoji_keys(Emoji("hamster", "1F439", "hamster")) == ["hamster", "hamsterface"]
    assert emoji_keys(Emoji("airplane", "2708-FE0F", "airplane")) == ["airplane"]
    assert emoji_keys(Emoji("polar bear", "1F43B-200D-2744-FE0F", "polar bear")) == ["polarbear"]
    icons = iconify_svgs({"width": 20, "height": 10, "icons": {
        "fox-face-1": {"body": "<g/>"}, "kite": {"body": "<g/>", "hFlip": True}}})
    assert set(icons) == {"foxface1", "foxface"}  # flipped icons are other pictures
    assert b'viewBox="0 -5 20 20"' in icons["foxface"][1]  # square, art centred


def test_a_model_credits_every_set_it_learnt_from_and_only_those(fake_npm, tmp_path):
    folder, sources = fake_npm
    build_emoji_dataset(tmp_path / "out", 32, tmp_path / "cache", folder, min_per_class=1,
                        show_progress=False, sources=pick(sources, "fxemoji", "noto-v1"))
    credits = model_attribution(tmp_path / "out", "emoji64")
    rows = [line for line in credits.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]] == [
        "openmoji", "noto-v1", "fxemoji"]  # in the data set's order
    assert next(s.credit for s in sources if s.name == "noto-v1") in rows[2]
    assert "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)" in rows[3]  # fxemoji's
    assert "ShareAlike term of CC BY-SA 4.0 (openmoji)" in credits  # OpenMoji's art is BY-SA
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    report["source_details"]["openmoji"]["pictures"] = 0  # no picture from it: no credit
    (tmp_path / "out" / "report.json").write_text(json.dumps(report))
    without = model_attribution(tmp_path / "out", "emoji64")
    assert "openmoji" not in without.lower() and "ShareAlike" not in without
