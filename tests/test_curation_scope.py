"""A curate run after a few changes decides again only the categories they reach (the touched
ones and those joined to them by near-duplicate groups) and leaves the gallery exactly as a
run over every picture would."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from ganpage.categories import CategorySet
from ganpage.curation.memorisation import training_reference
from ganpage.curation.pipeline import curate_gallery
from ganpage.curation.rules import Rules
from ganpage.curation.scope import linked_categories, touched_categories
from ganpage.curation.scoring import Scorers
from ganpage.gallery import Gallery, ImageRecord
from helpers.curation import png, shapes, training_data

NAMES = ["Apple", "Bell", "Cherry", "Drum", "Egg", "Fern"]


class SixClasses:
    """A tiny classifier of ``NAMES``: a fixed linear map of each picture's mean colour."""

    def __init__(self):
        self.categories = CategorySet.from_names(NAMES)
        self.model_id = "six-test"
        self.weights = np.random.default_rng(0).standard_normal((3, len(NAMES))) / 20

    def probabilities(self, pictures: np.ndarray) -> np.ndarray:
        logits = pictures.astype(np.float32).mean(axis=(1, 2)) @ self.weights  # (N, 6)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return training_reference(training_data(tmp_path_factory.mktemp("shapes") / "data"))


def add(root, pictures: list[tuple[str, int, np.ndarray]], create: bool = False) -> None:
    """(category name, seed, picture) rows, pending."""
    categories = CategorySet.from_names(NAMES)
    with Gallery.open(root, create=create) as gallery:
        for name, seed, picture in pictures:
            category = categories.lookup(name)
            record = ImageRecord(id=f"pic{seed:04d}", category=category.slug,
                                 category_name=category.name, label=category.id,
                                 model_id="shapes", seed=seed, truncation=0.7,
                                 width=picture.shape[1], height=picture.shape[0], format="png",
                                 sha256="")
            gallery.add([(record, png(picture))])


@pytest.fixture
def gallery(tmp_path):
    """Two pictures a category; Apple's are twins, and Cherry's first is Drum's first."""
    root = tmp_path / "gallery"
    twin, shared = shapes(7000, 0), shapes(7001, 1)
    pictures = [("Apple", 0, twin), ("Apple", 1, twin), ("Cherry", 4, shared),
                ("Drum", 6, shared)]
    pictures += [(name, seed, shapes(seed, seed % 3)) for name, seed in
                 [("Bell", 2), ("Bell", 3), ("Cherry", 5), ("Drum", 7), ("Egg", 8), ("Egg", 9),
                  ("Fern", 10), ("Fern", 11)]]
    add(root, pictures, create=True)
    return root


def curate(root, reference, rules=None, whole=False, read=None):
    with Gallery.open(root) as opened:
        if read is not None:  # note the categories read
            records = opened.records
            opened.records = lambda *a, category=None, **k: (read.append(category),
                                                              records(*a, category=category,
                                                                      **k))[1]
        return curate_gallery(opened, Scorers.build(SixClasses(), reference), rules or Rules(),
                              batch_size=4, show_progress=False, reuse_stamp=not whole)


def state(root) -> dict:
    with Gallery.open(root) as opened:
        return {r.id: (r.status, r.decided_by, r.flags, r.scores) for r in opened.records()}


def test_a_new_picture_in_one_category_decides_that_category_again(gallery, reference):
    first = curate(gallery, reference)
    assert first.categories is None and first.findings.groups == 2
    add(gallery, [("Bell", 12, shapes(12, 2))])
    read: list = []
    again = curate(gallery, reference, read=read)
    assert again.categories == {"bell"} and read == ["bell"]
    assert again.scoring.scored == 1 and {r.id for r in again.records} == {
        "pic0002", "pic0003", "pic0012"}
    assert state(gallery)["pic0012"][:2] == ("approved", "rule:passed")


