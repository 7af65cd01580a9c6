"""The words around a picture: its title ("This X Does Not Exist", or "These Xs Do Not Exist"),
the title of a category's pictures together ("Hamsters That Do Not Exist") and a short blurb
signed by an imaginary author.

All are pure functions of the image id and category name that no dependency upgrade changes,
so a permalink reads the same forever: authors come from a shipped name list
(``resources/author_names.json``), plural forms and articles from ``inflect`` at the exact
version pinned in pyproject.toml, and tests/test_blurb.py holds fixed expected strings.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources

import inflect

# {this}/{it}/... are filled in for a singular ("Hamster") or a plural ("Admission Tickets") name.
TEMPLATES = (
    "I have seen many {things}, but never {this_one}. A neural network dreamt {it} up from seed "
    "{seed}, and no camera ever saw {it}.",
    "Look closely: every pixel of {this} {thing} was invented by a generator network that learned "
    "what {things} look like, then drew {one} that {was} never there.",
    "{This} {thing} {has} no owner, no address and no past. {They} {was} sampled at truncation "
    "{truncation:.2f}, where the network plays it safe rather than surprising.",
    "Somewhere between the real {things} it studied, the network found {this_one}. Refresh the "
    "page and it will find {another}.",
    "My favourite {thing}, and {they} {does} not exist. Two networks argued about {it}, a forger "
    "and a critic, until the forger won.",
)

# An imported picture (`ganpage label`) has no seed or truncation to speak of.
SEEDLESS_TEMPLATES = tuple(t for t in TEMPLATES if "{seed}" not in t and "{truncation" not in t)

SINGULAR_WORDS = {"this": "this", "this_one": "this one", "it": "it", "they": "it", "one": "one",
                  "was": "was", "has": "has", "does": "does", "another": "another"}
PLURAL_WORDS = {"this": "these", "this_one": "these", "it": "them", "they": "they", "one": "some",
                "was": "were", "has": "have", "does": "do", "another": "others"}
# Endings of singular nouns that end in "s": glass, cactus, tennis, rhinoceros; and the plurals
# that share the "is" ending.
SINGULAR_S_ENDINGS = ("ss", "us", "is", "os")
PLURALS_IN_IS = {"skis", "taxis", "kiwis", "bikinis", "emojis", "alibis"}
# Words after the head noun: "Nest With Eggs" is one nest, "Teacup Without Handle" one teacup,
# "Page Facing Up" one page, "Crane (bird)" one crane.
PHRASE_BREAKS = (" without ", " with ", " of ", " in ", " on ", " facing ", " fluttering ", " (")
# Names that are no countable thing's name, and the noun their titles and sentences say
# instead: sports whose emoji show their gear (CLDR names the cricket one "Cricket Game", so
# the others read alike: not "This Ice Hockey Does Not Exist") and a participle.
NOUN_FORMS = {"badminton": "Badminton Game", "bowling": "Bowling Game",
              "field hockey": "Field Hockey Game", "ice hockey": "Ice Hockey Game",
              "lacrosse": "Lacrosse Game", "locked with key": "Lock With Key",
              "ping pong": "Ping Pong Game", "tennis": "Tennis Game"}
# Heads that are not countable things (foods, materials, activities): "this bacon", never "a
# bacon" or "bacons"; their plural reads "pictures of bacon", their group title "Bacon That
# Does Not Exist".
UNCOUNTABLE_HEADS = {"bacon", "bread", "broccoli", "butter", "carbonara", "consomme",
                     "construction", "cooking", "corn", "dough", "eggnog", "food", "garlic",
                     "guacamole", "hay", "ice", "liquid", "lotion", "luggage", "mail", "mate",
                     "meat", "perfume", "popcorn", "powder", "rapeseed", "rice", "sake", "salt",
                     "sauce", "soap", "spaghetti", "spray", "sunscreen", "sushi", "thatch",
                     "tissue", "velvet", "wine", "wood", "wool", "yarn"}
UNCOUNTABLE_NAMES = {"mashed potato"}  # one roasted potato, but no mashed potatoes
# Names ending in "s" that name one thing (ImageNet's), with the plural no rule gives.
SINGULAR_NAMES = {"bicycle-built-for-two": "bicycles-built-for-two",
                  "bouvier des flandres": "bouviers des flandres",
                  "great pyrenees": "great pyrenees", "hen-of-the-woods": "hens-of-the-woods",
                  "patas": "patas", "triceratops": "triceratops"}
# Nouns whose plural inflect gets wrong ("game dies", "kuvaszzes", "monarches", "dobermen").
NOUN_PLURALS = {"die": "dice", "doberman": "dobermans", "kuvasz": "kuvaszok",
                "monarch": "monarchs"}
# Names and words that keep their capitals inside a sentence ("a Japanese castle", "a DVD").
# ImageNet's are in ``resources/sentence_names.json``, as WordNet spells them ("Norwegian
# elkhound", "Granny Smith", "Petri dish").
PROPER_NAMES = {name.lower(): name for name in ("Kaaba", "Model T", "Statue of Liberty",
                                                 "Tokyo Tower")}
PROPER_NAMES |= {name.lower(): name for name in json.loads(
    (resources.files("ganpage") / "resources" / "sentence_names.json").read_text("utf-8"))["names"]}
PROPER_WORDS = {word.lower(): word for word in (
    "American", "CD", "Christmas", "DVD", "French", "Hindu", "iPod", "Japanese", "Shinto",
    "T-rex", "Tanabata")}
# The -o nouns whose usual plural is -oes. inflect gives -oes to every consonant + o noun it
# does not know ("burritoes", "dangoes"); the rest of them take -os.
PLURALS_IN_OES = {"buffalo", "echo", "hero", "mango", "mosquito", "potato", "tomato", "tornado",
                  "torpedo", "veto", "volcano", "domino"}

_inflect = inflect.engine()


@dataclass(frozen=True)
class Blurb:
    text: str
    author: str


def is_plural(category_name: str) -> bool:
    """Whether a category's display name is a plural noun phrase ("Admission Tickets").

    A heuristic on the head noun's ending, right for the built-in models' names.
    """
    noun = _noun(category_name)
    if noun.lower() in SINGULAR_NAMES:
        return False
    head_noun = _head_noun(noun)
    if head_noun in PLURALS_IN_IS:
        return True
    return head_noun.endswith("s") and not head_noun.endswith(SINGULAR_S_ENDINGS)


def is_uncountable(category_name: str) -> bool:
    """Whether the name is a mass noun or an activity ("Bacon", "Cooked Rice", "Cooking")."""
    noun = _noun(category_name)
    return noun.lower() in UNCOUNTABLE_NAMES or _head_noun(noun) in UNCOUNTABLE_HEADS


def in_sentence(category_name: str) -> str:
    """The name as it reads inside a sentence: lower case but for proper names and words
    ("Japanese Castle" -> "Japanese castle", "Dvd" -> "DVD"), a sport as its game ("ice
    hockey game")."""
    lower = _noun(category_name).lower()
    return PROPER_NAMES.get(lower) or display_name(lower)


def title_name(category_name: str) -> str:
    """The name as a title says it: "Dvd" -> "DVD", "Ice Hockey" -> "Ice Hockey Game"."""
    return NOUN_FORMS.get(category_name.lower()) or display_name(category_name)


def _noun(category_name: str) -> str:
    """The noun phrase a name stands for: itself, or its ``NOUN_FORMS`` entry."""
    return NOUN_FORMS.get(category_name.lower(), category_name)


def _head_noun(category_name: str) -> str:
    """"Teacup Without Handle" -> "teacup", "Nut And Bolt" -> "nut", "Black And Gold Garden
    Spider" -> "spider"."""
    head = _conjuncts(_split_head(category_name.lower())[0])[0]
    return head.split()[-1] if head.split() else ""


def _conjuncts(head: str) -> list[str]:
    """"nut and bolt" -> ["nut", "bolt"]: nouns joined by "and", each one word; else the head
    whole ("black and gold garden spider": adjectives joined)."""
    parts = re.split(r" and ", head, flags=re.IGNORECASE)
    return parts if len(parts) > 1 and all(" " not in part for part in parts) else [head]


def _split_head(phrase: str) -> tuple[str, str]:
    """"teacup without handle" -> ("teacup", " without handle"), in any case."""
    lower = phrase.lower()
    cut = min((lower.find(b) for b in PHRASE_BREAKS if b in lower), default=len(phrase))
    return phrase[:cut], phrase[cut:]


def _plural_noun(noun: str) -> str:
    """The plural of a noun phrase's last word: "computer mouse" -> "computer mice"."""
    *before, last = noun.split(" ")
    lower = last.lower()
    if lower in NOUN_PLURALS:
        plural = _same_case(NOUN_PLURALS[lower], last)
    elif last.isupper():  # inflect writes "DVDS"
        plural = last + "s"
    else:  # inflect's rules are for lower case ("Battery" -> "Batterys"); "iPod" is kept
        plural = _same_case(_inflect.plural_noun(last if last[1:] != last[1:].lower()
                                                  else lower), last)
        # inflect doubles the s of nouns it cannot inflect ("tennis" -> "tenniss"): keep them
        if plural.lower() == lower + "s" and lower.endswith("s"):
            plural = last
        elif plural.lower() == lower + "es" and lower.endswith("o") and \
                lower not in PLURALS_IN_OES:
            plural = last + "s"
    return " ".join([*before, plural])


def _same_case(word: str, like: str) -> str:
    """``word`` capitalised where ``like`` is, word by word: ("hens-of-the-woods",
    "Hen-of-the-woods") -> "Hens-of-the-woods"."""
    words, likes = word.split(" "), like.split(" ")
    if len(words) != len(likes):
        return word
    return " ".join(w[:1].upper() + w[1:] if model[:1].isupper() else w
                    for w, model in zip(words, likes, strict=True))


def _plural_phrase(phrase: str) -> str:
    """The plural of a singular noun phrase, in its own case: "Nut And Bolt" -> "Nuts And
    Bolts", "teacup without handle" -> "teacups without handle", "Crane (bird)" -> "Cranes
    (bird)"."""
    if phrase.lower() in SINGULAR_NAMES:
        return _same_case(SINGULAR_NAMES[phrase.lower()], phrase)
    head, rest = _split_head(phrase)
    parts = re.split(r"( and )", head, flags=re.IGNORECASE)
    if len(_conjuncts(head)) > 1:
        return "".join(part if i % 2 else _plural_noun(part) for i, part in enumerate(parts)) \
            + rest
    return _plural_noun(head) + rest


def plural_of(category_name: str) -> str:
    """The plural of a display name, as in a sentence: "mouse" -> "mice", "nut and bolt" ->
    "nuts and bolts", "teacup without handle" -> "teacups without handle", "glasses" stays,
    "bacon" -> "pictures of bacon"."""
    lower = in_sentence(category_name)
    if is_plural(category_name):
        return lower
    if is_uncountable(category_name):
        return f"pictures of {lower}"
    return _plural_phrase(lower)


def title_words(category_name: str) -> tuple[str, str]:
    """The words around the name in the title: ("This", "Does") or ("These", "Do")."""
    return ("These", "Do") if is_plural(category_name) else ("This", "Does")


def title_for(category_name: str) -> str:
    """The page title: "This Hamster Does Not Exist", "These Admission Tickets Do Not Exist",
    "This Ice Hockey Game Does Not Exist"."""
    this, does = title_words(category_name)
    return f"{this} {title_name(category_name)} {does} Not Exist"


def group_title(category_name: str) -> str:
    """The title of a category's pictures together: "Hamsters That Do Not Exist", "Cherries
    That Do Not Exist", "Bacon That Does Not Exist", "Ice Hockey Games That Do Not Exist"."""
    name = title_name(category_name)
    if is_uncountable(category_name):
        return f"{name} That Does Not Exist"
    return f"{name if is_plural(category_name) else _plural_phrase(name)} That Do Not Exist"


def picture_count(count: int) -> str:
    """"1 picture", "1,204 pictures"."""
    return f"{count:,} picture{'' if count == 1 else 's'}"


def display_name(category_name: str) -> str:
    """The name for headings, with proper words spelt right: "Dvd" -> "DVD"."""
    return " ".join(PROPER_WORDS.get(word.lower(), word) for word in category_name.split(" "))


def with_article(category_name: str) -> str:
    """The name as in a sentence with "a"/"an" ("an airplane"), or bare when plural or
    uncountable ("jeans", "bacon")."""
    lower = in_sentence(category_name)
    bare = is_plural(category_name) or is_uncountable(category_name)
    return lower if bare else _inflect.a(lower)


@functools.cache
def author_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, last names) of the imaginary authors, as shipped."""
    data = json.loads((resources.files("ganpage") / "resources" / "author_names.json")
                      .read_text(encoding="utf-8"))
    return tuple(data["first"]), tuple(data["last"])


def author_for(image_id: str) -> str:
    """The author of a picture's blurb: a first and a last name picked by two more 32-bit
    pieces of the id's sha256 (the first 8 bytes pick the template)."""
    digest = hashlib.sha256(image_id.encode()).digest()
    first, last = author_names()
    return (f"{first[int.from_bytes(digest[8:12], 'big') % len(first)]} "
            f"{last[int.from_bytes(digest[12:16], 'big') % len(last)]}")


def blurb_for(image_id: str, category_name: str, seed: int | None, truncation: float) -> Blurb:
    """The blurb and author name of one picture; always the same for the same id. A picture
    without a seed (imported) gets a blurb that names neither seed nor truncation."""
    number = int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big")
    words = PLURAL_WORDS if is_plural(category_name) else SINGULAR_WORDS
    capitals = {key.capitalize(): value.capitalize() for key, value in words.items()}
    templates = TEMPLATES if seed is not None else SEEDLESS_TEMPLATES
    template = templates[number % len(templates)]
    text = template.format(thing=in_sentence(category_name), things=plural_of(category_name),
                           seed=seed, truncation=truncation, **words, **capitals)
    return Blurb(text=text, author=author_for(image_id))
