"""The words under a picture: a short blurb signed by an imaginary author (Faker).

Both are a pure function of the image id, so a permalink shows the same author every time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from faker import Faker

TEMPLATES = (
    "I have seen many {things}, but never this one. A neural network dreamt it up from seed "
    "{seed}, and no camera ever saw it.",
    "Look closely: every pixel of this {thing} was invented by a generator network that learned "
    "what {things} look like, then drew one that was never there.",
    "This {thing} has no owner, no address and no past. It was sampled at truncation "
    "{truncation:.2f}, where the network plays it safe rather than surprising.",
    "Somewhere between the real {things} it studied, the network found this one. Refresh the "
    "page and it will find another.",
    "My favourite {thing}, and it does not exist. Two networks argued about it, a forger and a "
    "critic, until the forger won.",
)

_faker = Faker("en_US")


@dataclass(frozen=True)
class Blurb:
    text: str
    author: str


def _pluralise(name: str) -> str:
    lower = name.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def blurb_for(image_id: str, category_name: str, seed: int, truncation: float) -> Blurb:
    """The blurb and author name of one picture; always the same for the same id."""
    number = int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big")
    _faker.seed_instance(number)
    template = TEMPLATES[number % len(TEMPLATES)]
    text = template.format(thing=category_name.lower(), things=_pluralise(category_name),
                           seed=seed, truncation=truncation)
    return Blurb(text=text, author=_faker.name())
