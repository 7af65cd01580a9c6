"""web/catalog.py: the snapshot of what the site shows, reloaded when the index changes, and
pictures found damaged hidden in this worker and in the others that share its file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganpage.gallery import Gallery
from ganpage.web.catalog import HIDDEN_FILE, Catalog, HiddenFile


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    root = tmp_path / "gallery"
    shutil.copytree(tiny_gallery, root)
    return root


def test_a_change_to_the_index_is_seen_at_the_next_refresh(gallery):
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"])
        victim = catalog.current().category_list[0].records[0]
        with Gallery.open(gallery) as writer:
            writer.set_status("rejected", [victim.id])
        assert victim.id in catalog.current().by_id  # the snapshot it had, until the look
        catalog.refresh()
        assert victim.id not in catalog.current().by_id
        assert len(catalog.current().by_id) == 11


def test_a_picture_one_worker_hides_is_hidden_in_the_others_after_their_refresh(
        gallery, tmp_path):
    shared = tmp_path / HIDDEN_FILE
    with Gallery.open(gallery, shared=True) as one_index, \
            Gallery.open(gallery, shared=True) as two_index:
        one, two = (Catalog(index, ["approved"], hidden_file=shared)
                    for index in (one_index, two_index))
        victim = next(iter(one.current().by_id))
        one.hide(victim)
        held = two.current()  # what a request of the other worker is reading meanwhile
        assert victim not in one.current().by_id and victim in held.by_id
        two.refresh()  # on its refresh thread: a new snapshot, the one held left as it was
        assert victim not in two.current().by_id
        assert victim in held.by_id and sum(len(v.records) for v in held.category_list) == 12
        with Gallery.open(gallery) as writer:  # a reload of the index keeps it hidden
            writer.set_status("pending", [next(iter(two.current().by_id))])
        two.refresh()
        assert victim not in two.current().by_id and len(two.current().by_id) == 10


def test_a_line_still_being_written_waits_for_the_next_look(tmp_path):
    path = tmp_path / HIDDEN_FILE
    reader = HiddenFile(path)
    assert reader.new_ids() == []  # no file yet
    HiddenFile(path).add("0123456789ab")
    with open(path, "ab") as file:
        file.write(b"ba98")  # half a line
    assert reader.new_ids() == ["0123456789ab"]
    with open(path, "ab") as file:
        file.write(b"76543210\n")
    assert reader.new_ids() == ["ba9876543210"] and reader.new_ids() == []


def test_the_shared_file_failing_is_no_error_for_a_request(tmp_path):
    nowhere = HiddenFile(tmp_path / "gone" / HIDDEN_FILE)
    nowhere.add("0123456789ab")  # the folder is not there: the other workers find out later
    assert nowhere.new_ids() == []
    assert HiddenFile(tmp_path).new_ids() == []  # a folder, not a file: unreadable as one
