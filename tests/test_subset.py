"""ganpage data subset (ganpage.data.subset): which classes it keeps, and that what it writes
is a data set the trainer reads with its manifest rows intact."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganpage.data.dataset import DatasetError, DatasetWriter, load_training_set
from ganpage.data.subset import write_subset

SIZES = {"Dog": 5, "Cat": 7, "Ant": 5, "Bee": 3, "Owl": 7}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "animals"
    writer, rng = DatasetWriter(root, 8), np.random.default_rng(0)
    for name, count in SIZES.items():
        for i in range(count):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            writer.add(Image.fromarray(pixels), name, f"{name}{i}", source=f"set{i % 2}")
    writer.finish()
    return root


def test_most_keeps_the_biggest_classes_ties_by_name_in_the_sources_order(data, tmp_path):
    report = write_subset(data, 3, tmp_path / "top3", "most")
    subset = load_training_set(tmp_path / "top3", style_label="source")
    assert [c.name for c in subset.categories] == ["Ant", "Cat", "Owl"]  # Ant beats Dog on name
    assert report["images"] == len(subset.images) == 19
    assert report["images_per_class"] == {"Ant": 5, "Cat": 7, "Owl": 7}
    assert subset.style_names == ["set0", "set1"]
    rows = [json.loads(line) for line in
            (tmp_path / "top3" / "manifest.jsonl").read_text().splitlines()]
    original = {row["path"]: row for row in
                map(json.loads, (data / "manifest.jsonl").read_text().splitlines())}
    assert all(row == original[row["path"]] for row in rows)
    assert not list(tmp_path.glob("*.partial"))


def test_spread_takes_classes_evenly_and_mistakes_are_one_line(data, tmp_path):
    write_subset(data, 2, tmp_path / "spread", "spread")
    names = [c["name"] for c in json.loads((tmp_path / "spread" / "classes.json").read_text())]
    assert names == ["Ant", "Cat"]  # of Ant, Bee, Cat, Dog, Owl: ids 0 and 2
    with pytest.raises(DatasetError, match="--classes must be 2..5"):
        write_subset(data, 6, tmp_path / "x")
    with pytest.raises(DatasetError, match="not a ganpage data set"):
        write_subset(tmp_path, 2, tmp_path / "y")
    with pytest.raises(DatasetError, match="unknown choice 'best'"):
        write_subset(data, 2, tmp_path / "z", "best")


def test_the_subsets_report_credits_only_the_sets_it_keeps_pictures_of(data, tmp_path):
    """A model trained on a subset credits its sets (``model_attribution`` reads the report's
    ``source_details``): the subset of emoji32 had no details, so its model could not be
    released with credits."""
    import shutil

    from ganpage.data.emoji import model_attribution

    source = tmp_path / "animals"
    shutil.copytree(data, source)
    report = json.loads((source / "report.json").read_text())
    sets = {"set0": 13, "set1": 14, "set2": 0}
    report["source_details"] = {
        name: {"package": f"{name}@1.0", "licence": "CC-BY-SA-4.0" if name == "set1" else "MIT",
               "credit": f"{name} by someone", "pictures": count, "matched": count + 1}
        for name, count in sets.items()}
    (source / "report.json").write_text(json.dumps(report))
    subset = write_subset(source, 2, tmp_path / "two", "spread")  # Ant 5 (3 of set0), Cat 7 (4)
    details = subset["source_details"]
    assert {name: d["pictures"] for name, d in details.items()} == {"set0": 7, "set1": 5,
                                                                     "set2": 0}
    assert "matched" not in details["set0"] and details["set1"]["licence"] == "CC-BY-SA-4.0"
    credits = model_attribution(tmp_path / "two", "tiny")
    assert "trained on 12 pictures from 2 emoji sets" in credits
    assert "ShareAlike term of CC BY-SA 4.0 (set1)" in credits and "set2" not in credits
