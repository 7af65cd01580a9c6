"""The blind naming test: a sheet that names no class, a key that remakes it, and its scoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganpage.categories import CategorySet
from ganpage.data.dataset import DatasetWriter, load_training_set
from ganpage.errors import GanpageError
from ganpage.models import load_generator
from ganpage.naming_test import (
    ANSWERS,
    GRID,
    KEY,
    Draw,
    GridLayout,
    draw_sheet,
    model_rows,
    normal_form,
    score_sheet,
)
from helpers.cli import ganpage
from helpers.models import make_tiny_model

CLASSES = ["Hamster", "Doughnut", "Mailbox", "Tangerine", "Cactus", "Hot Dog", "Bagel", "Comb",
           "Kite", "Anvil", "Teapot", "Walrus"]
COLOURS = {"Hamster": (200, 120, 40), "Doughnut": (230, 90, 160), "Mailbox": (30, 60, 200)}
REAL_PICTURES = {"Hamster": 2, "Doughnut": 3, "Mailbox": 4}  # the other classes: 1 each


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model of 12 classes; Hamster has the category synonym 'dwarf hamster'."""
    folder = make_tiny_model(tmp_path_factory.mktemp("naming") / "model", CLASSES)
    rows = CategorySet.from_names(CLASSES).to_dicts()
    rows[0]["synonyms"] = ["dwarf hamster"]
    (folder / "classes.json").write_text(json.dumps(rows))
    return folder


FIVE_ROWS = Draw(classes=5, seeds=3)


def sheet(out: Path, model: Path, draw: Draw = FIVE_ROWS, **options) -> dict:
    """Draw a sheet of the model into ``out`` as `ganpage naming-test` would."""
    return draw_sheet(out, load_generator(model, dtype="float32"), str(model), draw, **options)


def test_the_sheet_and_its_file_names_name_no_class(tmp_path, model):
    key = sheet(tmp_path, model)
    shown = [row["category"] for row in key["rows"]]
    assert len(shown) == 5 and set(shown) <= set(CLASSES)
    assert {path.name for path in tmp_path.iterdir()} == {GRID, KEY, ANSWERS}
    answers = (tmp_path / ANSWERS).read_text().casefold()
    png = (tmp_path / GRID).read_bytes().lower()  # a text chunk would hold a name as bytes
    for category in CategorySet.from_names(CLASSES):
        for word in (category.name.casefold(), category.slug):
            assert word not in answers and word.encode() not in png
            assert not any(word in path.name for path in tmp_path.iterdir())
    assert [line for line in answers.splitlines() if not line.startswith("#")] == [
        f"{row}: " for row in range(1, 6)]


def test_the_same_seed_gives_the_same_sheet_and_another_seed_another(tmp_path, model):
    first = sheet(tmp_path / "a", model, Draw(classes=5, seeds=3, seed=7))
    again = sheet(tmp_path / "b", model, Draw(classes=5, seeds=3, seed=7))
    assert (tmp_path / "a" / GRID).read_bytes() == (tmp_path / "b" / GRID).read_bytes()
    assert (tmp_path / "a" / KEY).read_bytes() == (tmp_path / "b" / KEY).read_bytes()
    other = sheet(tmp_path / "c", model, Draw(classes=5, seeds=3, seed=8))
    assert (tmp_path / "a" / GRID).read_bytes() != (tmp_path / "c" / GRID).read_bytes()
    assert [r["category"] for r in first["rows"]] != [r["category"] for r in other["rows"]]
    seeds = {p["seed"] for row in first["rows"] for p in row["pictures"]}
    assert seeds == {2_007_000, 2_007_001, 2_007_002} == {
        p["seed"] for row in again["rows"] for p in row["pictures"]}


def test_the_key_remakes_every_picture_of_the_grid(tmp_path, model):
    key = sheet(tmp_path, model, Draw(classes=4, seeds=3, seed=2, truncation=0.8))
    generator = load_generator(model, dtype="float32")
    grid = np.asarray(Image.open(tmp_path / GRID).convert("RGB"))
    layout = GridLayout(4, 3, key["grid"]["cell"])
    assert grid.shape[:2] == layout.size[::-1]
    for r, row in enumerate(key["rows"]):
        recipes = row["pictures"]
        remade = generator.sample([row["id"]] * 3, [p["seed"] for p in recipes],
                                  recipes[0]["truncation"])
        for column in range(3):
            x0, y0, x1, y1 = layout.box(r, column)
            np.testing.assert_array_equal(grid[y0:y1, x0:x1], remade[column])


