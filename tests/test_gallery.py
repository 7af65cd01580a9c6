import hashlib
import sqlite3
from dataclasses import replace

import pytest

from ganpage.gallery import (
    CHANGES_KEPT,
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


def test_merge_goes_in_batches_with_one_sync_each_and_keeps_the_batches_before_a_bad_one(
        tmp_path, monkeypatch):
    import os

    syncs, fsyncs = [], []
    monkeypatch.setattr(os, "sync", lambda: syncs.append(1))
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))
    with Gallery.open(tmp_path / "b", create=True) as b:
        b.add([(record(seed=seed), f"picture {seed}".encode()) for seed in range(5)])
        last = next(r for r in b.records() if r.seed == 4)  # added last: the third batch of two
        b.path_of(last).write_bytes(b"tampered")
        fsyncs.clear()
        with Gallery.open(tmp_path / "all", create=True) as merged:
            with pytest.raises(GalleryError, match="does not match its sha256"):
                merged.merge_from(b, batch_size=2)
            assert sorted(r.seed for r in merged.records()) == [0, 1, 2, 3]
            assert len(syncs) == 2 and fsyncs == []  # no fsync per file
            assert len(list((tmp_path / "all").rglob("*.png"))) == 4
            b.path_of(last).write_bytes(b"picture 4")
            assert merged.merge_from(b, batch_size=2) == 1  # a re-run goes on from there
            assert merged.verify() == []


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


# -- schema 2: curation -------------------------------------------------------------------------

def make_v1_gallery(root) -> None:
    """A gallery as ganpage wrote it before schema 2: three rows, two already decided."""
    from ganpage.gallery import MIGRATIONS

    root.mkdir()
    with sqlite3.connect(root / "gallery.sqlite") as db:
        db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
        for seed, status in enumerate(["pending", "approved", "rejected"]):
            row = {k: v for k, v in record(seed=seed).to_row().items()
                   if k not in ("decided_by", "decided_at", "flags", "source")}
            row |= {"status": status, "scores": '{"class_probability": 0.5}'}
            db.execute(f"INSERT INTO images ({', '.join(row)}) VALUES "
                       f"({', '.join('?' * len(row))})", list(row.values()))
            (root / "hamster").mkdir(exist_ok=True)


def test_a_v1_gallery_migrates_keeping_rows_and_counting_old_decisions_as_manual(tmp_path):
    make_v1_gallery(tmp_path / "g")
    with Gallery.open(tmp_path / "g") as gallery:
        assert gallery.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        stored = {r.seed: r for r in gallery.records()}
        assert [stored[s].status for s in range(3)] == ["pending", "approved", "rejected"]
        assert [stored[s].decided_by for s in range(3)] == ["", "manual", "manual"]
        assert all(r.flags == [] and r.source is None and r.decided_at == ""
                   for r in stored.values())
        assert stored[1].scores == {"class_probability": 0.5}
        # the recipe stays unique after the rebuild, and the decisions log exists
        with pytest.raises(sqlite3.IntegrityError):
            plant_row(gallery, id="aaaaaaaaaaaa", seed=0)
        assert gallery.decisions(stored[1].id) == []
        assert gallery.last_change() == 0  # the change log starts empty, then logs
        gallery.set_status("approved", [stored[0].id])
        assert gallery.changes_since(0).touched == [(stored[0].id, "hamster")]


def test_set_status_records_who_decided_and_when_and_logs_it(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=1), b"one")])
        picture = gallery.records()[0].id
        assert gallery.set_status("approved", [picture], decided_by="rule:min-score") == 1
        stored = gallery.get(picture)
        assert stored.decided_by == "rule:min-score" and stored.decided_at.endswith("+00:00")
        gallery.set_status("rejected", [picture])  # the CLI's default: manual
        log = gallery.decisions(picture)
        assert [(d.previous_status, d.status, d.decided_by) for d in log] == [
            ("pending", "approved", "rule:min-score"), ("approved", "rejected", "manual")]
        with pytest.raises(GalleryError, match="unknown decider"):
            gallery.set_status("approved", [picture], decided_by="robot")


