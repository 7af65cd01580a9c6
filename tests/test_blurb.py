"""The words around a picture: titles, articles, plurals and stable blurbs."""

from pathlib import Path

import pytest

from ganpage.blurb import (
    TEMPLATES,
    Blurb,
    author_names,
    blurb_for,
    is_plural,
    plural_of,
    title_for,
    with_article,
)

WORDS = Path(__file__).parent / "data" / "blurb_words.tsv"


@pytest.mark.parametrize("name", ["Admission Tickets", "Jeans", "Sunglasses", "Peanuts",
                                  "Woman's Clothes", "Maracas", "Skis"])
def test_plural_names_get_plural_titles(name):
    assert is_plural(name)
    assert title_for(name) == f"These {name} Do Not Exist"
    assert with_article(name) == name.lower()
    assert plural_of(name) == name.lower()


@pytest.mark.parametrize("name", ["Hamster", "Bus", "Cactus", "Glass", "Tennis", "Rhinoceros",
                                  "Nest With Eggs", "Bust in Silhouette"])
def test_singular_names_ending_in_s_stay_singular(name):
    assert not is_plural(name)
    assert title_for(name) == f"This {name} Does Not Exist"


@pytest.mark.parametrize(("name", "article", "plural"), [
    ("Airplane", "an airplane", "airplanes"), ("Hamster", "a hamster", "hamsters"),
    ("Mouse", "a mouse", "mice"), ("Bus", "a bus", "buses"), ("Ox", "an ox", "oxen"),
    ("Nut And Bolt", "a nut and bolt", "nuts and bolts"),
    ("Teacup Without Handle", "a teacup without handle", "teacups without handle"),
    ("Ear Of Corn", "an ear of corn", "ears of corn"),
    ("Page Facing Up", "a page facing up", "pages facing up"),
    ("Leaf Fluttering In Wind", "a leaf fluttering in wind", "leaves fluttering in wind"),
    ("Burrito", "a burrito", "burritos"), ("Dango", "a dango", "dangos"),
    ("Banjo", "a banjo", "banjos"), ("Tomato", "a tomato", "tomatoes"),
    ("Roasted Sweet Potato", "a roasted sweet potato", "roasted sweet potatoes"),
])
def test_articles_and_plurals_of_singular_names(name, article, plural):
    assert with_article(name) == article
    assert plural_of(name) == plural


@pytest.mark.parametrize("name", ["Bacon", "Cooked Rice", "Tennis", "Ice Hockey", "Cooking",
                                  "Locked With Key", "Garlic", "Luggage", "Meat On Bone"])
def test_uncountable_names_take_no_article_and_no_plural_s(name):
    assert not is_plural(name)
    assert title_for(name) == f"This {name} Does Not Exist"
    assert with_article(name) == name.lower()
    assert plural_of(name) == f"pictures of {name.lower()}"


@pytest.mark.parametrize(("name", "title", "article", "plural"), [
    ("Japanese Castle", "This Japanese Castle Does Not Exist", "a Japanese castle",
     "Japanese castles"),
    ("French Fries", "These French Fries Do Not Exist", "French fries", "French fries"),
    ("Dvd", "This DVD Does Not Exist", "a DVD", "DVDs"),
    ("Statue Of Liberty", "This Statue Of Liberty Does Not Exist", "a Statue of Liberty",
     "Statues of Liberty"),
])
def test_proper_names_and_words_keep_their_capitals(name, title, article, plural):
    assert title_for(name) == title
    assert with_article(name) == article
    assert plural_of(name) == plural
    texts = {blurb_for(f"id{i}", name, 7, 0.5).text for i in range(40)}
    assert len(texts) == len(TEMPLATES)
    assert not any(name.lower() in text for text in texts)  # never "a japanese castle"


def test_blurb_is_a_pure_function_of_the_id():
    first = blurb_for("abc123", "Hamster", 7, 0.5)
    assert first == blurb_for("abc123", "Hamster", 7, 0.5)
    others = {blurb_for(f"id{i}", "Hamster", 7, 0.5) for i in range(40)}
    assert len({b.text for b in others}) == len(TEMPLATES)  # every template gets used
    assert len({b.author for b in others}) > 20


def test_every_template_reads_right_for_plural_and_singular_names():
    plural_texts = {blurb_for(f"id{i}", "Admission Tickets", 7, 0.5).text for i in range(40)}
    singular_texts = {blurb_for(f"id{i}", "Hamster", 7, 0.5).text for i in range(40)}
    assert len(plural_texts) == len(singular_texts) == len(TEMPLATES)
    for text in plural_texts:
        for wrong in ("admission tickets has", "They was", "them were", "them do",
                      "this admission", "This admission", "admission ticketss", "it do "):
            assert wrong not in text
    for text in singular_texts:
        for wrong in ("these", "them", "they", "hamster have", "hamster were"):
            assert wrong not in text
        assert "{" not in text


def test_blurbs_and_authors_are_fixed_strings_that_no_upgrade_changes():
    """Permalink pages must read the same forever: these were published."""
    assert blurb_for("021622b19183", "Hamster", 7, 0.5) == Blurb(
        "My favourite hamster, and it does not exist. Two networks argued about it, a forger and "
        "a critic, until the forger won.", "Amara Ibrahim")
    assert blurb_for("16ef990bf619", "Admission Tickets", 3, 0.65) == Blurb(
        "I have seen many admission tickets, but never these. A neural network dreamt them up "
        "from seed 3, and no camera ever saw them.", "Bianca Grant")
    assert [blurb_for(i, "Hamster", 7, 0.5).author for i in ("abc123", "2f7d5565ba8a")] == [
        "Julia Cohen", "Thomas Stewart"]


def test_author_names_are_shipped_and_distinct():
    first, last = author_names()
    assert (len(first), len(last)) == (110, 102)
    assert len(set(first)) == len(first) and len(set(last)) == len(last)
    assert (first[0], first[-1], last[0], last[-1]) == ("Ada", "Zoe", "Abbott", "Zimmermann")


def test_articles_and_plurals_of_every_shipped_class_are_unchanged():
    rows = [line.split("\t") for line in WORDS.read_text().splitlines()
            if not line.startswith("#")]
    changed = [(name, article, plural, with_article(name), plural_of(name))
               for name, article, plural in rows
               if (with_article(name), plural_of(name)) != (article, plural)]
    assert len(rows) == 1682 and changed == [], changed[:10]