def colour_dataset(root: Path) -> Path:
    """REAL_PICTURES of three of the model's classes, each in its class's colour with a little
    noise; one grey picture of each other class."""
    rng = np.random.default_rng(0)
    writer = DatasetWriter(root, 16, near_duplicate_bits=-1)
    for name in CLASSES:
        colour = COLOURS.get(name, (128, 128, 128))
        for i in range(REAL_PICTURES.get(name, 1)):
            pixels = np.clip(rng.normal(colour, 4, (16, 16, 3)), 0, 255).astype(np.uint8)
            writer.add(Image.fromarray(pixels), name, f"{i}")
    writer.finish()
    return root


def test_real_pictures_make_the_same_rows_from_the_data_set(tmp_path, model):
    reals = load_training_set(colour_dataset(tmp_path / "data"))
    drawn = sheet(tmp_path / "model-sheet", model, Draw(classes=12, seeds=3, seed=4))
    key = sheet(tmp_path / "real-sheet", model, Draw(classes=12, seeds=3, seed=4), reals=reals)
    assert [r["category"] for r in key["rows"]] == [r["category"] for r in drawn["rows"]]
    assert key["pictures"] == "real" and key["picture_size"] == 16
    grid = np.asarray(Image.open(tmp_path / "real-sheet" / GRID).convert("RGB")).astype(int)
    layout = GridLayout(12, 3, key["grid"]["cell"])
    for r, row in enumerate(key["rows"]):
        pictures = row["pictures"]
        assert all(p["path"].startswith(row["slug"] + "/") for p in pictures)
        assert len(pictures) == min(3, REAL_PICTURES.get(row["category"], 1))
        assert len({p["picture"] for p in pictures}) == len(pictures)
        x0, y0, x1, y1 = layout.box(r, 0)
        colour = COLOURS.get(row["category"], (128, 128, 128))
        assert np.abs(grid[y0:y1, x0:x1].mean(axis=(0, 1)) - colour).max() < 6


def test_real_pictures_need_every_class_the_sheet_may_show(tmp_path, model):
    writer = DatasetWriter(tmp_path / "data", 16)
    for name in ("Hamster", "Mailbox"):
        writer.add(Image.new("RGB", (16, 16), COLOURS[name]), name, "0")
    writer.finish()
    with pytest.raises(GanpageError, match="no pictures of 10 of the model's classes"):
        sheet(tmp_path / "s", model, reals=load_training_set(tmp_path / "data"))


def test_rows_come_only_from_the_best_categories_and_not_from_excluded_ones(tmp_path, model):
    generator = load_generator(model, dtype="float32")
    generator.category_scores = {i: (1.0 if i < 6 else 0.0) for i in range(len(CLASSES))}
    seen = tmp_path / "seen.json"
    seen.write_text(json.dumps({"Hamster": "draw 1", "Doughnut": "the demo"}))
    key = draw_sheet(tmp_path / "s", generator, "tiny", Draw(classes=4, seeds=1), best=6,
                     exclude=[seen])
    assert {r["category"] for r in key["rows"]} == set(CLASSES[2:6])
    assert key["drawn_from"] == 4
    # an earlier sheet's key excludes its classes too: none of the best 6 is left
    with pytest.raises(GanpageError, match="only 0 classes are left to draw 1 rows"):
        draw_sheet(tmp_path / "t", generator, "tiny", Draw(classes=1, seeds=1), best=6,
                   exclude=[seen, tmp_path / "s" / KEY])


def test_excluding_every_class_or_unknown_ones_is_an_error(tmp_path, model):
    generator = load_generator(model, dtype="float32")
    earlier = draw_sheet(tmp_path / "s", generator, "tiny", Draw(classes=10, seeds=1))
    with pytest.raises(GanpageError, match="only 2 classes are left to draw 3 rows"):
        draw_sheet(tmp_path / "t", generator, "tiny", Draw(classes=3, seeds=1),
                   exclude=[tmp_path / "s" / KEY])
    unknown = tmp_path / "other.json"
    unknown.write_text(json.dumps({"Zeppelin": "elsewhere"}))
    with pytest.raises(GanpageError, match=r"names 1 classes the model does not have \(Zeppelin"):
        draw_sheet(tmp_path / "u", generator, "tiny", Draw(classes=1, seeds=1),
                   exclude=[unknown])
    assert len(earlier["rows"]) == 10


