"""Listings (listings.py): which pictures a selection keeps, and a score read in SQL as
``numbers_of`` reads it in Python, whichever of its spellings a picture has."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ganpage.listings import Selection, numbers_of, score_sql


@pytest.mark.parametrize("scores", [
    {"q": 0.5}, {"q": {"": 2}}, {"q": True}, {"q": "high"}, {"q": None}, {},
    {"a": {"b": 0.25}}, {"a": {"b": True}}, {"a": {"b": 1}, "a.b": 0.75},
    {"a": {"b.c": 0.1}, "a.b": {"c": 0.2}}, {"a": {"b.c": 0.1}}, {"a.b.c": 3, "a": {"b.c": 4}},
])
def test_a_score_reads_in_sql_as_in_python(scores):
    db = sqlite3.connect(":memory:")
    text = json.dumps(scores, sort_keys=True)  # as the index stores them
    for name in ("q", "a.b", "a.b.c"):
        expression, params = score_sql(name)
        found = db.execute(f"SELECT {expression} FROM (SELECT ? AS scores)",
                           [*params, text]).fetchone()[0]
        assert found == numbers_of(json.loads(text)).get(name), (name, scores)


def test_a_selection_keeps_flags_as_the_review_filter_does():
    assert Selection().keeps_flags(["blank"]) and Selection().keeps_flags([])
    assert Selection(unflagged=True).keeps_flags([])
    assert not Selection(unflagged=True).keeps_flags(["none"])
    assert Selection(flag="none").keeps_flags(["none"])  # a flag named "none" is a flag
    assert not Selection(flag="blank").keeps_flags(["duplicate"])