def test_a_rule_never_overrides_a_person(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=s), b"x") for s in range(3)])
        by_hand, by_review, by_rule = (r.id for r in gallery.records())
        gallery.set_status("approved", [by_hand], decided_by="manual")
        gallery.set_status("approved", [by_review], decided_by="review")
        gallery.set_status("approved", [by_rule], decided_by="rule:top-k")
        assert gallery.set_status("rejected", decided_by="rule:duplicate") == 1
        assert gallery.set_status("rejected", [by_hand, by_review],
                                  decided_by="rule:duplicate") == 0
        assert {r.id: r.status for r in gallery.records()} == {
            by_hand: "approved", by_review: "approved", by_rule: "rejected"}
        assert gallery.get(by_rule).decided_by == "rule:duplicate"


def test_undo_is_a_stack_that_restores_status_decider_and_time(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=1), b"one")])
        picture = gallery.records()[0].id
        assert gallery.undo(picture) is None  # nothing decided yet
        gallery.set_status("approved", [picture], decided_by="rule:top-k")
        first = gallery.get(picture)
        gallery.set_status("rejected", [picture], decided_by="review")
        after_one = gallery.undo(picture)
        assert (after_one.status, after_one.decided_by, after_one.decided_at) == (
            "approved", "rule:top-k", first.decided_at)
        after_two = gallery.undo(picture)
        assert (after_two.status, after_two.decided_by, after_two.decided_at) == (
            "pending", "", "")
        assert gallery.undo(picture) is None
        log = gallery.decisions(picture)
        assert [d.undoes for d in log] == [None, None, log[1].seq, log[0].seq]
        assert all(d.decided_by == "review" for d in log[2:])  # who undid it
        assert gallery.undo("ffffffffffff") is None


def test_scores_and_flags_are_saved_without_touching_the_status(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=1), b"one")])
        picture = gallery.records()[0].id
        gallery.set_status("approved", [picture])
        assert gallery.save_scores([(picture, {"class_probability": 0.9},
                                     ["duplicate", "blank", "duplicate"])]) == 1
        stored = gallery.get(picture)
        assert stored.scores == {"class_probability": 0.9}
        assert stored.flags == ["blank", "duplicate"] and stored.status == "approved"
        with pytest.raises(GalleryError, match="flag"):
            gallery.save_scores([(picture, {}, ["Bad Flag"])])


def test_the_change_log_names_what_any_writer_changed_a_page_or_its_showing_of(tmp_path):
    """Added, decided, undone, moved, replaced and deleted pictures are logged with where
    they were and are, by the triggers, whoever writes; scores and flags are not."""
    with Gallery.open(tmp_path, create=True) as gallery:
        one, two = record(seed=1), record(seed=2)
        gallery.add([(one, b"one"), (two, b"two")])
        start = gallery.last_change()
        assert gallery.changes_since(0).touched == sorted([(one.id, "hamster"),
                                                           (two.id, "hamster")])
        gallery.set_status("approved", [one.id])
        gallery.undo(one.id)
        gallery.save_scores([(two.id, {"quality": 1.0}, ["blank"])])
        assert gallery.changes_since(start).touched == [(one.id, "hamster")]
        start = gallery.last_change()
        gallery.db.execute("UPDATE images SET category = 'bagel' WHERE id = ?", (two.id,))
        assert gallery.changes_since(start).touched == [(two.id, "bagel"), (two.id, "hamster")]
        start = gallery.last_change()
        gallery.add([(record(category="mailbox", seed=2), b"two again")])  # a REPLACE
        gallery.db.execute("DELETE FROM images WHERE id = ?", (one.id,))
        batch = gallery.changes_since(start)
        assert batch.touched == [(one.id, "hamster"), (two.id, "bagel"), (two.id, "mailbox")]
        assert batch.last == gallery.last_change()
        assert gallery.changes_since(batch.last).touched == []
        start = gallery.last_change()  # the same recipe under another id replaces it too
        gallery.add([(replace(record(category="bagel", seed=2), id="0123456789ab"), b"2")])
        assert gallery.changes_since(start).touched == [("0123456789ab", "bagel"),
                                                         (two.id, "mailbox")]
        assert gallery.get(two.id) is None


def test_a_reader_behind_the_trimmed_change_log_is_told_to_read_afresh(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=1), b"one")])
        with gallery.transaction() as db:
            db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                       "i < ?) INSERT INTO changes (image_id, category) SELECT 'x', 'x' FROM n",
                       (CHANGES_KEPT + 2000,))
        kept = gallery.db.execute("SELECT COUNT(*), MIN(seq) FROM changes").fetchone()
        assert CHANGES_KEPT <= kept[0] < CHANGES_KEPT + 1000
        assert gallery.changes_since(0) is None and gallery.changes_since(kept[1] - 2) is None
        assert len(gallery.changes_since(kept[1] - 1, limit=5).touched) == 1  # all 'x'


