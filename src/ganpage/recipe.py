"""A picture's recipe (category, seed, truncation) as a permalink's query string carries it.

The server's live pages and the browser's ``live.html`` read the same three parameters with the
same rules, so ``?category=husky&seed=7&truncation=0.7`` draws the same picture in both (the
noise comes from ``noise.py`` / ``noise.js``). Parsing is strict: a permalink must name exactly
one picture, so a category is matched by its exact slug only and numbers must be plain ASCII;
and a picture has one address, ``Recipe.query()``: another spelling of the same recipe is
redirected to it (``redirect_query``; ``live.js`` rewrites the address bar to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from ganpage.categories import Category, CategorySet
from ganpage.errors import GanpageError
from ganpage.gallery import truncation_text
from ganpage.noise import MAX_SEED

DEFAULT_TRUNCATION = 0.7  # as `ganpage generate`'s default
QUERY_KEYS = ("category", "seed", "truncation")
SEED_TEXT = re.compile(r"[0-9]{1,10}")  # ASCII digits only: '²'.isdigit() is True
TRUNCATION_TEXT = re.compile(r"(0?\.[0-9]{1,17}|1(\.0{1,17})?|0)")


class RecipeError(GanpageError, ValueError):
    """A query that names no picture: an unknown category, a bad seed or truncation."""


@dataclass(frozen=True)
class Recipe:
    """Everything that makes one picture of a model, apart from the model itself."""

    category: Category
    seed: int
    truncation: float = DEFAULT_TRUNCATION

    def query(self) -> str:
        """``category=<slug>&seed=<n>&truncation=<t>``, the canonical spelling of this recipe."""
        return urlencode({"category": self.category.slug, "seed": self.seed,
                          "truncation": truncation_text(self.truncation)})


def redirect_query(query: str, recipe: Recipe) -> str | None:
    """The canonical query that ``query`` (as sent, without its '?'), which names ``recipe``,
    must be redirected to; None when it is that spelling already."""
    canonical = recipe.query()
    return None if query == canonical else canonical


def parse_seed(text: str) -> int:
    """A noise seed from a query value: ASCII digits, 0 .. 2**32 - 1."""
    if not SEED_TEXT.fullmatch(text) or int(text) > MAX_SEED:
        raise RecipeError(f"seed must be a whole number from 0 to {MAX_SEED}, got {text[:40]!r}")
    return int(text)


def parse_truncation(text: str) -> float:
    """A truncation from a query value: a plain decimal in (0, 1]."""
    value = float(text) if TRUNCATION_TEXT.fullmatch(text) else 0.0
    if not 0.0 < value <= 1.0:
        raise RecipeError(f"truncation must be a decimal in (0, 1] such as 0.7, got {text[:40]!r}")
    return value


def parse_recipe(categories: CategorySet, category: str | None, seed: str | None,
                 truncation: str | None = None) -> Recipe:
    """The recipe a permalink's query names; a missing truncation is ``DEFAULT_TRUNCATION``.

    Raises ``RecipeError`` with one line naming the problem (web routes answer it with 404).
    """
    if not category or not seed:
        raise RecipeError("a picture's address needs ?category=<slug>&seed=<n>")
    found = categories.by_slug(category)
    if found is None:
        raise RecipeError(f"no category with the slug {category[:80]!r}")
    chosen = DEFAULT_TRUNCATION if truncation in (None, "") else parse_truncation(truncation)
    return Recipe(found, parse_seed(seed), chosen)
