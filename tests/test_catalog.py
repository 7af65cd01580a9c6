"""web/catalog.py: the showable pictures of a gallery kept as codes per category, changes
applied from the index's change log (in every worker, without reading the whole index),
uniform random picks, and pictures found damaged hidden in this worker and the others."""

from __future__ import annotations

import collections
import shutil
import sqlite3
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from ganpage.gallery import CHANGES_KEPT, Gallery, image_id, now_utc
from ganpage.web.catalog import HIDDEN_FILE, Catalog, HiddenFile, IdCodes, date_key, date_keys


@pytest.fixture
def gallery(tiny_gallery: Path, tmp_path: Path) -> Path:
    root = tmp_path / "gallery"
    shutil.copytree(tiny_gallery, root)
    return root


def shown(catalog: Catalog) -> dict[str, list[str]]:
    """slug -> the ids the catalog shows, in its order (categories in the site's order)."""
    return {shelf.slug: [r.id for r in catalog.records(shelf, 0, shelf.count)]
            for shelf in catalog.categories()}


def fresh(root: Path, statuses=("approved",)) -> dict[str, list[str]]:
    """What a catalog that reads the index afresh shows (the reference)."""
    with Gallery.open(root, shared=True) as opened:
        catalog = Catalog(opened, statuses).load()
        try:
            return shown(catalog)
        finally:
            catalog.close()


def add_copies(root: Path, count: int, category: str | None = None, status: str = "approved",
               created_at: str | None = None) -> list[str]:
    """``count`` index rows copied from the gallery's first picture under new seeds (no
    files: the catalog reads rows only); returns their ids."""
    with Gallery.open(root) as writer:
        first = writer.records()[0]
        top = writer.db.execute("SELECT MAX(seed) FROM images").fetchone()[0]
        rows = []
        for n in range(count):
            seed = top + 1 + n
            rows.append(replace(first, id=image_id(first.model_id, first.label, seed,
                                                   first.truncation), seed=seed, status=status,
                                category=category or first.category,
                                created_at=created_at or now_utc()).to_row())
        with writer.transaction() as db:
            db.executemany(f"INSERT INTO images ({', '.join(rows[0])}) VALUES "
                           f"({', '.join(':' + c for c in rows[0])})", rows)
    return [row["id"] for row in rows]


def test_a_change_to_the_index_is_seen_at_the_next_refresh(gallery):
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"]).load()
        victim = shown(catalog)[catalog.categories()[0].slug][0]
        with Gallery.open(gallery) as writer:
            writer.set_status("rejected", [victim])
        assert catalog.record(victim) is None  # a permalink reads the index: at once
        assert catalog.count() == 12  # the shelves it had, until the look
        catalog.refresh()
        assert victim not in sum(shown(catalog).values(), []) and catalog.count() == 11
        catalog.close()


def test_two_workers_apply_changes_one_by_one_and_agree_with_a_fresh_read(gallery,
                                                                        monkeypatch):
    """Decisions, new pictures (an old date among them), a new category, a picture moved and
    one deleted: both workers' catalogs apply them from the log alone and end as a catalog
    reading the whole index would."""
    with Gallery.open(gallery, shared=True) as one_index, \
            Gallery.open(gallery, shared=True) as two_index:
        workers = [Catalog(index, ["approved"]).load() for index in (one_index, two_index)]
        forgotten = [set(), set()]
        for worker, seen in zip(workers, forgotten, strict=True):
            worker.on_change = seen.update
        for worker in workers:
            monkeypatch.setattr(worker, "_reload", lambda *a: pytest.fail("read it all again"))
        slugs = list(shown(workers[0]))
        with Gallery.open(gallery) as writer:
            rejected = shown(workers[0])[slugs[0]][:2]
            writer.set_status("rejected", rejected)
        new = add_copies(gallery, 3, category=slugs[0],
                         created_at="2000-01-01T00:00:00+00:00")  # listed first
        new += add_copies(gallery, 2, category="brand-new")
        pending = add_copies(gallery, 2, category=slugs[0], status="pending")
        with Gallery.open(gallery) as writer:
            writer.set_status("approved", pending[:1])
            moved = shown(workers[0])[slugs[1]][0]
            writer.db.execute("UPDATE images SET category = ? WHERE id = ?", (slugs[2], moved))
            deleted = shown(workers[0])[slugs[2]][0]
            writer.db.execute("DELETE FROM images WHERE id = ?", (deleted,))
        for worker, seen in zip(workers, forgotten, strict=True):
            worker.refresh()
            assert shown(worker) == fresh(gallery)
            assert {*rejected, *new, moved, deleted} <= seen  # their cached pages go
        after = shown(workers[0])
        assert after["brand-new"] == sorted(new[3:])
        assert after[slugs[0]][:3] == sorted(new[:3])  # by date, then id
        assert pending[0] in after[slugs[0]] and pending[1] not in after[slugs[0]]
        assert moved in after[slugs[2]] and deleted not in after[slugs[2]]
        for worker in workers:
            worker.close()


