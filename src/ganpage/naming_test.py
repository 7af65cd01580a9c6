"""The blind naming test: can a person name what a model draws? A grid of numbered rows (one
class per row, no names), its key with every picture's recipe, and a blank answer sheet; then the
filled sheet scored strict (first guess) and lenient (either of two guesses).
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganpage.atomic import atomic_write_bytes, atomic_write_text
from ganpage.categories import Category
from ganpage.data.dataset import MANIFEST, TrainingSet
from ganpage.errors import GanpageError
from ganpage.noise import MAX_SEED
from ganpage.rng import StableRandom

if TYPE_CHECKING:  # torch comes with these; scoring a sheet needs none of it
    from ganpage.classifiers.loaded import LoadedClassifier
    from ganpage.models import Generator

GRID, KEY, ANSWERS, SCORE = "grid.png", "key.json", "answers.txt", "score.json"
KEY_FORMAT = "ganpage-naming-test/1"
# Draw S shows noise seeds SHEET_SEEDS + SEEDS_PER_DRAW * S + i: never seeds 0.., which the
# sample grids, `ganpage eval` and category_scores.json look at (the numbering of the replaced
# scripts/naming_test.py --draw, so draw S's seeds are the same).
SHEET_SEEDS = 2_000_000
SEEDS_PER_DRAW = 1000
MAX_DRAW = (MAX_SEED + 1 - SHEET_SEEDS) // SEEDS_PER_DRAW - 1
GAP = 2  # grey lines between the pictures, px
BACKGROUND = (217, 217, 217)
SYNONYMS = "naming_synonyms.json"  # in ganpage/resources
ANSWER_LINE = re.compile(r"\s*(\d+)\s*[:.)]\s*(.*)")


@dataclass(frozen=True)
class Draw:
    """Which pictures a sheet shows: ``classes`` rows of ``seeds`` pictures, chosen by the draw
    ``seed``; with ``best_of`` K, the classifier's top ``seeds`` of K seeds per row."""

    classes: int = 20
    seeds: int = 8
    seed: int = 0
    truncation: float = 0.65
    best_of: int | None = None

    def check(self) -> None:
        """One GanpageError for the first value out of range."""
        if self.classes < 1 or not 1 <= self.seeds <= SEEDS_PER_DRAW:
            raise GanpageError(f"a sheet needs at least one row (--classes) of 1 to "
                               f"{SEEDS_PER_DRAW} pictures (--seeds)")
        if not 0 < self.truncation <= 1:
            raise GanpageError(f"--truncation must be in (0, 1], got {self.truncation}")
        if not 0 <= self.seed <= MAX_DRAW:
            raise GanpageError(f"--seed must be in 0..{MAX_DRAW}, got {self.seed}")
        if self.best_of is not None and not self.seeds <= self.best_of <= SEEDS_PER_DRAW:
            raise GanpageError(f"--best-of must be between --seeds ({self.seeds}) and "
                               f"{SEEDS_PER_DRAW}, got {self.best_of}")

    def noise_seeds(self) -> list[int]:
        """The noise seeds of every row (the same in each), ``best_of`` of them if given."""
        first = SHEET_SEEDS + SEEDS_PER_DRAW * self.seed
        return list(range(first, first + (self.best_of or self.seeds)))


@dataclass
class Row:
    """One row of the sheet: its class, its pictures (N, H, W, 3) uint8 and how each was made."""

    category: Category
    pictures: np.ndarray
    recipes: list[dict]


# -- choosing the rows -------------------------------------------------------------------------