def test_a_duplicate_of_a_picture_elsewhere_reaches_every_category_of_its_group(gallery,
                                                                                 reference):
    curate(gallery, reference)
    add(gallery, [("Egg", 13, shapes(7001, 1))])  # Cherry's and Drum's shared picture again
    read: list = []
    again = curate(gallery, reference, read=read)
    assert again.categories == {"cherry", "drum", "egg"}
    assert sorted(read) == ["cherry", "drum", "egg"]
    assert ["pic0004", "pic0006", "pic0013"] in again.groups
    assert state(gallery)["pic0013"][:3] == ("rejected", "rule:duplicate", ["duplicate"])


def test_a_removed_picture_frees_its_twin_in_another_category(gallery, reference):
    curate(gallery, reference)
    kept = "pic0004" if state(gallery)["pic0004"][0] == "approved" else "pic0006"
    other = {"pic0004": "pic0006", "pic0006": "pic0004"}[kept]
    assert state(gallery)[other][:2] == ("rejected", "rule:duplicate")
    with Gallery.open(gallery) as opened:  # the kept one goes (as a merge or a person could)
        opened.db.execute("DELETE FROM images WHERE id = ?", (kept,))
    again = curate(gallery, reference)
    assert again.categories is None  # a picture gone: every picture decided again
    assert state(gallery)[other][:3] == ("approved", "rule:passed", [])


def test_a_picture_drawn_again_under_its_id_frees_its_old_twin_elsewhere(gallery, reference,
                                                                         tmp_path):
    curate(gallery, reference)
    kept = "pic0004" if state(gallery)["pic0004"][0] == "approved" else "pic0006"
    other = {"pic0004": "pic0006", "pic0006": "pic0004"}[kept]
    category = {"pic0004": "Cherry", "pic0006": "Drum"}[kept]
    add(gallery, [(category, int(kept[3:]), shapes(7100, 2))])  # the same id, a new picture
    copy = tmp_path / "copy"
    shutil.copytree(gallery, copy)
    again = curate(gallery, reference)
    curate(copy, reference, whole=True)
    assert again.categories == {"cherry", "drum"}  # its old twin's too, though in no group
    assert state(gallery)[other][:3] == ("approved", "rule:passed", [])
    assert state(gallery) == state(copy)


def test_a_removed_picture_that_was_not_its_groups_root_frees_its_twin_too(gallery, reference,
                                                                          tmp_path):
    curate(gallery, reference)
    with Gallery.open(gallery) as opened:  # a person keeps Drum's copy, so Cherry's goes
        opened.set_status("approved", ["pic0006"], decided_by="review")
    curate(gallery, reference)
    assert state(gallery)["pic0004"][:2] == ("rejected", "rule:duplicate")
    with Gallery.open(gallery) as opened:  # then Drum's copy is removed
        opened.db.execute("DELETE FROM images WHERE id = 'pic0006'")
    copy = tmp_path / "copy"
    shutil.copytree(gallery, copy)
    again = curate(gallery, reference)
    curate(copy, reference, whole=True)
    assert again.categories is None  # a picture gone: its group with it, so every picture
    assert state(gallery)["pic0004"][:3] == ("approved", "rule:passed", [])
    assert state(gallery) == state(copy)


def test_scores_written_by_a_run_with_other_settings_end_the_stamp(gallery, reference):
    curate(gallery, reference)

    class Stopping(SixClasses):  # another classifier, stopped after its first batch
        def probabilities(self, pictures):
            if getattr(self, "called", False):
                raise KeyboardInterrupt
            self.called = True
            return super().probabilities(pictures)

    add(gallery, [("Bell", 12, shapes(12, 2)), ("Egg", 13, shapes(13, 0)),
                  ("Fern", 14, shapes(14, 1)), ("Apple", 15, shapes(15, 2)),
                  ("Drum", 16, shapes(16, 0))])
    with Gallery.open(gallery) as opened, pytest.raises(KeyboardInterrupt):
        curate_gallery(opened, Scorers(Stopping(), None, None), Rules(top_k=1), batch_size=4,
                       show_progress=False, use_onnx=False)
    with Gallery.open(gallery) as opened:
        assert opened.curation_stamp() is None
    assert curate(gallery, reference).categories is None


