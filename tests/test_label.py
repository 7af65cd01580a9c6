"""ganpage label: a folder of pictures named by a classifier, with counted skips, `unsure`
pictures kept rejected, re-runs that add only what is new, and a gallery the site serves."""

from __future__ import annotations

import hashlib
import inspect
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ganpage.categories import CategorySet
from ganpage.classifiers.loaded import LoadedClassifier
from ganpage.cli import app
from ganpage.cli.label import label as label_command
from ganpage.data.decode import DecodeLimits
from ganpage.gallery import Gallery, source_image_id
from ganpage.label import DEFAULT_THRESHOLD, label_folder, source_name

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220),
           "grey": (128, 128, 128)}
SQUARE_AT = {COLOURS["red"]: 0, COLOURS["green"]: 13, COLOURS["blue"]: 26}


class MeanColour(torch.nn.Module):
    """A hand-made classifier: logits = 8 x the mean of each colour channel (in [-1, 1]), so a
    red picture is "Red" at p > 0.9999 and a grey one is a three-way tie (p = 1/3)."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(3, 3, bias=False)
        self.head.weight.data = 8 * torch.eye(3)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))  # (B, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def colour_classifier() -> LoadedClassifier:
    return LoadedClassifier(MeanColour(), CategorySet.from_names(["Red", "Green", "Blue"]),
                            1.0, [], "mean-colour")


def picture_bytes(colour: tuple[int, int, int], fmt: str = "PNG", size: int = 40) -> bytes:
    """A picture of one colour with a darker square on it (so no curation rule calls it blank),
    placed by the colour (so no two colours are near-duplicates); not square: it is cropped."""
    pixels = np.full((size, size + 8, 3), colour, dtype=np.uint8)
    at = SQUARE_AT.get(colour, 10)
    pixels[at:at + size // 3, at + 4:at + 4 + size // 3] = np.array(colour) * 2 // 3
    pixels[0, 0] = (0, 0, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """4 pictures to name (one in a sub-folder, three formats) and 6 files that are not."""
    root = tmp_path / "pictures"
    (root / "sub").mkdir(parents=True)
    (root / "red.png").write_bytes(picture_bytes(COLOURS["red"]))
    (root / "sub" / "green photo.jpg").write_bytes(picture_bytes(COLOURS["green"], "JPEG"))
    (root / "blue.webp").write_bytes(picture_bytes(COLOURS["blue"], "WEBP"))
    (root / "grey.png").write_bytes(picture_bytes(COLOURS["grey"]))
    (root / "red2.png").write_bytes((root / "red.png").read_bytes())  # same bytes
    (root / "broken.png").write_bytes(picture_bytes(COLOURS["red"])[:60])
    (root / "notes.txt").write_text("not a picture")
    (root / "empty.jpg").write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "huge.png")  # ~30 kB: over LIMITS' byte cap
    (root / "link.png").symlink_to(root / "red.png")
    (root / ".DS_Store").write_bytes(b"hidden: never listed")
    return root


LIMITS = DecodeLimits(max_bytes=20_000)  # huge.png is larger


def run_label(folder: Path, root: Path, **options) -> tuple:
    with Gallery.open(root, create=True) as gallery:
        report = label_folder(folder, gallery, colour_classifier(), size=32, limits=LIMITS,
                              show_progress=False, **options)
        return report, {r.source: r for r in gallery.records()}


def test_every_picture_is_named_and_every_other_file_counted(folder, tmp_path):
    report, records = run_label(folder, tmp_path / "g")
    assert (report.named, report.unsure, report.already) == (4, 1, 0)
    assert report.skipped == {"corrupt": 1, "not_an_image": 1, "empty": 1, "too_large": 1,
                              "not_a_file": 1, "same_bytes_as_another_file": 1}
    assert report.summary() == (
        "4 pictures named (1 unsure, kept rejected), 0 already there, 6 skipped (corrupt 1, "
        "empty 1, not_a_file 1, not_an_image 1, same_bytes_as_another_file 1, too_large 1)")
    assert set(records) == {"red.png", "sub/green photo.jpg", "blue.webp", "grey.png"}
    assert [records[s].category for s in ("red.png", "sub/green photo.jpg", "blue.webp")] == [
        "red", "green", "blue"]
    red = records["red.png"]
    digest = hashlib.sha256((folder / "red.png").read_bytes()).hexdigest()
    assert red.id == source_image_id(digest) and red.seed is None and red.imported
    assert (red.status, red.decided_by, red.flags) == ("pending", "", [])
    assert red.scores["class_rank"] == 1 and red.scores["class_probability"] > 0.9
    assert (red.width, red.height, red.format, red.model_id) == (32, 32, "webp", "mean-colour")
    with Gallery.open(tmp_path / "g") as gallery:
        assert gallery.verify() == []
        stored = np.asarray(Image.open(gallery.path_of(red)))
        assert stored.shape == (32, 32, 3) and abs(int(stored[16, 16, 0]) - 220) < 8
        grey = records["grey.png"]
        assert grey.scores["class_probability"] == pytest.approx(1 / 3, abs=0.01)
        assert (grey.status, grey.decided_by, grey.flags) == ("rejected", "rule:unsure",
                                                               ["unsure"])
        assert [d.decided_by for d in gallery.decisions(grey.id)] == ["rule:unsure"]
        assert "named by the classifier mean-colour" in gallery.model_cards()["mean-colour"]


def test_the_threshold_decides_what_is_unsure(folder, tmp_path):
    report, records = run_label(folder, tmp_path / "g", threshold=1.0)
    assert report.unsure == 4 and all(r.status == "rejected" for r in records.values())
    report, records = run_label(folder, tmp_path / "h", threshold=0.0)
    assert report.unsure == 0 and all(r.status == "pending" for r in records.values())


def test_a_rerun_adds_only_new_files_and_keeps_a_persons_decision(folder, tmp_path):
    _, records = run_label(folder, tmp_path / "g")
    with Gallery.open(tmp_path / "g") as gallery:
        gallery.set_status("approved", [records["grey.png"].id], decided_by="manual")
    (folder / "blue again.png").write_bytes(picture_bytes(COLOURS["blue"], size=44))
    report, again = run_label(folder, tmp_path / "g")
    assert (report.named, report.already) == (1, 5)  # red2.png's bytes are red.png's
    assert again["blue again.png"].category == "blue"
    assert again["grey.png"].status == "approved" and again["grey.png"].decided_by == "manual"


def test_an_unsure_picture_a_killed_run_left_pending_is_rejected_on_the_rerun(folder, tmp_path):
    _, records = run_label(folder, tmp_path / "g")
    grey = records["grey.png"].id
    with Gallery.open(tmp_path / "g") as gallery:
        gallery.undo(grey)  # as if killed between indexing and the rule's decision
        assert gallery.get(grey).status == "pending" and gallery.get(grey).decided_by == ""
    _, again = run_label(folder, tmp_path / "g")
    assert again["grey.png"].status == "rejected" and again["grey.png"].decided_by == \
        "rule:unsure"


def test_file_names_are_shown_never_used_as_paths(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    assert source_name(folder / "a\nb\x1b.png", folder) == "a?b?.png"
    assert len(source_name(folder / ("x" * 1200), folder)) == 1000


def test_the_command_names_pictures_with_a_models_classifier(folder, tmp_path):
    result = CliRunner().invoke(app, ["label", str(folder), str(tmp_path / "g"), "--model",
                                      "emoji64", "--size", "64", "--format", "png", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{tmp_path / 'g'}: 5 pictures named (")
    assert "6 skipped" not in result.output  # the default byte cap lets huge.png in
    listing = CliRunner().invoke(app, ["gallery", "list", str(tmp_path / "g"), "--json"])
    objects = [json.loads(line) for line in listing.output.splitlines()]
    assert {o["source"] for o in objects} == {"red.png", "sub/green photo.jpg", "blue.webp",
                                              "grey.png", "huge.png"}
    for entry in objects:
        unsure = entry["scores"]["class_probability"] < DEFAULT_THRESHOLD
        assert entry["status"] == ("rejected" if unsure else "pending")
        assert entry["flags"] == (["unsure"] if unsure else [])
        assert entry["seed"] is None and entry["truncation"] is None


def test_the_commands_default_threshold_is_the_measured_one():
    default = inspect.signature(label_command).parameters["threshold"].default
    assert default == DEFAULT_THRESHOLD


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["label", "{f}", "g"], "say which classifier"),
    (["label", "{f}", "g", "--model", "emoji64", "--classifier", "emoji64"],
     "say which classifier"),
    (["label", "nowhere", "g", "--model", "emoji64"], "nowhere is not a folder"),
    (["label", "{f}", "g", "--classifier", "no/such-repo/here"], "no classifier"),
])
def test_mistakes_are_one_line(folder, tmp_path, args, message):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "ganpage", *[a.format(f=folder) for a in args]],
        capture_output=True, text=True, cwd=tmp_path,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "g").exists()


def test_the_site_serves_a_labelled_picture_with_its_source(folder, tmp_path):
    from fastapi.testclient import TestClient

    from ganpage.web.app import SiteConfig, create_app

    _, records = run_label(folder, tmp_path / "g")
    red = records["red.png"]
    client = TestClient(create_app(tmp_path / "g", SiteConfig(statuses=("pending",),
                                                               refresh_seconds=0)))
    page = client.get(f"/p/{red.id}")
    assert page.status_code == 200
    assert "Imported</span> from red.png, named by the classifier mean-colour; no seed" in page.text
    assert "AI-generated" not in page.text.split("<footer>")[0]
    api = client.get(f"/api/images/{red.id}").json()
    assert api["source"] == "red.png" and api["seed"] is None and api["category"] == "red"
    image = client.get(api["image_url"])
    assert image.status_code == 200
    assert hashlib.sha256(image.content).hexdigest() == red.sha256
    grey = records["grey.png"]  # rejected as unsure: not on the site
    assert client.get(f"/p/{grey.id}").status_code == 404


def test_curate_keeps_unsure_pictures_rejected_and_decides_the_rest(folder, tmp_path):
    from ganpage.curation.pipeline import curate_gallery
    from ganpage.curation.rules import Rules
    from ganpage.curation.scoring import Scorers

    _, records = run_label(folder, tmp_path / "g")
    with Gallery.open(tmp_path / "g") as gallery:
        run = curate_gallery(gallery, Scorers.build(colour_classifier(), None), Rules(),
                             show_progress=False)
        assert run.scoring.skipped == {}
        after = {r.source: r for r in gallery.records()}
        again = curate_gallery(gallery, Scorers.build(colour_classifier(), None), Rules(),
                               show_progress=False)
    assert after["grey.png"].status == "rejected" and "unsure" in after["grey.png"].flags
    assert {s: r.status for s, r in after.items() if s != "grey.png"} == {
        "red.png": "approved", "sub/green photo.jpg": "approved", "blue.webp": "approved"}
    assert after["red.png"].scores["class_probability"] > 0.9 and "dhash" in after["red.png"].scores
    assert again.changed == 0


def test_measure_threshold_labels_a_models_pictures_and_prints_coverage_and_accuracy(
        tiny_model, tmp_path, monkeypatch):
    import ganpage.classifiers
    from helpers.models import TINY_CLASSES

    # the tiny model's classes, named by mean colour: some right, some wrong, some unsure
    named = LoadedClassifier(MeanColour(), CategorySet.from_names(TINY_CLASSES), 1.0, [],
                             "mean-colour")
    monkeypatch.setattr(ganpage.classifiers, "open_classifier", lambda spec, model: named)
    drawn, measured = tmp_path / "drawn", tmp_path / "measured"
    result = CliRunner().invoke(app, ["label", str(drawn), str(measured), "--model",
                                      str(tiny_model), "--measure-threshold", "3", "--size",
                                      "32", "--format", "png", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{drawn}: 9 pictures of {tiny_model} (3 seeds x 3 classes, "
                               "truncation 0.7), named by mean-colour; ")
    assert sorted(p.name for p in drawn.iterdir()) == [f"{c}-{s}.png" for c in range(3)
                                                       for s in range(3)]
    with Gallery.open(measured) as gallery:
        records = gallery.records()
    right = [r.label == int(r.source.split("-")[0]) for r in records]
    assert len(records) == 9
    assert lines[1].startswith("threshold  kept (coverage)  accuracy of kept")
    assert lines[2].split()[:4] == ["0.0", "9", "(1.000)", f"{sum(right) / 9:.3f}"]
    assert [line.split()[0] for line in lines[2:]] == [f"{t / 10:.1f}" for t in range(10)]


@pytest.mark.parametrize("args, message", [
    (["--classifier", "emoji64"], "--measure-threshold labels pictures drawn by --model M"),
    (["--model", "emoji64"], "is not a new folder"),
])
def test_measure_threshold_mistakes(folder, tmp_path, args, message):
    result = CliRunner().invoke(app, ["label", str(folder), str(tmp_path / "g"),
                                      "--measure-threshold", "1", *args])
    assert result.exit_code != 0 and message in str(result.exception)
    assert not (tmp_path / "g").exists()
