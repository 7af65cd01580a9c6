"""recipe.py: the permalink query of a live picture, parsed strictly and spelt one way."""

from __future__ import annotations

import pytest

from ganpage.categories import CategorySet
from ganpage.noise import MAX_SEED
from ganpage.recipe import DEFAULT_TRUNCATION, RecipeError, parse_recipe

CATEGORIES = CategorySet.from_names(["Husky", "Hot Dog", "Mailbox"])


def test_a_recipe_survives_its_own_query():
    recipe = parse_recipe(CATEGORIES, "hot-dog", "4294967295", "0.65")
    assert (recipe.category.name, recipe.seed, recipe.truncation) == ("Hot Dog", MAX_SEED, 0.65)
    assert recipe.query() == "category=hot-dog&seed=4294967295&truncation=0.6500"
    again = parse_recipe(CATEGORIES, "hot-dog", "4294967295", "0.6500")
    assert again == recipe


def test_missing_truncation_is_the_default_and_one_is_allowed():
    assert parse_recipe(CATEGORIES, "husky", "0").truncation == DEFAULT_TRUNCATION
    assert parse_recipe(CATEGORIES, "husky", "0", "1").truncation == 1.0
    assert parse_recipe(CATEGORIES, "husky", "0", ".5").truncation == 0.5


@pytest.mark.parametrize(("category", "seed", "truncation", "named"), [
    ("Husky", "1", "0.7", "slug"),            # a name is not a slug: permalinks are exact
    ("poodle", "1", "0.7", "slug"),
    ("husky", "4294967296", "0.7", "seed"),   # past 2**32 - 1 the noise repeats
    ("husky", "-1", "0.7", "seed"),
    ("husky", "²", "0.7", "seed"),            # not ASCII digits
    ("husky", "1e3", "0.7", "seed"),
    ("husky", "1", "0", "truncation"),
    ("husky", "1", "1.5", "truncation"),
    ("husky", "1", "nan", "truncation"),
    ("husky", "1", "inf", "truncation"),
    ("husky", "1", "0x1p-1", "truncation"),
    ("husky", "", "0.7", "category="),
    (None, "1", "0.7", "category="),
])
def test_bad_queries_are_one_line_naming_the_problem(category, seed, truncation, named):
    with pytest.raises(RecipeError, match=named) as caught:
        parse_recipe(CATEGORIES, category, seed, truncation)
    assert "\n" not in str(caught.value)
