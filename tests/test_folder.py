import json

import numpy as np
import pytest
from PIL import Image

from ganpage.data.dataset import load_training_set
from ganpage.data.decode import ResizeMode
from ganpage.data.folder import import_folder
from ganpage.errors import GanpageError


def noise_picture(seed: int, size=(50, 40)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    for name, seeds in {"hamster": [1, 2, 3], "bagel": [4, 5]}.items():
        (root / name).mkdir(parents=True)
        for seed in seeds:
            noise_picture(seed).save(root / name / f"{seed}.jpg", quality=95)
    noise_picture(1).save(root / "hamster" / "copy.png")  # same picture, other format
    (root / "bagel" / "notes.txt").write_text("not a picture")
    whole = (root / "bagel" / "4.jpg").read_bytes()
    (root / "bagel" / "broken.jpg").write_bytes(whole[: len(whole) // 2])  # truncated download
    return root


def test_import_writes_classes_manifest_and_report(photos, tmp_path):
    report = import_folder(photos, tmp_path / "data", 32, ResizeMode.PAD, show_progress=False)
    assert report["images_per_class"] == {"Bagel": 2, "Hamster": 3}
    reasons = {r["source"]: r["reason"] for r in report["rejected"]}
    assert reasons == {"bagel/notes.txt": "not_an_image", "bagel/broken.jpg": "corrupt",
                       "hamster/copy.png": "near_duplicate"}
    manifest = [json.loads(line) for line in
                (tmp_path / "data/manifest.jsonl").read_text().splitlines()]
    assert {row["source_path"] for row in manifest} >= {"hamster/1.jpg", "bagel/5.jpg"}
    dataset = load_training_set(tmp_path / "data")
    assert dataset.images.shape == (5, 3, 32, 32)
    assert sorted(dataset.labels.tolist()) == [0, 0, 1, 1, 1]


def test_missing_or_empty_source_is_a_clear_error(tmp_path):
    with pytest.raises(GanpageError, match="not a folder"):
        import_folder(tmp_path / "nope", tmp_path / "out", 32, show_progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanpageError, match="no files"):
        import_folder(tmp_path / "empty", tmp_path / "out", 32, show_progress=False)