def test_a_worker_behind_a_trimmed_change_log_reads_the_index_afresh(gallery):
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"]).load()
        victim = shown(catalog)[catalog.categories()[0].slug][0]
        with Gallery.open(gallery) as writer:
            writer.set_status("rejected", [victim])
            with writer.transaction() as db:  # more changes than the log keeps
                db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < ?) INSERT INTO changes (image_id, category) "
                           "SELECT 'nothing', 'nothing' FROM n", (CHANGES_KEPT + 1000,))
            assert writer.changes_since(0) is None
        forgotten = []
        catalog.on_change = forgotten.append
        catalog.refresh()
        assert catalog.refresh_error is None and forgotten == [None]  # every page is stale
        assert shown(catalog) == fresh(gallery) and victim not in shown(catalog)[
            catalog.categories()[0].slug]
        catalog.close()


def test_random_picks_are_uniform_categories_then_pictures_and_only_showable_ones(gallery):
    """A random category, then a random picture of it: with categories of 4, 4 and 34
    pictures, each category comes up a third of the time and each of its pictures equally;
    rejected, pending (unless shown) and hidden pictures never come up."""
    slug = fresh(gallery).popitem()[0]
    add_copies(gallery, 32, category=slug)
    add_copies(gallery, 5, category=slug, status="pending")
    with Gallery.open(gallery) as writer:
        rejected = writer.records(category=slug)[0].id
        writer.set_status("rejected", [rejected])
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"]).load()
        hidden = shown(catalog)[slug][0]
        catalog.hide(hidden)
        catalog._random.seed(31)
        draws = 30_000
        picks = collections.Counter(catalog.random_record().id for _ in range(draws))
        expected = shown(catalog)
        assert set(picks) == {i for ids in expected.values() for i in ids}
        assert rejected not in picks and hidden not in picks
        for ids in expected.values():
            share = sum(picks[i] for i in ids) / draws
            assert abs(share - 1 / 3) < 0.02, (share, len(ids))
            mean = draws / 3 / len(ids)
            chi_square = sum((picks[i] - mean) ** 2 / mean for i in ids)
            assert chi_square < len(ids) + 6 * len(ids) ** 0.5 + 10, (chi_square, len(ids))
        catalog.close()
        with_pending = Catalog(opened, ["approved", "pending"]).load()
        assert len({with_pending.random_id() for _ in range(3000)}) == 4 + 4 + 35 + 5
        with_pending.close()


def test_a_category_lists_its_pictures_by_date_then_id_however_they_are_spelt(gallery):
    """As ``ORDER BY created_at, id``, also for an id or a date that is not ganpage's (such a
    category is read a row at a time)."""
    slug = next(iter(fresh(gallery)))
    add_copies(gallery, 3, category=slug, created_at="2001-01-01T00:00:00Z")
    with Gallery.open(gallery) as writer:
        writer.db.execute("UPDATE images SET id = 'made-elsewhere' WHERE id = ?",
                          (writer.records(category=slug)[-1].id,))
        in_order = [row[0] for row in writer.db.execute(
            "SELECT id FROM images WHERE category = ? AND status = 'approved' "
            "ORDER BY created_at, id", (slug,))]
    assert fresh(gallery)[slug] == in_order and "made-elsewhere" in in_order


def test_pictures_waiting_are_counted_again_only_after_a_change(gallery):
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"]).load()
        assert catalog.pending_count() == 0
        add_copies(gallery, 3, status="pending")
        assert catalog.pending_count() == 0  # the count it made, until the next look
        catalog.refresh()
        assert catalog.pending_count() == 3
        assert Catalog(opened, ["approved", "pending"]).pending_count() == 0  # shown ones
        catalog.close()


