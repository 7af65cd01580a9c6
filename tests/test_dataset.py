"""The data set layout: a data set from elsewhere is read with one-line errors, never trusted."""

import json

import numpy as np
import pytest
from PIL import Image

from ganpage.data.dataset import DatasetError, DatasetWriter, load_training_set
from ganpage.errors import GanpageError


@pytest.fixture
def dataset(tmp_path):
    writer = DatasetWriter(tmp_path / "data", 8)
    for c in range(2):
        for i in range(2):
            pixels = np.random.default_rng(10 * c + i).integers(0, 256, (8, 8, 3), np.uint8)
            writer.add(Image.fromarray(pixels), f"Class {c}", f"img{i}")
    writer.finish()
    return tmp_path / "data"


def rewrite_manifest(root, change) -> None:
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    change(rows)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_written_data_set_loads(dataset):
    loaded = load_training_set(dataset)
    assert loaded.images.shape == (4, 3, 8, 8) and sorted(loaded.labels) == [0, 0, 1, 1]


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[0].update(path="../../../etc/hostname"), "does not name a picture"),
    (lambda rows: rows[0].update(path="/etc/hostname"), "does not name a picture"),
    (lambda rows: rows[0].update({"class": "no-such-class"}), "does not name a picture"),
    (lambda rows: rows[0].pop("path"), "does not name a picture"),
])
def test_manifest_rows_never_become_paths_outside_the_data_set(dataset, change, message):
    rewrite_manifest(dataset, change)
    with pytest.raises(DatasetError, match=message):
        load_training_set(dataset)


def test_damaged_files_are_one_line_errors(dataset):
    first = json.loads((dataset / "manifest.jsonl").read_text().splitlines()[0])
    (dataset / first["path"]).write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot be read as a picture"):
        load_training_set(dataset)
    (dataset / "manifest.jsonl").write_text('{"path": \n')
    with pytest.raises(DatasetError, match="manifest.jsonl is damaged"):
        load_training_set(dataset)
    (dataset / "classes.json").write_text('[{"id": 0}]')
    with pytest.raises(GanpageError, match=r"classes.json does not list categories \(KeyError"):
        load_training_set(dataset)
