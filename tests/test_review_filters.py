"""The review's filters and views (web/review/filters.py): a page read from the index's
listings holds the same pictures in the same order as the page the review built in Python from
every record before (``python_view`` below, kept as the reference), for many filters and pages
of a varied gallery; and a view reads no more than the pictures it shows."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ganpage.gallery import STATUSES, Gallery, ImageRecord, numeric_scores
from ganpage.listings import Selection
from ganpage.web.review import filters
from ganpage.web.review.decisions import ReviewDesk
from ganpage.web.review.filters import NO_FLAG, Census, ReviewFilter, ReviewView

# (slug, name): two slugs whose names differ only in case, and one slug under two names
CATEGORIES = [("bagel", "Bagel"), ("bagel-2", "bagel"), ("cherry", "Cherry"),
              ("cherry", "cherries"), ("zebra", "Zebra"), ("aardvark", "aardvark"),
              ("eel", "Électric eel")]
FLAGS = ["duplicate", "blank", "unsure", "none"]  # "none" is a flag name too
SCORE_NAMES = ["class_probability", "quality.sharpness", "quality", "odd", "a.b.c", "missing"]


def python_view(records: list[ImageRecord], chosen: ReviewFilter) -> dict:
    """The review page as it was built before the index's listings: every record in Python."""
    def keeps(record: ImageRecord) -> bool:
        if chosen.category and record.category != chosen.category:
            return False
        if chosen.status and record.status != chosen.status:
            return False
        if chosen.flag and (record.flags if chosen.flag == NO_FLAG
                            else chosen.flag not in record.flags):
            return False
        if chosen.score:
            value = numeric_scores(record).get(chosen.score)
            if value is None or (chosen.min is not None and value < chosen.min):
                return False
            if chosen.max is not None and value > chosen.max:
                return False
        return True

    kept = [r for r in records if keeps(r)]
    if chosen.score:
        kept.sort(key=lambda r: numeric_scores(r)[chosen.score])
    kept.sort(key=lambda r: r.category_name.lower())
    per_category: dict[str, int] = {}
    for record in kept:
        per_category[record.category] = per_category.get(record.category, 0) + 1
    start = (chosen.page - 1) * filters.PER_PAGE
    groups: dict[str, tuple] = {}
    for record in kept[start:start + filters.PER_PAGE]:
        group = groups.setdefault(record.category, (
            record.category, record.category_name, per_category[record.category], []))
        group[3].append(record.id)
    names = {r.category: r.category_name for r in records}
    return {"groups": list(groups.values()), "total": len(kept),
            "more": len(kept) > start + filters.PER_PAGE,
            "counts": {s: sum(r.status == s for r in records) for s in STATUSES},
            "categories": sorted(names.items(), key=lambda item: item[1].lower()),
            "flags": sorted({f for r in records for f in r.flags}),
            "score_names": sorted({s for r in records for s in numeric_scores(r)})}


def as_dict(view: ReviewView) -> dict:
    return {"groups": [(slug, name, n, [r.id for r in shown])
                       for slug, name, n, shown in view.groups],
            "total": view.total, "more": view.more, "counts": view.counts,
            "categories": view.categories, "flags": view.flags,
            "score_names": view.score_names}


def random_scores(draw: random.Random) -> dict:
    """Scores as curation and other tools leave them: numbers, nested numbers, ties, missing
    ones, and values that are no number (a hash, a boolean)."""
    scores: dict = {"dhash": f"{draw.getrandbits(64):016x}"}
    if draw.random() < 0.8:
        scores["class_probability"] = draw.choice([round(draw.random(), 2), 0.5, 1, 0])
    quality = {k: round(draw.random(), 1) for k in ("sharpness", "ink") if draw.random() < 0.7}
    if draw.random() < 0.2:
        quality["sharpness"] = draw.choice([True, "sharp", None])
    if quality or draw.random() < 0.5:
        scores["quality"] = quality
    if draw.random() < 0.3:
        scores["odd"] = {"": draw.randint(-3, 3)}  # read as "odd"
    if draw.random() < 0.2:
        scores["quality.sharpness"] = round(draw.random(), 2)  # wins over quality's sharpness
    if draw.random() < 0.3:
        scores[draw.choice(["a", "a.b"])] = ({"c": draw.random()} if draw.random() < 0.5
                                             else {"b.c": draw.random()})
    return scores


