import json

import numpy as np
import pytest
from PIL import Image

from ganpage.data.dataset import DatasetError, DatasetWriter, load_training_set
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


def test_file_names_that_slug_alike_are_all_kept(tmp_path):
    """'A.png' and 'a.png', 'a b.jpg' and 'a-b.jpg' once went to one file: the last one won."""
    root = tmp_path / "photos"
    seeds = iter(range(100))
    for folder, names in {"cat": ["A.png", "a.png", "a b.png", "a-b.png"],
                          "dog": ["x.png", "X.png"]}.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            noise_picture(next(seeds)).save(root / folder / name)
    report = import_folder(root, tmp_path / "data", 16, show_progress=False)
    assert report["images"] == 6 and report["rejected"] == []
    manifest = (tmp_path / "data/manifest.jsonl").read_text()
    rows = [json.loads(line) for line in manifest.splitlines()]
    assert len({row["path"] for row in rows}) == 6
    assert len(list((tmp_path / "data").rglob("*.png"))) == 6
    assert len(load_training_set(tmp_path / "data").images) == 6


def test_non_latin_class_folders_stay_apart(tmp_path):
    root = tmp_path / "photos"
    for seed, name in enumerate(["犬", "猫", "Кот"]):
        (root / name).mkdir(parents=True)
        noise_picture(seed).save(root / name / "1.png")
        noise_picture(seed + 10).save(root / name / "2.png")
    report = import_folder(root, tmp_path / "data", 16, show_progress=False)
    assert report["images_per_class"] == {"Кот": 2, "犬": 2, "猫": 2}
    dataset = load_training_set(tmp_path / "data")
    assert len(dataset.categories) == 3 and sorted(dataset.labels.tolist()) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("folders", [["Cat", "cat"], ["ice_cream", "ice-cream"], ["Кот", "кот"]])
def test_class_folders_that_would_become_one_class_are_refused(tmp_path, folders):
    root = tmp_path / "photos"
    for seed, name in enumerate(folders):
        (root / name).mkdir(parents=True)
        noise_picture(seed).save(root / name / "1.png")
    first, second = sorted(folders)
    with pytest.raises(GanpageError, match=f"class folders '{first}' and '{second}' .* would "
                                           "become one class"):
        import_folder(root, tmp_path / "data", 16, show_progress=False)
    assert not (tmp_path / "data").exists()


def test_writer_refuses_two_class_names_in_one_folder(tmp_path):
    writer = DatasetWriter(tmp_path / "data", 16)
    writer.add(noise_picture(1, (16, 16)), "Ice Cream", "a")
    with pytest.raises(DatasetError, match="classes 'Ice Cream' and 'Ice-Cream' would share "
                                           "the folder 'ice-cream'"):
        writer.add(noise_picture(2, (16, 16)), "Ice-Cream", "b")
