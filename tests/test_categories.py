import re

import pytest

from ganpage.categories import (
    Category,
    CategoryFileError,
    CategorySet,
    UnknownCategoryError,
    slugify,
)
from ganpage.gallery import SAFE_NAME


@pytest.fixture
def categories():
    return CategorySet([
        Category(0, "Norwegian Elkhound", "norwegian-elkhound", ("elkhound",)),
        Category(1, "Hamster", "hamster"),
        Category(2, "Mailbox", "mailbox", ("letter box",)),
    ])


def test_slugify():
    assert slugify("Norwegian Elkhound") == "norwegian-elkhound"
    assert slugify("Piñata / Party!") == "pinata-party"
    assert slugify("???") == "category"


def test_names_without_an_ascii_form_get_slugs_of_their_own():
    names = ["犬", "猫", "Кот", "猫 犬", "Straße", "Strasse", "Кит"]
    slugs = [slugify(name) for name in names]
    assert len(set(slugs)) == len(names), slugs
    assert slugify("犬") == "category-1e82f9b0"  # fixed: slugs name gallery folders and URLs
    assert slugify("Straße") == "strae-16d96952"
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug) for slug in slugs)
    assert slugify("猫 犬") == slugify("猫-犬") and slugify("Кот") == slugify("кот")


def test_long_names_get_slugs_a_gallery_accepts_and_stay_apart():
    first, second = "word " * 30 + "one", "word " * 30 + "two"
    assert slugify(first) != slugify(second)
    assert all(SAFE_NAME.fullmatch(slugify(name)) for name in (first, second))
    assert slugify("word " * 16) == "-".join(["word"] * 16)  # 79 characters: unchanged


def test_non_latin_categories_can_be_looked_up():
    dogs = CategorySet.from_names(["犬", "猫"])
    assert dogs.lookup("猫").id == 1 and dogs.lookup(dogs[0].slug).name == "犬"


@pytest.mark.parametrize("query", ["Hamster", "hamster", "HAMSTER", 1, "1", " hamster "])
def test_lookup_by_name_slug_id(categories, query):
    assert categories.lookup(query).name == "Hamster"


def test_lookup_by_synonym_and_slug(categories):
    assert categories.lookup("letter box").slug == "mailbox"
    assert categories.lookup("norwegian-elkhound").id == 0
    assert categories.lookup("elkhound").id == 0


def test_unknown_name_suggests_closest(categories):
    with pytest.raises(UnknownCategoryError, match="Did you mean: Hamster"):
        categories.lookup("hamstr")


def test_lookup_all_reports_every_unknown(categories):
    with pytest.raises(UnknownCategoryError) as error:
        categories.lookup_all(["hamster", "mailbx", "zzzzzz"])
    assert "mailbx" in str(error.value) and "zzzzzz" in str(error.value)


def test_out_of_range_id(categories):
    with pytest.raises(UnknownCategoryError, match="ids are 0..2"):
        categories.lookup(7)


def test_ids_must_be_dense_and_slugs_unique():
    with pytest.raises(ValueError):
        CategorySet([Category(1, "A", "a")])
    with pytest.raises(ValueError):
        CategorySet([Category(0, "A", "a"), Category(1, "A!", "a")])


def test_round_trip_through_dicts(categories):
    again = CategorySet.from_dicts(categories.to_dicts())
    assert list(again) == list(categories)


@pytest.mark.parametrize("text, reason", [
    ('[{"id": 0}]', "KeyError: 'name'"),
    ('[{"id": 1, "name": "A"}]', "ValueError: category ids must be 0..N-1"),
    ("{", "JSONDecodeError"),
    ('{"id": 0}', "TypeError"),
])
def test_a_damaged_classes_json_is_one_error_naming_the_file(tmp_path, text, reason):
    (tmp_path / "classes.json").write_text(text)
    with pytest.raises(CategoryFileError, match=f"classes.json does not list categories "
                                                f"\\({reason}"):
        CategorySet.read(tmp_path / "classes.json")
    with pytest.raises(CategoryFileError, match="No such file"):
        CategorySet.read(tmp_path / "missing.json")