def test_the_catalog_holds_a_few_bytes_per_picture_not_its_record(gallery):
    """Memory that grows with the gallery is the codes' 16 bytes per picture (a record in
    memory was ~2 KB): measured as what a loaded catalog of 20,000 more pictures holds."""
    def held_after_load() -> tuple[int, int]:
        with Gallery.open(gallery, shared=True) as opened:
            tracemalloc.start()
            catalog = Catalog(opened, ["approved"]).load()
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            count = catalog.count()
            catalog.close()
        return held, count

    small, small_count = held_after_load()
    add_copies(gallery, 20_000)
    large, large_count = held_after_load()
    per_picture = (large - small) / (large_count - small_count)
    assert large_count - small_count == 20_000 and per_picture < 48, per_picture


def test_an_unreadable_change_log_keeps_what_was_shown(gallery, monkeypatch):
    with Gallery.open(gallery, shared=True) as opened:
        catalog = Catalog(opened, ["approved"]).load()
        before = shown(catalog)
        add_copies(gallery, 1)

        def locked(seq: int):
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(catalog.watcher, "changes_since", locked)
        catalog.refresh()
        assert "database is locked" in catalog.refresh_error and shown(catalog) == before
        monkeypatch.undo()
        catalog._data_version = None  # the next look finds the change it could not read
        catalog.refresh()
        assert catalog.refresh_error is None and shown(catalog) == fresh(gallery)
        catalog.close()


def test_a_picture_one_worker_hides_is_hidden_in_the_others_after_their_refresh(
        gallery, tmp_path):
    shared = tmp_path / HIDDEN_FILE
    with Gallery.open(gallery, shared=True) as one_index, \
            Gallery.open(gallery, shared=True) as two_index:
        one, two = (Catalog(index, ["approved"], hidden_file=shared).load()
                    for index in (one_index, two_index))
        victim = next(iter(shown(one).values()))[0]
        held = two.categories()  # what a request of the other worker is reading meanwhile
        one.hide(victim)
        assert one.record(victim) is None and two.record(victim) is not None
        two.refresh()  # on its refresh thread: new shelves, the ones held left as they were
        assert two.record(victim) is None
        assert victim not in sum(shown(two).values(), [])
        assert sum(shelf.count for shelf in held) == 12
        with Gallery.open(gallery) as writer:  # a change to the picture keeps it hidden
            writer.set_status("approved", [victim])
            writer.set_status("pending", [next(iter(shown(two).values()))[1]])
        two.refresh()
        assert victim not in sum(shown(two).values(), []) and two.count() == 10
        one.close()
        two.close()


@pytest.mark.parametrize("ids", [["0123456789ab", "ffffffffffff", "000000000000"],
                                 ["0123456789ab", "not-hex-id-1", "0123456789AB", "0x12345678ab",
                                  "1_2345678abc", "0123456789abc"]])
def test_ids_become_codes_and_back_one_by_one_or_all_at_once(ids):
    codes = IdCodes()
    one_by_one = [codes.code(i) for i in ids]
    assert [codes.image_id(code) for code in one_by_one] == ids
    hex_ids = [i for i in ids if len(i) == 12 and set(i) <= set("0123456789abcdef")]
    together = codes.codes_of_text("".join(ids), len(ids))
    if hex_ids == ids:
        assert [int(code) for code in together] == one_by_one
    else:
        assert together is None  # the caller reads those ids one by one
    assert sorted(hex_ids) == [codes.image_id(c) for c in sorted(codes.code(i) for i in hex_ids)]


def test_dates_become_numbers_that_sort_as_their_text():
    dates = ["2026-12-06T16:59:08+00:00", "2026-12-06T16:59:09+00:00", "1999-01-31T23:00:00+00:00",
             "2026-12-06T16:59:08+00:00"]
    keys = date_keys("".join(dates), len(dates))
    assert [int(k) for k in keys] == [date_key(d) for d in dates]
    assert sorted(range(4), key=lambda i: dates[i]) == sorted(range(4), key=lambda i: keys[i])
    assert date_key("not a date at all") == 0 and date_key("") == 0
    assert date_keys("".join(dates)[:-1], 4) is None  # not all of one length: one by one


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
