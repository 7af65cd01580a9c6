"""The words around a picture: titles, articles, plurals and stable blurbs."""

from pathlib import Path

import pytest

from ganpage.blurb import (
    TEMPLATES,
    Blurb,
    author_names,
    blurb_for,
    group_title,
    in_sentence,
    is_plural,
    is_uncountable,
    picture_count,
    plural_of,
    title_for,
    title_name,
    title_words,
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


@pytest.mark.parametrize("name", ["Hamster", "Bus", "Cactus", "Glass", "Rhinoceros",
                                  "Nest With Eggs", "Bust in Silhouette", "Triceratops",
                                  "Great Pyrenees", "Bouvier Des Flandres", "Patas"])
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


@pytest.mark.parametrize("name", ["Bacon", "Cooked Rice", "Cooking", "Garlic", "Luggage",
                                  "Meat On Bone", "Guacamole", "Red Wine", "Mashed Potato"])
def test_uncountable_names_take_no_article_and_no_plural_s(name):
    assert not is_plural(name)
    assert title_for(name) == f"This {name} Does Not Exist"
    assert with_article(name) == name.lower()
    assert plural_of(name) == f"pictures of {name.lower()}"
    assert group_title(name) == f"{name} That Does Not Exist"


@pytest.mark.parametrize(("name", "title", "article", "group"), [
    ("Ice Hockey", "This Ice Hockey Game Does Not Exist", "an ice hockey game",
     "Ice Hockey Games That Do Not Exist"),
    ("Tennis", "This Tennis Game Does Not Exist", "a tennis game",
     "Tennis Games That Do Not Exist"),
    ("Ping Pong", "This Ping Pong Game Does Not Exist", "a ping pong game",
     "Ping Pong Games That Do Not Exist"),
    ("Locked With Key", "This Lock With Key Does Not Exist", "a lock with key",
     "Locks With Key That Do Not Exist"),
])
def test_a_sport_or_a_participle_is_titled_by_its_noun(name, title, article, group):
    """"This Ice Hockey Does Not Exist" reads wrong: the emoji shows the game's stick and puck,
    and CLDR names its cricket sibling "Cricket Game"."""
    assert (title_for(name), with_article(name), group_title(name)) == (title, article, group)
    assert title_name(name) == title.removeprefix("This ").removesuffix(" Does Not Exist")
    texts = {blurb_for(f"id{i}", name, 7, 0.5).text for i in range(40)}
    assert not any(f"{name.lower()} does" in text or "pictures of" in text for text in texts)


@pytest.mark.parametrize(("name", "group"), [
    ("Cherries", "Cherries That Do Not Exist"), ("Hamster", "Hamsters That Do Not Exist"),
    ("Nut And Bolt", "Nuts And Bolts That Do Not Exist"), ("Dvd", "DVDs That Do Not Exist"),
    ("Battery", "Batteries That Do Not Exist"), ("Mouse", "Mice That Do Not Exist"),
    ("Game Die", "Game Dice That Do Not Exist"),
    ("Crane (bird)", "Cranes (bird) That Do Not Exist"),
    ("Teacup Without Handle", "Teacups Without Handle That Do Not Exist"),
    ("Black And Gold Garden Spider", "Black And Gold Garden Spiders That Do Not Exist"),
    ("Hen-of-the-woods", "Hens-of-the-woods That Do Not Exist"),
    ("Triceratops", "Triceratops That Do Not Exist"), ("Bacon", "Bacon That Does Not Exist"),
])
def test_a_categorys_pictures_together_have_a_plural_title(name, group):
    """A category page said "8 Cherries pictures that do not exist"."""
    assert group_title(name) == group


def test_picture_counts():
    assert [picture_count(n) for n in (0, 1, 2, 1204)] == [
        "0 pictures", "1 picture", "2 pictures", "1,204 pictures"]


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


def built_in_names() -> list[str]:
    """Every category name of the built-in models: emoji64's, then ImageNet-1k's (BigGAN)."""
    import json

    from ganpage.categories import imagenet_categories

    classes = Path(__file__).parents[1] / "src/ganpage/resources/models/emoji64/classes.json"
    emoji = [item["name"] for item in json.loads(classes.read_text())]
    return emoji + [category.name for category in imagenet_categories()]


def test_every_built_in_name_reads_right_in_its_titles_and_counts():
    """The title agrees with the plural check, the group title with the sentence's plural, and
    no plural is inflect's capitalised "Batterys" (it pluralises only lower case)."""
    import re

    for name in built_in_names():
        this, does = title_words(name)
        assert (this, does) == (("These", "Do") if is_plural(name) else ("This", "Does")), name
        assert title_for(name) == f"{this} {title_name(name)} {does} Not Exist", name
        group = group_title(name)
        said = (f"{in_sentence(name)} that does" if is_uncountable(name)
                else f"{plural_of(name)} that do")
        assert group.lower() == f"{said} not exist".lower(), name
        assert not group.lower().startswith("pictures of") and "{" not in group, name
        assert not re.search(r"[^aeiou]ys\b", group, re.IGNORECASE), name


def test_articles_plurals_and_titles_of_every_built_in_name_are_the_reviewed_ones():
    rows = [line.split("\t") for line in WORDS.read_text().splitlines()
            if not line.startswith("#")]
    assert [row[0] for row in rows] == built_in_names()
    words = (with_article, plural_of, title_for, group_title)
    changed = [(row, [word(row[0]) for word in words]) for row in rows
               if [word(row[0]) for word in words] != row[1:]]
    assert len(rows) == 1682 and changed == [], changed[:10]


def test_imagenet_names_keep_their_capitals_inside_a_sentence():
    """Sentences said "a norwegian elkhound" and "a granny smith": every ImageNet name keeps the
    capitals WordNet gives it, and every name in the shipped list is a built-in class's."""
    import json

    from ganpage.categories import imagenet_categories

    assert with_article("Norwegian Elkhound") == "a Norwegian elkhound"
    assert plural_of("Granny Smith") == "Granny Smiths"
    assert in_sentence("Petri Dish") == "Petri dish" and in_sentence("Loafer") == "loafer"
    shipped = Path(__file__).parents[1] / "src/ganpage/resources/sentence_names.json"
    names = {category.name.lower() for category in imagenet_categories()}
    listed = json.loads(shipped.read_text())["names"]
    assert len(listed) == 111 and {name.lower() for name in listed} <= names