def test_a_person_deciding_during_a_run_is_what_the_run_reports(gallery, reference,
                                                                 monkeypatch):
    from ganpage.curation import pipeline

    real_apply = pipeline.apply

    def apply_while_a_person_decides(opened, found):
        with Gallery.open(gallery) as other:  # the review page, in another process
            other.set_status("rejected", [found[0].image_id], decided_by="review")
        return real_apply(opened, found)

    monkeypatch.setattr(pipeline, "apply", apply_while_a_person_decides)
    run = curate(gallery, reference)
    reported = {r.id: (r.status, r.decided_by) for r in run.records}
    assert reported == {i: s[:2] for i, s in state(gallery).items()}
    assert ("rejected", "review") in reported.values()


def test_a_stamp_ahead_of_the_change_log_means_reading_everything(gallery, reference):
    curate(gallery, reference)
    with Gallery.open(gallery) as opened:
        opened.db.execute("UPDATE curation_stamp SET last_change = last_change + 5")
        stamp = opened.curation_stamp()
        assert touched_categories(opened, stamp, opened.last_change()) is None
    assert curate(gallery, reference).categories is None


@pytest.mark.parametrize("rules", [Rules(), Rules(top_k=1), Rules(reject=("blank",))])
def test_after_any_changes_the_gallery_ends_as_a_run_over_every_picture_leaves_it(
        gallery, reference, tmp_path, rules):
    curate(gallery, reference, rules)
    add(gallery, [("Egg", 13, shapes(7001, 1)), ("Fern", 14, shapes(7000, 0)),
                  ("Egg", 15, np.full((64, 64, 3), 255, np.uint8))])
    with Gallery.open(gallery) as opened:
        opened.set_status("approved", ["pic0006"], decided_by="review")  # Drum's shared one
        opened.set_status("rejected", ["pic0005"], decided_by="manual")
        opened.set_status("approved", ["pic0001"], decided_by="manual")  # an Apple twin
    copy = tmp_path / "copy"
    shutil.copytree(gallery, copy)
    part = curate(gallery, reference, rules)
    whole = curate(copy, reference, rules, whole=True)
    assert part.categories == {"apple", "cherry", "drum", "egg", "fern"}  # not Bell
    assert state(gallery) == state(copy)
    assert part.findings == whole.findings and sorted(part.groups) == sorted(whole.groups)
    assert curate(gallery, reference, rules).unchanged


def test_linked_categories_follow_groups_transitively():
    category_of = ["a", "b", "b", "c", "d", "e"]
    groups = [[0, 1], [2, 3], [4, 5]]  # a-b, b-c, d-e
    assert linked_categories({"a"}, groups, category_of) == {"a", "b", "c"}
    assert linked_categories({"e"}, groups, category_of) == {"d", "e"}
    assert linked_categories({"f"}, groups, category_of) == {"f"}


def test_a_change_log_that_no_longer_reaches_the_stamp_means_reading_everything(gallery,
                                                                               reference):
    curate(gallery, reference)
    add(gallery, [("Bell", 12, shapes(12, 2))])
    with Gallery.open(gallery) as opened:
        stamp = opened.curation_stamp()
        now = opened.last_change()
        assert touched_categories(opened, stamp, now) == {"bell"}
        assert touched_categories(opened, stamp, now + 1) is None  # more than it could read
        opened.db.execute("DELETE FROM changes")  # trimmed past the stamp
        add_later = replace(opened.get("pic0012"), id="pic0016", seed=16)
        opened.add([(add_later, (gallery / "bell" / "pic0012.png").read_bytes())])
        assert touched_categories(opened, stamp, opened.last_change()) is None
    assert curate(gallery, reference).categories is None