def imported(name="cat.png", content=b"cat") -> ImageRecord:
    from ganpage.gallery import source_image_id

    return ImageRecord(id=source_image_id(hashlib.sha256(content).hexdigest()),
                       category="hamster", category_name="Hamster", label=0, model_id="m-cls",
                       seed=None, truncation=1.0, width=2, height=2, format="png", sha256="",
                       source=name)


def test_an_imported_picture_has_a_source_and_no_seed(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(imported(), b"png"), (imported("dog.png", b"dog"), b"png2"),
                     (record(seed=1), b"one")])
        stored = {r.id: r for r in gallery.records()}
        assert sorted((r.source, r.seed) for r in stored.values() if r.imported) == [
            ("cat.png", None), ("dog.png", None)]
        assert imported().id in stored and imported().id != imported(content=b"dog").id
    with pytest.raises(GalleryError, match="either a seed"):
        ImageRecord(**{**imported().__dict__, "seed": 3})
    with pytest.raises(GalleryError, match="source name"):
        ImageRecord(**{**imported().__dict__, "source": "evil\nname"})


@pytest.mark.parametrize("changes, message", [
    ({"decided_by": "root"}, "decided_by is 'root'"),
    ({"flags": '["<script>"]'}, "flags"),
    ({"flags": "{"}, "flags are not JSON"),
])
def test_merge_refuses_damaged_curation_fields(tmp_path, changes, message):
    with Gallery.open(tmp_path / "evil", create=True) as evil:
        plant_row(evil, **changes)
        with Gallery.open(tmp_path / "merged", create=True) as merged, \
                pytest.raises(GalleryError, match=message):
            merged.merge_from(evil)


# -- schema 4: the review's listings ------------------------------------------------------------

def query_plan(gallery: Gallery, sql: str, params: list) -> str:
    return " | ".join(row[3] for row in gallery.db.execute("EXPLAIN QUERY PLAN " + sql, params))


def test_the_listings_walk_indexes_instead_of_reading_or_sorting_every_picture(tmp_path,
                                                                             monkeypatch):
    from ganpage.listings import Selection

    asked: list[tuple[str, list]] = []
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        gallery.add((record(seed=seed), b"%d" % seed) for seed in range(5))
        gallery.save_scores([(record(seed=1).id, {"q": {"a": 0.5}}, ["blank"])])
        assert sorted(row[3:] for row in gallery.count_by_category_status_and_flags()) == [
            ('["blank"]', 1), ("[]", 4)]
        plan = query_plan(gallery, "SELECT category, category_name, status, flags, COUNT(*) "
                          "FROM images GROUP BY category, category_name, status, flags", [])
        assert "COVERING INDEX images_for_review_counts" in plan and "TEMP" not in plan
        original = gallery.db

        class Recording:  # the statement selected_records runs, to explain it
            def execute(self, sql, params=()):
                asked.append((sql, list(params)))
                return original.execute(sql, params)

        monkeypatch.setattr(gallery, "db", Recording())
        page = gallery.selected_records(Selection(status="pending"), ["Hamster"], 1, 2)
        scored = gallery.selected_records(Selection(score="q.a"), ["Hamster"], 0, 9)
        monkeypatch.setattr(gallery, "db", original)
        assert len(page) == 2 and [r.seed for r in scored] == [1]
        plan = query_plan(gallery, *asked[0])
        assert "INDEX images_by_name_and_age (category_name=?)" in plan and "TEMP" not in plan


def test_records_by_id_reads_one_range_of_ids_of_the_statuses_asked(tmp_path):
    with Gallery.open(tmp_path, create=True) as gallery:
        gallery.add([(record(seed=s), b"x") for s in range(40)])
        ids = sorted(r.id for r in gallery.records())
        gallery.set_status("approved", ids=ids[::2])
        low, high = ids[5], ids[30]
        inside = [i for i in ids[::2] if low <= i < high]
        assert [r.id for r in gallery.records_by_id(["approved"], low, high)] == inside
        assert len(gallery.records_by_id(["approved", "pending"], low, high)) == 25
        assert gallery.records_by_id(["approved"], high, low) == []