def varied_records(count: int, seed: int = 31) -> list[ImageRecord]:
    draw = random.Random(seed)
    records = []
    for number in range(count):
        slug, name = draw.choice(CATEGORIES)
        status = draw.choice(STATUSES)
        records.append(ImageRecord(
            id=f"{number:012x}", category=slug, category_name=name, label=0, model_id="m",
            seed=number, truncation=0.7, width=8, height=8, format="webp", sha256="0" * 64,
            created_at=f"2024-01-{draw.randint(1, 3):02d}T00:00:00+00:00",  # many ties
            status=status, decided_by="" if status == "pending" else "review",
            scores=random_scores(draw),
            flags=sorted(draw.sample(FLAGS, draw.choice([0, 0, 0, 1, 1, 2])))))
    draw.shuffle(records)  # rowid order is not the listing's order
    return records


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ImageRecord]]:
    root = tmp_path_factory.mktemp("varied") / "gallery"
    records = varied_records(700)
    with Gallery.open(root, create=True) as gallery:
        gallery.add((record, b"picture " + record.id.encode()) for record in records)
        return root, gallery.records()


def random_filters(draw: random.Random, count: int) -> list[ReviewFilter]:
    chosen = []
    for _ in range(count):
        score = draw.choice(["", "", *SCORE_NAMES])
        low, high = sorted(round(draw.uniform(-0.2, 1.2), 2) for _ in range(2))
        chosen.append(ReviewFilter(
            category=draw.choice(["", "", "", "bagel", "cherry", "eel", "nothing-here"]),
            status=draw.choice(["", "", *STATUSES]),
            flag=draw.choice(["", "", NO_FLAG, "duplicate", "blank", "unknown"]),
            score=score, min=draw.choice([None, low]), max=draw.choice([None, high]),
            page=draw.choice([1, 1, 2, 3, 5, 9])))
    return chosen


@pytest.mark.parametrize("per_page", [7, 120])
def test_views_from_the_index_match_the_python_views_for_many_filters_and_pages(
        varied, monkeypatch, per_page):
    root, records = varied
    monkeypatch.setattr(filters, "PER_PAGE", per_page)
    wanted = [ReviewFilter(), ReviewFilter(flag=NO_FLAG), ReviewFilter(score="odd"),
              ReviewFilter(score="a.b.c"), ReviewFilter(score="quality.sharpness", max=0.5),
              *random_filters(random.Random(per_page), 150)]
    with Gallery.open(root) as gallery:
        census = Census.of(gallery)
        for chosen in wanted:
            pages = [chosen] if chosen.page > 1 else [
                ReviewFilter(**{**chosen.__dict__, "page": p}) for p in range(1, 8)]
            for each in pages:
                assert as_dict(ReviewView.of(gallery, each, census)) == python_view(
                    records, each), each
    assert sum(python_view(records, f)["total"] > per_page for f in wanted) > 20  # pages tested


