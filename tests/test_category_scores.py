"""Category scores: the classifier ranks what a model draws well, a model folder ships the
ranking, and generate/demo/categories pick the best categories from it."""

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from ganpage.categories import CategorySet
from ganpage.category_scores import (
    best_categories,
    ranking,
    score_categories,
    write_category_scores,
)
from ganpage.classifiers.trained import load_classifier
from ganpage.errors import GanpageError
from ganpage.generate import choose_categories
from ganpage.models import load_generator
from ganpage.models.generator import Generator
from ganpage.models.loading import CATEGORY_SCORES, ModelLoadError
from helpers.models import make_tiny_model

COLOURS = ["Blue", "Green", "Red"]  # the data set's order: sorted by name


@pytest.fixture
def colour_classifier(colour_classifier_run):
    """A classifier that tells red, green and blue pictures apart (held-out accuracy 1), the
    session's (conftest)."""
    return colour_classifier_run.folder


class PaintNet(nn.Module):
    """A stand-in generator that paints each class one flat colour, plus a little noise."""

    def __init__(self, colours: list[tuple[float, float, float]]):
        super().__init__()
        self.register_buffer("colours", torch.tensor(colours))  # (num_classes, 3) in [-1, 1]

    def generate(self, z, labels, truncation):
        flat = self.colours[labels][:, :, None, None].expand(-1, -1, 32, 32)  # (B, 3, 32, 32)
        return (flat + 0.05 * z[:, :3, None, None]).clamp(-1, 1)


def painter(colours) -> Generator:
    return Generator(PaintNet(colours), CategorySet.from_names(COLOURS), "paint", 8, 32)


RED, GREEN, BLUE = (0.6, -0.7, -0.7), (-0.7, 0.6, -0.7), (-0.7, -0.7, 0.6)


def test_scores_rank_the_categories_a_model_draws_right_above_the_wrong_ones(
        colour_classifier):
    classifier = load_classifier(colour_classifier)
    generator = painter([BLUE, BLUE, RED])  # "Green" is drawn blue: the classifier must see it
    scores = score_categories(generator, classifier, seeds=4, batch_size=5, show_progress=False)
    assert set(scores) == {0, 1, 2}
    assert scores[0] > 0.8 and scores[2] > 0.8 and scores[1] < 0.2
    generator.category_scores = scores
    assert [c.name for c in ranking(generator)][2] == "Green"
    assert [c.name for c in best_categories(generator, 2)] == ["Blue", "Red"]  # id order


def test_a_model_folder_ships_its_scores_and_load_generator_reads_them(
        tmp_path, colour_classifier):
    folder = make_tiny_model(tmp_path / "model", COLOURS)
    generator = load_generator(folder)
    assert generator.category_scores == {}
    classifier = load_classifier(colour_classifier)
    write_category_scores(folder, generator, {0: 0.1, 1: 0.9, 2: 0.5}, classifier, seeds=3)
    document = json.loads((folder / CATEGORY_SCORES).read_text())
    assert document["scores"] == {"blue": 0.1, "green": 0.9, "red": 0.5}
    assert document["method"]["seeds"] == 3 and document["method"]["classifier"]
    reloaded = load_generator(folder)
    assert reloaded.category_scores == {0: 0.1, 1: 0.9, 2: 0.5}
    assert [c.name for c in choose_categories(reloaded, best=2)] == ["Green", "Red"]


def test_scores_of_other_categories_are_refused_with_the_fix(tmp_path):
    folder = make_tiny_model(tmp_path / "model", COLOURS)
    (folder / CATEGORY_SCORES).write_text(json.dumps({"scores": {"red": 1, "blue": 1, "cyan": 0}}))
    with pytest.raises(ModelLoadError, match="does not score this model's categories; re-make"):
        load_generator(folder)


def test_best_categories_explain_what_is_wrong(tmp_path):
    generator = load_generator(make_tiny_model(tmp_path / "model", COLOURS))
    with pytest.raises(GanpageError, match="ships no category_scores.json; make it with"):
        choose_categories(generator, best=2)
    generator.category_scores = {0: 0.5, 1: 0.4, 2: 0.3}
    with pytest.raises(GanpageError, match="between 1 and 3, got 4"):
        choose_categories(generator, best=4)
    with pytest.raises(GanpageError, match="--category and --best-categories cannot be combined"):
        choose_categories(generator, ["Red"], best=2)


def ganpage(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganpage", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.slow
def test_rank_generate_and_list_the_best_categories_from_the_command_line(
        tmp_path, colour_classifier):
    folder = make_tiny_model(tmp_path / "model", COLOURS)
    ranked = ganpage("rank-categories", str(folder), "--classifier", str(colour_classifier),
                     "--seeds", "2", cwd=tmp_path)
    assert ranked.returncode == 0, ranked.stderr
    assert f"wrote {folder / CATEGORY_SCORES}" in ranked.stdout
    scores = load_generator(folder).category_scores
    best_two = sorted(scores, key=lambda i: (-scores[i], i))[:2]
    listed = ganpage("categories", str(folder), "--best", "2", cwd=tmp_path)
    assert [int(line.split()[0]) for line in listed.stdout.splitlines()] == best_two
    made = ganpage("generate", "g", "--model", str(folder), "--best-categories", "2",
                   "--per-category", "3", "--quiet", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "6 new pictures" in made.stdout and "(2 categories" in made.stdout
    demo = ganpage("demo", "--model", str(folder), "--best-categories", "1", "--per-category",
                   "2", "--no-serve", "--out", "demo", cwd=tmp_path)
    assert demo.returncode == 0 and "2 new pictures" in demo.stdout, demo.stderr


@pytest.mark.slow
def test_rank_categories_needs_a_model_folder_and_a_classifier(tmp_path):
    missing = ganpage("rank-categories", "nowhere", cwd=tmp_path)
    assert missing.returncode == 2 and "is not a model folder" in missing.stderr
    folder = make_tiny_model(tmp_path / "model", COLOURS)
    no_classifier = ganpage("rank-categories", str(folder), cwd=tmp_path)
    assert no_classifier.returncode == 2 and "ships no classifier" in no_classifier.stderr
    assert "Traceback" not in missing.stderr + no_classifier.stderr
