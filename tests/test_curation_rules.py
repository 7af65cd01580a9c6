"""Curation rules (curation/rules.py): each rule alone and together keep exactly the expected
pictures; people's decisions are never changed; TOML rules are checked."""

import pytest

from ganpage.curation.rules import Rules, changes, decide, read_rules
from ganpage.errors import GanpageError
from ganpage.gallery import ImageRecord


def picture(name: str, category: str, probability: float | None, flags=(), status="pending",
            decided_by="") -> ImageRecord:
    scores = {} if probability is None else {"class_probability": probability}
    return ImageRecord(id=name, category=category, category_name=category, label=0,
                       model_id="m", seed=0, truncation=0.7, width=8, height=8, format="png",
                       sha256="", scores=scores, flags=list(flags), status=status,
                       decided_by=decided_by)


def gallery():
    return [picture("a1", "apple", 0.9), picture("a2", "apple", 0.8),
            picture("a3", "apple", 0.7, ["duplicate"]), picture("a4", "apple", 0.6, ["blank"]),
            picture("a5", "apple", 0.1),
            picture("b1", "bagel", 0.2), picture("b2", "bagel", 0.15),
            picture("b3", "bagel", 0.9, ["memorised"]),
            picture("c1", "cat", 0.5, ["duplicate"]), picture("c2", "cat", 0.4, ["framed"])]


GROUPS = [["a3", "c1"]]


def kept(verdict) -> set[str]:
    return {i for i, (status, _) in verdict.items() if status == "approved"}


def test_by_default_blank_memorised_and_all_but_the_best_duplicate_are_rejected():
    verdict = decide(gallery(), GROUPS, Rules())
    assert kept(verdict) == {"a1", "a2", "a3", "a5", "b1", "b2", "c2"}
    assert verdict["a4"] == ("rejected", "blank")
    assert verdict["b3"] == ("rejected", "memorised")
    assert verdict["c1"] == ("rejected", "duplicate")  # a3 has the higher class probability
    assert verdict["a1"] == ("approved", "passed")


def test_rules_together_keep_exactly_the_expected_set():
    rules = Rules(min_class_score=0.3, top_k=2, min_category_median=0.25,
                  reject=("duplicate", "memorised", "blank", "framed"))
    verdict = decide(gallery(), GROUPS, rules)
    assert kept(verdict) == {"a1", "a2", "c1"}  # c1 is kept: its twin a3 lost its place
    assert verdict["b1"] == verdict["b2"] == ("rejected", "category-median")
    assert verdict["a5"] == ("rejected", "min-class-score")
    assert verdict["a3"] == ("rejected", "top-k")
    assert verdict["c2"] == ("rejected", "framed")


def test_people_decisions_take_places_first_and_are_never_changed():
    records = gallery()
    records[4] = picture("a5", "apple", 0.1, status="approved", decided_by="manual")
    records[0] = picture("a1", "apple", 0.9, status="rejected", decided_by="review")
    verdict = decide(records, GROUPS, Rules(top_k=2))
    assert kept(verdict) & {"a1", "a2", "a3", "a5"} == {"a5", "a2"}
    assert verdict["a1"] == ("rejected", "review") and verdict["a3"] == ("rejected", "top-k")
    assert {c.image_id for c in changes(records, verdict)}.isdisjoint({"a1", "a5"})


def test_what_already_stands_is_no_change():
    records = gallery()
    verdict = decide(records, GROUPS, Rules())
    for record in records:
        status, rule = verdict[record.id]
        record.status, record.decided_by = status, f"rule:{rule}"
    assert changes(records, verdict) == []


def test_class_score_rules_without_scores_are_refused():
    with pytest.raises(GanpageError, match="need a classifier's scores"):
        decide([picture("x", "apple", None)], [], Rules(top_k=1))


def test_toml_rules_are_read_and_checked(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("min_class_score = 0.2\ntop_k = 5\nreject = ['blank']\n")
    assert read_rules(path) == Rules(min_class_score=0.2, top_k=5, reject=("blank",))
    assert read_rules(path).overridden(top_k=3, min_class_score=None).top_k == 3
    for text, message in [("top_k = 0\n", "at least 1"), ("min_class_score = 2\n", "between"),
                          ("keep = 1\n", "unknown key 'keep'"),
                          ("reject = ['ugly']\n", "unknown flag 'ugly'"),
                          ("top_k = true\n", "wrong type"), ("top_k = \n", "is not TOML"),
                          ("duplicate_bits = 300\n", "between 0 and 256")]:
        path.write_text(text)
        with pytest.raises(GanpageError, match=message):
            read_rules(path)