def seen_names(path: Path) -> set[str]:
    """Class names a tester has seen named: from a ganpage key.json, an answers.json of the
    replaced script (a list of {row, name, id}) or a JSON object {class name: where seen}."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and document.get("format") == KEY_FORMAT:
            return {row["category"] for row in document["rows"]}
        if isinstance(document, list):
            return {row["name"] for row in document}
        if isinstance(document, dict):
            return set(document)
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
        raise GanpageError(f"--exclude {path}: cannot read it ({reason})") from None
    raise GanpageError(f"--exclude {path}: not a key.json, an answers.json or a "
                       "{class name: where seen} object")


def unseen(categories: Sequence[Category], every: Sequence[Category],
           exclude: Iterable[Path]) -> list[Category]:
    """``categories`` without the classes named in the ``exclude`` files, which must all be
    among ``every`` (the model's classes)."""
    seen = set().union(*(seen_names(path) for path in exclude))
    unknown = sorted(seen - {category.name for category in every})
    if unknown:
        raise GanpageError(f"--exclude names {len(unknown)} classes the model does not have "
                           f"({', '.join(unknown[:3])}); give a file from a test of this model")
    return [category for category in categories if category.name not in seen]


def choose_categories(categories: Sequence[Category], count: int,
                      rng: StableRandom) -> list[Category]:
    """``count`` distinct classes in a random order: the sheet's rows, top to bottom."""
    if count > len(categories):
        raise GanpageError(f"only {len(categories)} classes are left to draw {count} rows "
                           "from; ask for fewer --classes")
    return rng.sample(categories, count)


# -- the pictures ------------------------------------------------------------------------------


def model_rows(generator: Generator, categories: Sequence[Category], draw: Draw,
               classifier: LoadedClassifier | None = None) -> list[Row]:
    """Each class's pictures at the draw's seeds; with a classifier, its best ``draw.seeds`` of
    ``draw.best_of`` seeds, best first (as curation would pick them)."""
    seeds = draw.noise_seeds()
    rows = []
    for category in categories:
        pictures = generator.sample([category.id] * len(seeds), seeds, draw.truncation)
        recipes = [{"seed": seed, "truncation": draw.truncation} for seed in seeds]
        if classifier is not None:
            scores = classifier.probability_of(pictures, np.full(len(seeds), category.id))
            order = np.argsort(-scores, kind="stable")[:draw.seeds]
            pictures = pictures[order]
            recipes = [{**recipes[i], "classifier_score": round(float(scores[i]), 4)}
                       for i in order]
        rows.append(Row(category, pictures, recipes))
    return rows


def check_real_classes(reals: TrainingSet, categories: Sequence[Category]) -> None:
    """Every class the sheet may show needs real pictures; checked before the draw, so the
    error names no class of the sheet."""
    present = {reals.categories[int(label)].name for label in np.unique(reals.labels)}
    missing = [category.name for category in categories if category.name not in present]
    if missing:
        raise GanpageError(f"--real {reals.root} has no pictures of {len(missing)} of the "
                           f"model's classes ({', '.join(missing[:3])}); give the data set the "
                           "model learnt from")


def real_rows(reals: TrainingSet, categories: Sequence[Category], count: int,
              rng: StableRandom) -> list[Row]:
    """Up to ``count`` of each class's real pictures, drawn in row order (the control)."""
    class_ids = {category.name: category.id for category in reals.categories}
    paths = manifest_paths(reals.root)
    rows = []
    for category in categories:
        indices = np.flatnonzero(reals.labels == class_ids[category.name]).tolist()
        chosen = rng.sample(indices, min(count, len(indices)))
        pictures = reals.images[chosen].transpose(0, 2, 3, 1)  # (N, 3, S, S) -> (N, S, S, 3)
        rows.append(Row(category, pictures,
                        [{"picture": index, "path": paths[index]} for index in chosen]))
    return rows


def manifest_paths(root: Path) -> list[str]:
    """The data set's picture files in manifest order (load_training_set's order)."""
    text = (root / MANIFEST).read_text(encoding="utf-8")
    return [json.loads(line)["path"] for line in text.splitlines() if line.strip()]


def draw_sheet(out: Path, generator: Generator, model: str, draw: Draw, *,
               best: int | None = None, exclude: Sequence[Path] = (),
               reals: TrainingSet | None = None,
               classifier: LoadedClassifier | None = None) -> dict:
    """Choose the rows (from the ``best`` N categories, without those ``exclude`` lists) and
    write the sheet of the generator's pictures, or of ``reals``, into ``out``. ``model`` is
    the name the model was loaded by. Returns key.json's document."""
    from ganpage.category_scores import best_categories
    from ganpage.classifiers.loaded import check_same_classes

    draw.check()
    every = generator.categories
    if best is not None and not 0 < best <= len(every):
        raise GanpageError(f"--best must be between 1 and {len(every)} (the model's classes), "
                           f"got {best}")
    candidates = unseen(best_categories(generator, best) if best else list(every), every,
                        exclude)
    about: dict = {"model": model, "model_id": generator.model_id, "seed": draw.seed,
                   "best": best, "exclude": [str(path) for path in exclude],
                   "drawn_from": len(candidates)}
    rng = StableRandom(draw.seed)  # the classes first, then (reals) each row's pictures
    if reals is not None:
        check_real_classes(reals, candidates)
        rows = real_rows(reals, choose_categories(candidates, draw.classes, rng), draw.seeds,
                         rng)
        about |= {"pictures": "real", "data": str(reals.root),
                  "picture_size": reals.image_size}
    else:
        if classifier is not None:
            check_same_classes(classifier, every)
        rows = model_rows(generator, choose_categories(candidates, draw.classes, rng), draw,
                          classifier)
        about |= {"pictures": "generated", "truncation": draw.truncation,
                  "best_of": draw.best_of,
                  "classifier": None if classifier is None else classifier.model_id}
    return write_sheet(out, rows, generator.image_size, about)


# -- the sheet ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridLayout:
    """Where things are in grid.png: row numbers on the left, then square cells of ``cell`` px
    separated by ``GAP`` px."""

    rows: int
    columns: int
    cell: int

    @property
    def font_size(self) -> int:
        return min(max(self.cell // 3, 12), 40)

    @property
    def left(self) -> int:
        """Width of the row numbers' column."""
        return self.font_size * (len(str(self.rows)) + 1)

    @property
    def size(self) -> tuple[int, int]:
        return (self.left + self.columns * (self.cell + GAP) + GAP,
                self.rows * (self.cell + GAP) + GAP)

    def box(self, row: int, column: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a cell; row and column count from 0."""
        x = self.left + GAP + column * (self.cell + GAP)
        y = GAP + row * (self.cell + GAP)
        return x, y, x + self.cell, y + self.cell


def draw_grid(rows: Sequence[Row], layout: GridLayout) -> Image.Image:
    """The rows' pictures in numbered rows, nothing else; pictures of another size are scaled
    to the cell (nearest neighbour when enlarged, so no detail is invented)."""
    grid = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=layout.font_size)
    for r, row in enumerate(rows):
        x0, y0, _, y1 = layout.box(r, 0)
        draw.text((x0 - layout.font_size // 2, (y0 + y1) // 2), str(r + 1), fill="black",
                  font=font, anchor="rm")
        for column, picture in enumerate(row.pictures):
            tile = Image.fromarray(picture)
            if tile.size != (layout.cell, layout.cell):
                enlarge = tile.width < layout.cell
                tile = tile.resize((layout.cell, layout.cell),
                                   Image.Resampling.NEAREST if enlarge else Image.Resampling.BOX)
            grid.paste(tile, layout.box(r, column)[:2])
    return grid


def check_fresh(out: Path) -> None:
    """Refuse a folder that already holds a sheet: its answers may be filled in."""
    for name in (GRID, KEY, ANSWERS, SCORE):
        if (out / name).exists():
            raise GanpageError(f"{out} already holds a naming test ({name}); choose another "
                               "--out, or delete that folder to draw it again")


def write_sheet(out: Path, rows: Sequence[Row], cell: int, about: dict) -> dict:
    """grid.png, key.json (``about``: where the pictures come from and the options, then every
    row's class and its pictures' recipes) and a blank answers.txt; returns the key."""
    layout = GridLayout(len(rows), max(len(row.pictures) for row in rows), cell)
    png = io.BytesIO()
    draw_grid(rows, layout).save(png, format="PNG")
    atomic_write_bytes(out / GRID, png.getvalue())
    key = {
        "format": KEY_FORMAT, **about,
        "grid": {"file": GRID, "cell": cell, "left": layout.left, "gap": GAP},
        "rows": [{"row": number, "category": row.category.name, "id": row.category.id,
                  "slug": row.category.slug, "synonyms": list(row.category.synonyms),
                  "pictures": row.recipes}
                 for number, row in enumerate(rows, start=1)],
    }
    atomic_write_text(out / KEY, json.dumps(key, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / ANSWERS, blank_answers(len(rows), out))
    return key


def blank_answers(rows: int, out: Path) -> str:
    """The answer sheet: how to fill it in, then one numbered line per row."""
    header = [
        f"# Naming test: what does each row of {GRID} show? Write it after the row's number,",
        f"# before you open {KEY} (the answers). The first guess counts for the strict score;",
        "# a second one after ' / ' counts for the lenient score:  7: first guess / second guess",
        "# Leave a row empty if you cannot name it. Lines starting with # are ignored.",
        f"# Then: ganpage naming-test score {out}",
    ]
    return "\n".join([*header, *(f"{row}: " for row in range(1, rows + 1))]) + "\n"


# -- scoring -----------------------------------------------------------------------------------


def normal_form(text: str) -> str:
    """What two names must share to match: case, accents, punctuation, spaces, a possessive
    "'s" and plural endings dropped ('Man's Shoes' -> 'manshoe', 'hot-dogs' -> 'hotdog')."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    words = re.findall(r"[a-z0-9]+", re.sub(r"'s\b", "", plain.replace("\u2019", "'")))
    return "".join(_singular(word) for word in words)


@cache
def _singular(word: str) -> str:
    """inflect's singular of a word ending in s ('cherries' -> 'cherry', 'potatoes' ->
    'potato'); words of 3 letters or fewer ('bus', 'gas') stay as they are."""
    if len(word) <= 3 or not word.endswith("s"):
        return word
    return _inflect_engine().singular_noun(word) or word


@cache
def _inflect_engine() -> Any:
    import inflect  # pinned exactly (pyproject.toml); imported only to score: it takes a second

    return inflect.engine()


def read_synonyms(path: Path) -> dict[str, list[str]]:
    """A synonym file: a JSON object {class name: [other names that count for it]}; keys that
    start with '_' are comments."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
        raise GanpageError(f"--synonyms {path}: cannot read it ({reason})") from None
    if not isinstance(document, dict):
        raise GanpageError(f"--synonyms {path}: not a JSON object {{class name: [names]}}")
    table = {}
    for name, names in document.items():
        if name.startswith("_"):
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise GanpageError(f"--synonyms {path}: {name!r} must map to a list of names")
        table[name] = names
    return table


def default_synonyms_path() -> Path:
    """The synonym list ganpage ships (resources/naming_synonyms.json)."""
    return Path(str(resources.files("ganpage") / "resources" / SYNONYMS))


def synonym_table(files: Sequence[Path]) -> dict[str, list[str]]:
    """The files' synonyms merged, keyed by the class name's normal form."""
    table: dict[str, list[str]] = {}
    for path in files:
        for name, names in read_synonyms(path).items():
            known = table.setdefault(normal_form(name), [])
            known.extend(n for n in names if n not in known)
    return table


def read_key(folder: Path) -> dict:
    """The key.json of a sheet folder, checked enough to score against."""
    path = folder / KEY
    if not path.is_file():
        raise GanpageError(f"{folder} holds no naming test ({KEY} is missing); make one with "
                           "`ganpage naming-test MODEL --out DIR`")
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
        rows = key["rows"]
        if key.get("format") != KEY_FORMAT:
            raise ValueError(f"not a {KEY_FORMAT} key")
        if [row["row"] for row in rows] != list(range(1, len(rows) + 1)) or not all(
                isinstance(row["category"], str) and isinstance(row["synonyms"], list)
                for row in rows):
            raise ValueError("its rows are not numbered 1..N with a category each")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise GanpageError(f"{path} is damaged ({error}); draw the sheet again") from None
    return key


def read_answers(path: Path, rows: int) -> dict[int, list[str]]:
    """Row number -> the guesses written for it (first, second; more are ignored)."""
    if not path.is_file():
        raise GanpageError(f"no answer sheet at {path}; give the filled-in {ANSWERS}")
    answers: dict[int, list[str]] = {}
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ANSWER_LINE.fullmatch(line)
        if match is None:
            raise GanpageError(f"{path}, line {number}: {line.strip()[:40]!r} is not "
                               "'ROW: guess / second guess'")
        row = int(match[1])
        if row in answers:
            raise GanpageError(f"{path}: row {row} is answered twice")
        answers[row] = [g.strip() for g in match[2].split("/") if g.strip()][:2]
    if sorted(answers) != list(range(1, rows + 1)):
        raise GanpageError(f"{path} answers {_row_span(sorted(answers))}; the sheet has "
                           f"rows 1-{rows}: write one line 'ROW: guess' for each (an empty "
                           "guess counts as not named)")
    return answers


def _row_span(numbers: list[int]) -> str:
    """'rows 1-19', or the first few row numbers where they are not consecutive."""
    if not numbers:
        return "no rows"
    if len(numbers) == 1:
        return f"row {numbers[0]} only"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"rows {numbers[0]}-{numbers[-1]}"
    return "rows " + ", ".join(map(str, numbers[:6])) + (", ..." if len(numbers) > 6 else "")


def verdict(row: dict, guesses: list[str], synonyms: dict[str, list[str]]) -> dict:
    """One row scored: strict if the first guess names the class, lenient if either does."""
    accepted = [row["category"], *row["synonyms"], *synonyms.get(normal_form(row["category"]),
                                                                 [])]
    forms = {normal_form(name): name for name in reversed(accepted)}  # first spelling wins
    forms.pop("", None)
    matches = [forms.get(normal_form(guess)) for guess in guesses]
    return {"row": row["row"], "category": row["category"], "guesses": guesses,
            "strict": bool(matches) and matches[0] is not None,
            "lenient": any(match is not None for match in matches),
            "matched": next((match for match in matches if match is not None), None),
            "accepted": list(dict.fromkeys(accepted))}


def score_sheet(folder: Path, answers_path: Path, synonym_files: Sequence[Path] = ()) -> dict:
    """Score a filled answer sheet against the folder's key; writes and returns score.json."""
    key = read_key(folder)
    answers = read_answers(answers_path, len(key["rows"]))
    files = [default_synonyms_path(), *synonym_files]
    table = synonym_table(files)
    verdicts = [verdict(row, answers[row["row"]], table) for row in key["rows"]]
    result = {
        "answers": str(answers_path),
        "rows": len(verdicts),
        "named_strict": sum(v["strict"] for v in verdicts),
        "named_lenient": sum(v["lenient"] for v in verdicts),
        "rules": "strict: the first guess names the class; lenient: the first or the second "
                 "does. A guess names it if it equals the class's name or a synonym in "
                 "'accepted' once case, accents, punctuation, spaces and plural endings are "
                 "ignored.",
        "synonym_files": [f"ganpage:resources/{SYNONYMS}", *map(str, synonym_files)],
        "verdicts": verdicts,
    }
    atomic_write_text(folder / SCORE, json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result
