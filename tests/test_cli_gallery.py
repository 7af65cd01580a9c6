"""``ganpage gallery list`` (and the moved approve): what a person sees of a gallery's pictures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganpage.cli import app
from ganpage.gallery import Gallery, ImageRecord, source_image_id

IMPORTED_BYTES = b"RIFF-not-really-a-webp"


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    """The tiny gallery with one bagel rejected on the review page (scored, flagged), one hamster
    pending, and one imported picture (no seed, a source file name)."""
    root = Path(shutil.copytree(tiny_gallery, tmp_path / "gallery"))
    with Gallery.open(root) as target:
        bagel = target.records(category="bagel")[0]
        hamster = target.records(category="hamster")[0]
        target.save_scores([(bagel.id, {"class_probability": 0.123456}, ["duplicate"])])
        target.set_status("rejected", [bagel.id], decided_by="review")
        target.set_status("pending", [hamster.id], decided_by="manual")
        content = "ab" * 32
        imported = ImageRecord(id=source_image_id(content), category="mailbox",
                               category_name="Mailbox", label=2, model_id="resnet50", seed=None,
                               truncation=1.0, width=32, height=32, format="webp", sha256="",
                               status="rejected", decided_by="rule:unsure", flags=["unsure"],
                               scores={"label_probability": 0.2}, source="IMG 0001.jpg")
        target.add([(imported, IMPORTED_BYTES)])
    return root


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_list_prints_a_line_per_picture(gallery):
    lines = run("gallery", "list", str(gallery)).splitlines()
    assert len(lines) == 13
    with Gallery.open(gallery) as source:
        bagel = next(r for r in source.records() if r.decided_by == "review")
    line = next(line for line in lines if line.startswith(bagel.id))
    assert line == (f"{bagel.id}  bagel  seed {bagel.seed} truncation {bagel.truncation:g}  "
                    "rejected  by review  class_probability=0.1235  flags duplicate")
    imported = next(line for line in lines if "source" in line)
    assert '  mailbox  source "IMG 0001.jpg"  rejected  by rule:unsure' in imported
    assert imported.endswith("flags unsure")


def test_list_filters_by_status_and_category(gallery):
    rejected = run("gallery", "list", str(gallery), "--status", "rejected").splitlines()
    assert len(rejected) == 2 and all("rejected" in line for line in rejected)
    both = run("gallery", "list", str(gallery), "--status", "rejected", "--status", "pending")
    assert len(both.splitlines()) == 3
    bagels = run("gallery", "list", str(gallery), "--category", "bagel").splitlines()
    assert len(bagels) == 4 and all(line.split()[1] == "bagel" for line in bagels)
    assert run("gallery", "list", str(gallery), "--category", "bagel", "--status",
               "pending") == ""


def test_list_json_is_one_object_per_line(gallery):
    objects = [json.loads(line) for line in
               run("gallery", "list", str(gallery), "--json", "--status", "rejected").splitlines()]
    imported = next(o for o in objects if o["source"])
    assert imported == {"id": source_image_id("ab" * 32), "category": "mailbox", "seed": None,
                        "truncation": None, "status": "rejected",
                        "scores": {"label_probability": 0.2}, "flags": ["unsure"],
                        "decided_by": "rule:unsure", "source": "IMG 0001.jpg"}
    generated = next(o for o in objects if not o["source"])
    assert generated["category"] == "bagel" and isinstance(generated["seed"], int)
    assert 0.5 <= generated["truncation"] <= 0.9 and generated["flags"] == ["duplicate"]
    assert generated["scores"] == {"class_probability": 0.123456}


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["list", "{g}", "--category", "bagle"], "has no category 'bagle' (it has: bagel, hamster"),
    (["approve", "{g}", "--category", "bagle"], "has no category 'bagle'"),
    (["list", "{g}", "--status", "gone"], "'gone' is not one of"),
    (["list", "nowhere"], "is not a gallery"),
])
def test_mistakes_are_one_line(gallery, tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "ganpage", "gallery",
                             *[a.format(g=gallery) for a in args]],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
