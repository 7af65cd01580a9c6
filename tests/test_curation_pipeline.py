"""A whole curation run on a hand-made gallery: copies of training pictures, duplicates and a
blank picture are flagged and rejected, the rest approved; re-runs change nothing, people's
decisions stay, a dry run writes nothing, and `ganpage curate` says all that in a few lines."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from ganpage.classifiers.trained import train_classifier
from ganpage.curation import duplicates, scoring
from ganpage.curation.duplicates import GROUP_KEY, duplicate_groups
from ganpage.curation.memorisation import training_reference
from ganpage.curation.pipeline import curate_gallery
from ganpage.curation.rules import Rules
from ganpage.curation.scoring import Scorers
from ganpage.data.dataset import load_training_set
from ganpage.gallery import GALLERY_RELATIVE_SCORES, INDEX_FILE, Gallery
from helpers.curation import (
    ColourClassifier,
    make_gallery,
    shapes,
    shifted,
    training_data,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return training_data(tmp_path_factory.mktemp("shapes") / "data")


@pytest.fixture(scope="module")
def reference(data):
    return training_reference(data)


@pytest.fixture
def hand_made(tmp_path, data):
    """Eight pictures: an exact and a 2-px shifted copy of training pictures, two identical
    new ones, a blank one and three distinct new ones."""
    real = load_training_set(data).images.transpose(0, 2, 3, 1)
    twin = shapes(5000, 1)
    ids = make_gallery(tmp_path / "gallery", [
        ("Red", real[0]), ("Green", shifted(real[12], 2)), ("Green", twin), ("Green", twin),
        ("Blue", np.full_like(twin, 255)), ("Red", shapes(5001, 0)), ("Blue", shapes(5002, 2)),
        ("Blue", shapes(5003, 2))])
    names = ["copy", "shifted", "twin-a", "twin-b", "blank", "red", "blue-a", "blue-b"]
    return tmp_path / "gallery", dict(zip(names, ids.values(), strict=True))


def run(root, reference, rules=None, dry_run=False, reuse_stamp=True):
    with Gallery.open(root) as gallery:
        return curate_gallery(gallery, Scorers.build(ColourClassifier(), reference),
                              rules or Rules(), dry_run=dry_run, batch_size=3,
                              show_progress=False, reuse_stamp=reuse_stamp)


def state(root) -> dict[str, tuple]:
    with Gallery.open(root) as gallery:
        return {r.id: (r.status, r.decided_by, r.flags, r.scores) for r in gallery.records()}


def test_copies_duplicates_and_blanks_are_flagged_and_rejected_the_rest_approved(
        hand_made, reference):
    root, ids = hand_made
    result = run(root, reference)
    assert result.scoring.scored == 8
    records = state(root)
    flags = {name: records[i][2] for name, i in ids.items()}
    assert "memorised" in flags["copy"] and "memorised" in flags["shifted"]
    assert "duplicate" in flags["twin-a"] and "duplicate" in flags["twin-b"]
    assert "blank" in flags["blank"]
    for name in ("red", "blue-a", "blue-b"):
        assert flags[name] == [], name
    status = {name: records[i][:2] for name, i in ids.items()}
    assert status["copy"] == status["shifted"] == ("rejected", "rule:memorised")
    assert status["blank"] == ("rejected", "rule:blank")
    twins = sorted([status["twin-a"], status["twin-b"]])
    assert twins == [("approved", "rule:passed"), ("rejected", "rule:duplicate")]
    for name in ("red", "blue-a", "blue-b"):
        assert status[name] == ("approved", "rule:passed")


def test_a_second_run_scores_nothing_and_changes_nothing(hand_made, reference):
    root, _ = hand_made
    run(root, reference)
    before = state(root)
    again = run(root, reference)
    assert again.scoring.scored == 0 and again.changes == [] and again.changed == 0
    assert state(root) == before


def test_groups_are_stored_equal_brute_force_and_a_re_run_compares_nothing(
        hand_made, reference, monkeypatch):
    root, ids = hand_made
    first = run(root, reference)
    with Gallery.open(root) as gallery:
        records = [r for r in gallery.records() if "dhash" in r.scores]
    brute = [[records[i].id for i in group]
             for group in duplicate_groups([r.scores["dhash"] for r in records])]
    assert first.groups == brute and [ids["twin-a"], ids["twin-b"]] in brute
    stored = {r.id: r.scores[GROUP_KEY] for r in records}
    assert stored[ids["twin-a"]] == stored[ids["twin-b"]] != stored[ids["red"]]

    def no_index(*args, **kwargs):
        raise AssertionError("a re-run with nothing new built an index")

    monkeypatch.setattr(duplicates, "DuplicateIndex", no_index)
    assert run(root, reference, reuse_stamp=False).groups == brute


def test_a_re_run_with_nothing_new_reads_no_picture_and_reports_what_the_last_found(
        hand_made, reference, monkeypatch):
    root, _ = hand_made
    first = run(root, reference)
    assert not first.unchanged and first.findings.groups == 1

    def no_reading(*args, **kwargs):
        raise AssertionError("a re-run with nothing new read the pictures' rows")

    monkeypatch.setattr(Gallery, "records", no_reading)
    again = run(root, reference)
    assert again.unchanged and again.findings == first.findings
    assert again.findings.flags == {"blank": 1, "duplicate": 2, "memorised": 2}
    assert again.changes == [] and again.changed == 0 and again.scoring.scored == 0


@pytest.mark.parametrize("change", ["a person decides", "a picture is added", "other rules",
                                    "no training set"])
def test_any_change_since_the_last_run_makes_the_next_read_everything(
        hand_made, reference, tmp_path, change):
    root, ids = hand_made
    run(root, reference)
    rules, scorers_reference = None, reference
    kept, dropped = sorted(("twin-a", "twin-b"), key=lambda n: state(root)[ids[n]][0])
    with Gallery.open(root) as gallery:
        if change == "a person decides":  # approves the twin the rules dropped
            gallery.set_status("approved", [ids[dropped]], decided_by="review")
        elif change == "a picture is added":
            twin = gallery.get(ids["twin-a"])
            gallery.add([(replace(twin, id="pic9000", seed=9000, scores={}, flags=[],
                                  status="pending", decided_by="", decided_at=""),
                          gallery.path_of(twin).read_bytes())])
    if change == "other rules":
        rules = Rules(top_k=1)
    if change == "no training set":
        scorers_reference = None
    again = run(root, reference=scorers_reference, rules=rules)
    assert not again.unchanged and again.records
    if change == "a person decides":  # and it is weighed: the other twin goes
        assert state(root)[ids[kept]][:2] == ("rejected", "rule:duplicate")
    if change == "a picture is added":
        assert again.scoring.scored == 1 and "pic9000" in again.verdict
    assert run(root, reference=scorers_reference, rules=rules).unchanged  # stamped again


def test_a_write_by_someone_else_during_a_run_leaves_no_stamp(hand_made, reference,
                                                              monkeypatch):
    root, ids = hand_made
    from ganpage.curation import pipeline

    real_apply = pipeline.apply

    def apply_while_a_person_decides(gallery, found):
        with Gallery.open(root) as other:  # another process: the review page
            other.set_status("rejected", [ids["blue-a"]], decided_by="review")
        return real_apply(gallery, found)

    monkeypatch.setattr(pipeline, "apply", apply_while_a_person_decides)
    run(root, reference)
    monkeypatch.setattr(pipeline, "apply", real_apply)
    with Gallery.open(root) as gallery:
        assert gallery.curation_stamp() is None
    assert not run(root, reference).unchanged
    assert run(root, reference).unchanged


def test_a_dry_run_or_a_picture_left_unscored_leaves_no_stamp(hand_made, reference):
    root, ids = hand_made
    run(root, reference, dry_run=True)
    with Gallery.open(root) as gallery:
        assert gallery.curation_stamp() is None
    missing = root / "red" / f"{ids['red']}.png"
    kept = missing.read_bytes()
    missing.unlink()
    run(root, reference)
    with Gallery.open(root) as gallery:
        assert gallery.curation_stamp() is None
    missing.write_bytes(kept)  # put back: the index never moved, yet the next run reads it
    again = run(root, reference)
    assert not again.unchanged and again.scoring.scored == 1
    assert state(root)[ids["red"]][:2] == ("approved", "rule:passed")


def test_a_merged_picture_is_compared_with_its_new_neighbours(hand_made, reference, tmp_path):
    root, ids = hand_made
    run(root, reference)
    other = tmp_path / "other"  # a third twin, curated alone in its own gallery first
    with Gallery.open(root) as gallery:
        twin = gallery.get(ids["twin-a"])
        twin_file = gallery.path_of(twin).read_bytes()
    with Gallery.open(other, create=True) as gallery:
        gallery.add([(replace(twin, id="pic9000", seed=9000, scores={}, flags=[],
                              status="pending", decided_by="", decided_at=""), twin_file)])
    run(other, reference)
    with Gallery.open(other) as gallery:
        assert GROUP_KEY in gallery.get("pic9000").scores
    assert GROUP_KEY in GALLERY_RELATIVE_SCORES
    with Gallery.open(root) as gallery, Gallery.open(other) as incoming:
        assert gallery.merge_from(incoming) == 1
        assert GROUP_KEY not in gallery.get("pic9000").scores
    again = run(root, reference)
    assert [ids["twin-a"], ids["twin-b"], "pic9000"] in again.groups


def test_a_decision_made_by_hand_survives_re_runs(hand_made, reference):
    root, ids = hand_made
    run(root, reference)
    with Gallery.open(root) as gallery:
        gallery.set_status("approved", [ids["copy"]], decided_by="manual")
        gallery.set_status("rejected", [ids["red"]], decided_by="review")
    for _ in range(2):
        run(root, reference, Rules(top_k=1))
    records = state(root)
    assert records[ids["copy"]][:2] == ("approved", "manual")
    assert records[ids["red"]][:2] == ("rejected", "review")
    # the hand-approved red copy took the one red place, so no rule approved another red
    approved_red = [i for i, r in records.items() if r[0] == "approved" and i in
                    (ids["copy"], ids["red"])]
    assert approved_red == [ids["copy"]]


def test_a_person_approving_one_twin_makes_it_the_one_kept(hand_made, reference):
    root, ids = hand_made
    with Gallery.open(root) as gallery:
        gallery.set_status("approved", [ids["twin-b"]], decided_by="review")
    run(root, reference)
    records = state(root)
    assert records[ids["twin-b"]][:2] == ("approved", "review")
    assert records[ids["twin-a"]][:2] == ("rejected", "rule:duplicate")


def test_a_dry_run_changes_nothing_but_says_what_would(hand_made, reference):
    root, ids = hand_made
    index = root / INDEX_FILE
    dump = "\n".join(sqlite3.connect(index).iterdump())
    result = run(root, reference, dry_run=True)
    assert "\n".join(sqlite3.connect(index).iterdump()) == dump
    would = {c.image_id: (c.status, c.rule) for c in result.changes}
    assert would[ids["blank"]] == ("rejected", "blank")
    assert would[ids["copy"]] == ("rejected", "memorised")
    assert len(would) == 8 and result.changed == 0


def test_without_the_training_set_memorisation_is_not_judged_and_old_flags_stay(
        hand_made, reference):
    root, ids = hand_made
    run(root, reference)
    with Gallery.open(root) as gallery:
        again = curate_gallery(gallery, Scorers.build(ColourClassifier(), None), Rules(),
                               show_progress=False)
    assert again.scoring.scored == 0
    assert "memorised" in state(root)[ids["copy"]][2]


@pytest.fixture(scope="module")
def classifier_folder(data, tmp_path_factory):
    """A ganpage classifier of the shapes' 3 classes (one epoch: its scores are not judged)."""
    out = tmp_path_factory.mktemp("classifier") / "cls"
    train_classifier(data, out, epochs=1, batch_size=8, channels=4, show_progress=False)
    return out


