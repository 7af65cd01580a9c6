"""The about page's words for visitors: how each model's pictures were made, in a few plain
sentences, from the figures beside a built-in model's card (``card.json``, the one place the
card, the README and this page take them from) or, for any other model, its card's opening
paragraph; the full card is shown below them, folded, its headings under the page's."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

CARD_DATA = "card.json"


@dataclass(frozen=True)
class ModelStory:
    """What the about page says of one model: ``sentences`` (plain text), or, when the model
    has no card data, ``opening`` (the card's first paragraph, Markdown); ``card`` is the rest
    of the card (Markdown, without its title)."""

    model: str
    sentences: tuple[str, ...]
    opening: str
    card: str


@functools.cache
def shipped_card_data() -> dict[str, dict]:
    """Built-in model name -> the figures of its card (``card.json`` in its folder). Listed,
    not looked up, so no model id from a gallery ever becomes a path (and no torch import:
    the serving parent never loads it)."""
    root = resources.files("ganpage") / "resources" / "models"
    return {item.name: json.loads((item / CARD_DATA).read_text(encoding="utf-8"))
            for item in root.iterdir() if (item / CARD_DATA).is_file()}


def story(model: str, card: str) -> ModelStory:
    """The about page's account of ``model`` whose card (Markdown) is ``card``."""
    body = _without_title(card)
    data = shipped_card_data().get(model)
    if data is not None:
        return ModelStory(model, how_it_was_made(model, data), "", body)
    opening = body.strip().split("\n\n", 1)[0]
    return ModelStory(model, (), "" if opening.startswith(("#", "|", "!")) else opening, body)


def how_it_was_made(model: str, data: dict) -> tuple[str, ...]:
    """A few plain sentences from a card's figures, for people who never trained a network."""
    size = data["image_size"]
    sentences = [
        f"The pictures here were drawn by {model}, a neural network that learnt to draw "
        f"{data['things']:,} kinds of things as {size}x{size} pictures in the style of "
        f"{data['style']}.",
        f"It learnt from {data['training_pictures']:,} {data['style']} pictures from the "
        f"{_listed(data['data_sets'])} sets (credited below), training for "
        f"{data['training_hours']:.1f} hours on an ordinary {data['cpu_cores']}-core computer "
        "without a graphics card.",
    ]
    if "blind_test" in data:
        test = data["blind_test"]
        sentences.append(
            ("Most of the things it draws can be named from its pictures without their title"
             if test["named"] * 2 > test["of"] else
             "Its pictures have each thing's colours and rough shape, but many are hard to name "
             "without their title")
            + f": in a blind test a person named {test['named']} of {test['of']} things from "
            "its pictures alone.")
    return tuple(sentences)


def _listed(names: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _without_title(card: str) -> str:
    """The card without its first line when that is its ``# title`` (the page names the model
    already)."""
    first, _, rest = card.lstrip().partition("\n")
    return rest.lstrip("\n") if first.startswith("# ") else card


def demoted(html: str, levels: int = 1) -> str:
    """Rendered card HTML with every heading ``levels`` lower (h2 -> h3), so the card's
    sections sit under the page's own (its title is left out: the page names the model)."""
    return re.sub(r"<(/?)h([1-6])([ >])",
                  lambda m: f"<{m[1]}h{min(int(m[2]) + levels, 6)}{m[3]}", html)
