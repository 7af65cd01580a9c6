import hashlib
import sqlite3

import pytest

from ganpage.gallery import (
    SCHEMA_VERSION,
    Gallery,
    GalleryError,
    ImageRecord,
    image_id,
    truncation_text,
)


def record(category="hamster", seed=0, fmt="png", label=0):
    return ImageRecord(id=image_id("m", label, seed, 0.5), category=category,
                       category_name=category.title(), label=label, model_id="m", seed=seed,
                       truncation=0.5, width=2, height=2, format=fmt, sha256="")


def test_image_id_is_stable_and_recipe_sensitive():
    assert image_id("m", 1, 2, 0.5) == "021622b19183"  # published permalinks keep their ids
    ids = {image_id("m", 1, 2, 0.5), image_id("m", 1, 3, 0.5), image_id("m", 2, 2, 0.5),
           image_id("n", 1, 2, 0.5), image_id("m", 1, 2, 0.6)}
    assert len(ids) == 5 and all(len(i) == 12 for i in ids)


@pytest.mark.parametrize("a, b", [(0.12341, 0.12344), (0.5, 0.5000001), (0.3, 0.1 + 0.2)])
def test_truncations_equal_to_4_decimals_get_their_own_ids(a, b):
    """Their pictures differ (the noise is scaled by the truncation), so their ids must too."""
    assert image_id("m", 1, 2, a) != image_id("m", 1, 2, b)


def test_truncations_of_up_to_4_decimals_keep_the_ids_they_always_had():
    for value in [i / 100 for i in range(1, 101)] + [round(0.4 + 0.3 * i / 97, 2) for i in
                                                      range(97)] + [0.1234, 0.65]:
        assert truncation_text(value) == f"{value:.4f}"


def test_open_refuses_missing_gallery_unless_created(tmp_path):
    with pytest.raises(GalleryError, match="not a gallery"):
        Gallery.open(tmp_path / "nothing")
    with Gallery.open(tmp_path / "new", create=True) as gallery:
        assert gallery.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert gallery.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_writes_files_and_rows_with_sha256(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        assert gallery.add([(record(seed=1), b"one"), (record(seed=2), b"two")]) == 2
        stored = gallery.records()
        assert [r.seed for r in stored] == [1, 2]
        assert (tmp_path / stored[0].relative_path).read_bytes() == b"one"
        assert stored[0].sha256 == hashlib.sha256(b"one").hexdigest()
        assert gallery.verify() == []


def test_verify_finds_tampered_and_missing_files(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=1), b"one"), (record(seed=2), b"two")])
        first, second = gallery.records()
        gallery.path_of(first).write_bytes(b"changed")
        gallery.path_of(second).unlink()
        problems = gallery.verify()
    assert any("sha256 mismatch" in p for p in problems)
    assert any("missing file" in p for p in problems)


def test_status_changes(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=s), b"x") for s in range(3)]
                    + [(record("bagel", seed=9, label=1), b"y")])
        assert gallery.set_status("approved", category="bagel") == 1
        first = gallery.records()[0].id
        assert gallery.set_status("rejected", ids=[first]) == 1
        assert gallery.count_by_status() == {"pending": 2, "approved": 1, "rejected": 1}
        assert [r.category for r in gallery.records(["approved"])] == ["bagel"]
        with pytest.raises(GalleryError, match="unknown status"):
            gallery.set_status("maybe")


def test_unsafe_names_are_refused(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        with pytest.raises(GalleryError, match="unsafe"):
            gallery.add([(record(category="../etc"), b"x")])
        with pytest.raises(GalleryError, match="format"):
            gallery.add([(record(fmt="exe"), b"x")])
    assert not (tmp_path.parent / "etc").exists()


def test_newer_schema_is_refused(tmp_path):
    Gallery.open(tmp_path, create=True).close()
    with sqlite3.connect(tmp_path / "gallery.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(GalleryError, match="newer ganpage"):
        Gallery.open(tmp_path)


def test_merge_copies_missing_pictures_once(tmp_path):
    with Gallery.open(tmp_path / "a", create=True) as a, \
            Gallery.open(tmp_path / "b", create=True) as b:
        a.add([(record(seed=1), b"one")])
        b.add([(record(seed=1), b"one"), (record(seed=2), b"two")])
        b.record_model("m", "# card", 2, [])
        with Gallery.open(tmp_path / "all", create=True) as merged:
            assert merged.merge_from(a) == 1
            assert merged.merge_from(b) == 1
            assert merged.merge_from(b) == 0
            assert len(merged.records()) == 2 and merged.verify() == []
            assert merged.model_cards() == {"m": "# card"}


def plant_row(gallery: Gallery, **changes) -> None:
    """Write a row as a gallery from elsewhere could hold it, bypassing every check."""
    row = record(seed=7).to_row() | {"sha256": hashlib.sha256(b"x").hexdigest()} | changes
    with gallery.transaction() as db:
        db.execute(f"INSERT INTO images ({', '.join(row)}) VALUES "
                   f"({', '.join('?' * len(row))})", list(row.values()))


@pytest.mark.parametrize("changes, message", [
    ({"category": "../outside"}, "unsafe category slug or id"),
    ({"id": "../../x"}, "unsafe category slug or id"),
    ({"category": "hamster\n"}, "unsafe category slug or id"),
    ({"format": "png/../../x"}, "unknown image format"),
    ({"seed": "7; drop"}, "seed is '7; drop', not an integer"),
    ({"scores": "{"}, "scores are not JSON"),
])
def test_merge_refuses_rows_whose_names_or_values_are_unsafe(tmp_path, changes, message):
    with Gallery.open(tmp_path / "evil", create=True) as evil:
        evil.add([(record(seed=1), b"one")])
        plant_row(evil, **changes)
        (tmp_path / "outside").mkdir()  # what "../outside" means inside the source gallery
        (tmp_path / "outside" / f"{record(seed=7).id}.png").write_bytes(b"x")
        with Gallery.open(tmp_path / "deep" / "merged", create=True) as merged:
            with pytest.raises(GalleryError, match=message):
                merged.merge_from(evil)
            assert merged.records() == []
    assert list((tmp_path / "deep").rglob("*.png")) == []


def test_merge_refuses_a_file_that_does_not_match_its_row_and_leaves_nothing(tmp_path):
    with Gallery.open(tmp_path / "b", create=True) as b:
        b.add([(record(seed=1), b"one"), (record(seed=2), b"two")])
        b.path_of(b.records()[1]).write_bytes(b"tampered")
        with Gallery.open(tmp_path / "all", create=True) as merged:
            with pytest.raises(GalleryError, match="does not match its sha256"):
                merged.merge_from(b)
            assert merged.records() == []
            b.path_of(b.records()[1]).unlink()
            with pytest.raises(GalleryError, match="has no file"):
                merged.merge_from(b)
    assert list((tmp_path / "all").rglob("*.png")) == []