@pytest.mark.parametrize("seed", [1, 4])  # galleries where two slugs' names tie but for case
def test_views_match_in_other_varied_galleries_too(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(filters, "PER_PAGE", 11)
    with Gallery.open(tmp_path / "gallery", create=True) as gallery:
        gallery.add((record, record.id.encode()) for record in varied_records(300, seed))
        records, census = gallery.records(), Census.of(gallery)
        for chosen in random_filters(random.Random(seed), 60):
            assert as_dict(ReviewView.of(gallery, chosen, census)) == python_view(
                records, chosen), chosen


def test_a_view_after_own_decisions_or_another_writer_counts_afresh(varied, tmp_path,
                                                                    monkeypatch):
    root, _ = varied
    copy = tmp_path / "gallery"
    with Gallery.open(root) as source, Gallery.open(copy, create=True) as target:
        target.merge_from(source)
    walks: list[int] = []
    counted = Gallery.count_by_category_status_and_flags
    monkeypatch.setattr(Gallery, "count_by_category_status_and_flags",
                        lambda self: walks.append(1) or counted(self))
    desk = ReviewDesk(copy)
    wanted = [ReviewFilter(), ReviewFilter(status="rejected", flag=NO_FLAG),
              ReviewFilter(status="pending", page=2), ReviewFilter(flag="blank")]
    try:
        before = desk.view(ReviewFilter(status="rejected")).total
        pending = [r.id for r in desk.view(ReviewFilter(status="pending")).groups[0][3][:3]]
        desk.decide(pending, "rejected")  # this connection's own changes: counted at once
        desk.undo(pending[:1])
        desk.decide(pending[1:2], "approved")
        assert desk.view(ReviewFilter(status="rejected")).total == before + 1
        assert len(walks) == 1  # the whole gallery was counted once, before the decisions
        with Gallery.open(copy) as fresh:
            for chosen in wanted:
                assert as_dict(desk.view(chosen)) == as_dict(
                    ReviewView.of(fresh, chosen, Census.of(fresh))), chosen
        with Gallery.open(copy) as other:  # another writer's changes
            other.set_status("approved", [pending[2]])
            other.save_scores([(pending[2], {"fresh": 1.0}, ["brand-new"])])
        after = desk.view(ReviewFilter(status="rejected"))
        assert after.total == before and "brand-new" in after.flags
        assert "fresh" in after.score_names
    finally:
        desk.close()


def test_a_view_reads_only_the_pictures_it_shows(varied, monkeypatch):
    root, _ = varied
    monkeypatch.setattr(filters, "PER_PAGE", 5)
    read: list[int] = []
    original = ImageRecord.from_row
    monkeypatch.setattr(ImageRecord, "from_row",
                        classmethod(lambda cls, row: read.append(1) or original(row)))
    with Gallery.open(root) as gallery:
        census = Census.of(gallery)
        read.clear()
        view = ReviewView.of(gallery, ReviewFilter(score="class_probability", page=3), census)
    assert sum(len(shown) for *_, shown in view.groups) == 5 and len(read) == 5


def test_the_pages_of_one_score_filter_count_its_pictures_once(varied, monkeypatch):
    root, records = varied
    monkeypatch.setattr(filters, "PER_PAGE", 9)
    counted: list[Selection] = []
    original = Gallery.selected_counts
    monkeypatch.setattr(Gallery, "selected_counts",
                        lambda self, chosen: counted.append(chosen) or original(self, chosen))
    with Gallery.open(root) as gallery:
        census = Census.of(gallery)
        for page in (1, 2, 3, 1):
            for chosen in (ReviewFilter(score="class_probability", min=0.2, page=page),
                           ReviewFilter(status="pending", page=page)):
                assert as_dict(ReviewView.of(gallery, chosen, census)) == python_view(
                    records, chosen)
    assert counted == [ReviewFilter(score="class_probability", min=0.2).selection()]


def test_in_a_big_gallery_the_form_says_its_score_names_are_a_sample(varied, monkeypatch):
    from fastapi.testclient import TestClient

    from ganpage.web.app import SiteConfig, create_app

    root, records = varied
    token = "review-filters-token-0123456789-abcdef"
    bearer = {"Authorization": f"Bearer {token}"}
    monkeypatch.setattr(filters, "SCORE_SAMPLE", 2)  # 4 of the 700 pictures
    with Gallery.open(root) as gallery:
        sampled = Census.of(gallery).score_names
    unsampled = next(name for name in python_view(records, ReviewFilter())["score_names"]
                     if name not in sampled)
    pages = []
    for sample in (1000, 2):
        monkeypatch.setattr(filters, "SCORE_SAMPLE", sample)
        app = create_app(root, SiteConfig(review_token=token, refresh_seconds=0))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            pages.append(client.get(f"/review?score={unsampled}", headers=bearer).text)
        app.close()
    assert "score names of the" not in pages[0] and "score names of the" in pages[1]
    for page in pages:  # the filter stays chosen
        assert page.count(f"<option selected>{unsampled}</option>") == 1