def curate_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganpage", "curate", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_command_scores_with_a_classifier_folder_and_prints_what_a_dry_run_would_do(
        hand_made, data, classifier_folder, tmp_path):
    root, ids = hand_made
    rules = tmp_path / "rules.toml"
    rules.write_text("top_k = 2\nreject = ['blank', 'memorised', 'duplicate', 'framed']\n")
    done = curate_command(str(root), "--classifier", str(classifier_folder), "--training-data",
                          str(data), "--rules", str(rules), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "class agreement: data-cls" in done.stdout
    assert f"memorisation: against {data}" in done.stdout
    assert f"would set {ids['blank']} blue: pending -> rejected (rule:blank)" in done.stdout
    assert "scored 8 pictures; 1 near-duplicate groups" in done.stdout
    assert state(root)[ids["blank"]][0] == "pending"


@pytest.mark.slow
def test_the_command_says_when_nothing_is_new_and_a_report_still_shows_every_picture(
        hand_made, data, classifier_folder, tmp_path):
    root, _ = hand_made
    given = (str(root), "--classifier", str(classifier_folder), "--training-data", str(data))
    first = curate_command(*given)
    assert first.returncode == 0 and "scored 8 pictures" in first.stdout, first.stderr
    again = curate_command(*given)
    assert again.returncode == 0, again.stderr
    assert "nothing new since the last curate run" in again.stdout
    assert "1 near-duplicate groups" in again.stdout and "changed: nothing" in again.stdout
    flags = next(line for line in first.stdout.splitlines() if line.startswith("flags:"))
    assert flags in again.stdout.splitlines()
    report = tmp_path / "report.html"
    with_report = curate_command(*given, "--report", str(report))
    assert "scored 0 pictures; 1 near-duplicate groups" in with_report.stdout
    assert report.read_text().count("<img") >= 8


@pytest.mark.slow
@pytest.mark.parametrize(("arguments", "message"), [
    (["--top-k", "1"], "--top-k and --min-category-median need a classifier"),
    (["--rules", "{rules}"], "top_k = 'many' has the wrong type"),
    (["--rules", "{rules}x"], "cannot read --rules"),
    (["--classifier", "{rules}x"], "no classifier"),
])
def test_the_command_refuses_mistakes_in_one_line_before_scoring(hand_made, tmp_path,
                                                                 arguments, message):
    root, _ = hand_made
    rules = tmp_path / "rules.toml"
    rules.write_text("top_k = 'many'\n")
    done = curate_command(str(root), *[a.format(rules=rules) for a in arguments])
    assert done.returncode == 2
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr and "scoring" not in done.stderr
    assert all(scores == {} for *_, scores in state(root).values())


def test_a_run_stopped_midway_resumes_with_the_pictures_not_scored_yet(hand_made, reference,
                                                                        monkeypatch):
    root, _ = hand_made
    real_score_batch = scoring._score_batch
    calls = []

    def stop_at_the_second_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_score_batch(*args)

    monkeypatch.setattr(scoring, "_score_batch", stop_at_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run(root, reference)  # batches of 3
    assert sum(bool(s) for *_, s in state(root).values()) == 3
    monkeypatch.setattr(scoring, "_score_batch", real_score_batch)
    assert run(root, reference).scoring.scored == 5


def test_a_picture_whose_file_is_missing_is_counted_and_left_undecided(hand_made, reference):
    root, ids = hand_made
    (root / "red" / f"{ids['red']}.png").unlink()
    result = run(root, reference, Rules(top_k=3))
    assert result.scoring.skipped == {"missing file": 1} and result.scoring.scored == 7
    assert state(root)[ids["red"]][:2] == ("pending", "")
    assert ids["red"] not in result.verdict