class FavoursSeeds:
    """A stand-in classifier: the pictures score 0, 1/N, 2/N ... in the order they come
    (reversed for odd class ids)."""

    def probability_of(self, pictures: np.ndarray, labels: np.ndarray) -> np.ndarray:
        scores = np.arange(len(pictures), dtype=np.float32) / len(pictures)
        return scores[::-1].copy() if labels[0] % 2 else scores


def test_best_of_shows_the_classifier_s_best_seeds_best_first(model):
    generator = load_generator(model, dtype="float32")
    even, odd = generator.categories[0], generator.categories[1]
    draw = Draw(classes=2, seeds=2, seed=1, best_of=5)
    rows = model_rows(generator, [even, odd], draw, FavoursSeeds())  # type: ignore[arg-type]
    assert [p["seed"] for p in rows[0].recipes] == [2_001_004, 2_001_003]
    assert [p["seed"] for p in rows[1].recipes] == [2_001_000, 2_001_001]
    assert [p["classifier_score"] for p in rows[0].recipes] == [0.8, 0.6]
    np.testing.assert_array_equal(rows[0].pictures[0],
                                  generator.sample([even.id], [2_001_004], 0.65)[0])


@pytest.mark.parametrize("a, b", [("Man's Shoes", "mans shoe"), ("HOT-DOGS!", "hot dog"),
                                  ("Cherries", "cherry"), ("Piñata", "pinata"),
                                  ("Potatoes", "potato")])
def test_names_match_whatever_their_case_punctuation_spaces_and_plural(a, b):
    assert normal_form(a) == normal_form(b) != ""


def test_hamster_and_hamsters_match_but_hamster_and_hamper_do_not():
    assert normal_form("Hamster") == normal_form("hamsters") != normal_form("hamper")


def answer(folder: Path, guesses: dict[str, str]) -> Path:
    """An answer sheet with the guess for each row's class (by name), blank where none."""
    rows = json.loads((folder / KEY).read_text())["rows"]
    path = folder / "filled.txt"
    lines = [f"{row['row']}: {guesses.get(row['category'], '')}" for row in rows]
    path.write_text("# my guesses\n" + "\n".join(lines) + "\n")
    return path


def test_score_counts_strict_lenient_and_synonyms(tmp_path, model):
    sheet(tmp_path, model, Draw(classes=12, seeds=1))
    sheet_answers = answer(tmp_path, {
        "Hamster": "DWARF HAMSTERS",  # the category's own synonym, in another case and plural
        "Doughnut": "donut",  # ganpage's synonym list
        "Hot Dog": "sausage / hotdog",  # only the second guess: lenient
        "Mailbox": "letterbox",  # in no list yet
        "Cactus": "plant",  # wrong
        "Kite": "?"})
    result = score_sheet(tmp_path, sheet_answers)
    verdicts = {v["category"]: v for v in result["verdicts"]}
    assert (result["named_strict"], result["named_lenient"], result["rows"]) == (2, 3, 12)
    assert verdicts["Hamster"]["strict"] and verdicts["Hamster"]["matched"] == "dwarf hamster"
    assert verdicts["Doughnut"]["strict"] and "donut" in verdicts["Doughnut"]["accepted"]
    assert not verdicts["Hot Dog"]["strict"] and verdicts["Hot Dog"]["lenient"]
    assert not verdicts["Mailbox"]["lenient"] and not verdicts["Kite"]["lenient"]
    assert verdicts["Bagel"]["guesses"] == [] and not verdicts["Bagel"]["lenient"]

    extra = tmp_path / "my-synonyms.json"
    extra.write_text(json.dumps({"_about": "our words", "mailbox": ["letter box"]}))
    result = score_sheet(tmp_path, sheet_answers, [extra])
    verdicts = {v["category"]: v for v in result["verdicts"]}
    assert (result["named_strict"], result["named_lenient"]) == (3, 4)
    assert verdicts["Mailbox"]["matched"] == "letter box"
    assert result["synonym_files"][-1] == str(extra)
    written = json.loads((tmp_path / "score.json").read_text())
    assert written["named_lenient"] == 4 and "letter box" in written["verdicts"][
        [v["category"] for v in written["verdicts"]].index("Mailbox")]["accepted"]


DOCS = Path(__file__).resolve().parents[1] / "docs"
JUDGED_SHEETS = {19: "naming-test-v2-3964", 23: "naming-test-v2-3964-seed23",
                 29: "naming-test-v2-3964-seed29"}  # the keys of the sheets the judges saw


