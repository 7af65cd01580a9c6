"""The curation stamp's digest changes with every setting a decision depends on, and stored
findings that are not findings are ignored (the run then reads everything)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ganpage.curation.memorisation import TrainingReference
from ganpage.curation.rules import Rules
from ganpage.curation.scoring import Scorers
from ganpage.curation.stamp import Findings, settings_digest
from helpers.curation import ColourClassifier


def reference(threshold: float, count: int = 4) -> TrainingReference:
    return TrainingReference(root=None, features=np.zeros((count, 768), np.float32),
                             threshold=threshold, pictures=np.zeros((count, 8, 8, 3), np.uint8))


BASE = Scorers(ColourClassifier(), reference(0.5), frame_threshold=20.0)


@pytest.mark.parametrize(("rules", "scorers"), [
    (Rules(top_k=2), BASE),
    (Rules(duplicate_bits=20), BASE),
    (Rules(reject=("blank",)), BASE),
    (Rules(min_class_score=0.1), BASE),
    (Rules(), replace(BASE, classifier=None)),
    (Rules(), replace(BASE, reference=reference(0.6))),
    (Rules(), replace(BASE, reference=reference(0.5, count=5))),
    (Rules(), replace(BASE, frame_threshold=21.0)),
    (Rules(), replace(BASE, reference=None, frame_threshold=None)),
])
def test_every_setting_a_decision_depends_on_changes_the_digest(rules, scorers):
    assert settings_digest(rules, scorers) != settings_digest(Rules(), BASE)


def test_the_same_settings_give_the_same_digest():
    again = Scorers(ColourClassifier(), reference(0.5), frame_threshold=20.0)
    assert settings_digest(Rules(), again) == settings_digest(Rules(), BASE)


def test_findings_round_trip_and_damaged_text_is_no_findings():
    findings = Findings(3, {"duplicate": 7, "blank": 1})
    assert Findings.from_json(findings.to_json()) == findings
    for damaged in ("", "[]", '{"groups": 1}', '{"groups": "x", "flags": {}}',
                    '{"groups": 1, "flags": []}'):
        assert Findings.from_json(damaged) is None, damaged