@pytest.mark.parametrize("judging", ["naming-test-v2-5906", "naming-test-v2-w32-5533"])
@pytest.mark.parametrize("seed", sorted(JUDGED_SHEETS))
def test_the_shipped_synonyms_score_real_answers_as_the_blind_judges_did(tmp_path, seed,
                                                                          judging):
    """Six testers' answers to one emoji32 sheet (docs/JUDGING/), scored by `naming-test
    score` with ganpage's own synonym list: row for row what a blind judge ruled."""
    shutil.copy(DOCS / JUDGED_SHEETS[seed] / KEY, tmp_path / KEY)
    judged = json.loads((DOCS / judging / f"verdicts-seed{seed}.json").read_text())
    for letter, tester in judged["testers"].items():
        answers, = DOCS.glob(f"naming-test-v2-*/answers*-{tester['tester']}.txt")
        result = score_sheet(tmp_path, answers)
        for kind in ("strict", "lenient"):
            rows = [v["row"] for v in result["verdicts"] if v[kind]]
            assert rows == judged["sheets"][letter][f"{kind}_rows"], (tester, kind)


@pytest.mark.parametrize("lines, message", [
    (["1: a", "2: b"], "answers rows 1-2; the sheet has rows 1-3"),
    (["1: a", "2: b", "3: c", "4: d"], "answers rows 1-4; the sheet has rows 1-3"),
    (["1: a", "3: b", "4: c"], "answers rows 1, 3, 4; the sheet has rows 1-3"),
    (["1: a", "2: b", "2: c"], "row 2 is answered twice"),
    (["1: a", "hamster", "3: c"], "line 3: 'hamster' is not 'ROW: guess / second guess'"),
])
def test_an_answer_sheet_that_does_not_fit_the_sheet_is_an_error(tmp_path, model, lines,
                                                                  message):
    sheet(tmp_path, model, Draw(classes=3, seeds=1))
    filled = tmp_path / "filled.txt"
    filled.write_text("# guesses\n" + "\n".join(lines) + "\n")
    with pytest.raises(GanpageError, match=message):
        score_sheet(tmp_path, filled)
    assert not (tmp_path / "score.json").exists()


@pytest.mark.slow
def test_the_command_draws_a_sheet_and_scores_it_as_the_issue_spells_it(tmp_path, model):
    made = ganpage("naming-test", str(model), "--out", "sheet", "--classes", "3", "--seeds",
                   "2", "--seed", "5", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "sheet/grid.png: 3 rows of tiny-0's pictures, drawn from 12 classes" in made.stdout
    key = json.loads((tmp_path / "sheet" / KEY).read_text())
    first = key["rows"][0]["category"]
    answers = tmp_path / "sheet" / ANSWERS
    answers.write_text(answers.read_text().replace("1: \n", f"1: {first.upper()}\n"))
    scored = ganpage("naming-test", "score", "sheet", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert scored.stdout.startswith("named 1 of 3 rows (strict), 1 of 3 (lenient)")
    again = ganpage("naming-test", str(model), "--out", "sheet", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a naming test" in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["naming-test", "score", "sheet", "short.txt"],
     "short.txt answers row 1 only; the sheet has rows 1-2"),
    (["naming-test", "score", "nowhere"], "nowhere holds no naming test (key.json is missing)"),
    (["naming-test", "MODEL", "--out", "new/o", "--truncation", "1.5"],
     "--truncation must be in (0, 1]"),
    (["naming-test", "MODEL", "--out", "new/o", "--best-of", "24", "--real", "d"],
     "--best-of picks generated pictures"),
    (["naming-test", "MODEL", "--out", "new/o", "--best-of", "4"],
     "--best-of must be between --seeds (8) and 1000, got 4"),
    (["naming-test", "MODEL", "--out", "new/o", "--classes", "13"],
     "only 12 classes are left to draw 13 rows"),
    (["naming-test", "MODEL", "--out", "new/o", "--best", "3"], "ships no category_scores"),
])
def test_mistakes_are_one_line_and_leave_nothing_behind(tmp_path, model, args, message):
    assert ganpage("naming-test", str(model), "--out", "sheet", "--classes", "2", "--seeds", "1",
                   cwd=tmp_path).returncode == 0
    (tmp_path / "short.txt").write_text("1: bagel\n")
    before = sorted(tmp_path.rglob("*"))
    result = ganpage(*[str(model) if arg == "MODEL" else arg for arg in args], cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(tmp_path.rglob("*")) == before
