"""The about page (web/about.py): plain sentences for visitors from a built-in model's card
data, which pictures the site shows, the credits and the full card folded below; and the card,
the README and the about page stating the same figures (card.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ganpage.gallery import Gallery
from ganpage.web.about import demoted, how_it_was_made, shipped_card_data, story
from ganpage.web.config import SiteConfig
from ganpage.web.pages import PageRenderer

ROOT = Path(__file__).parents[1]
MODELS = ROOT / "src" / "ganpage" / "resources" / "models"
CARD = (MODELS / "emoji64" / "README.md").read_text()


def about_page(tmp_path: Path, cards: dict[str, str], **config: object) -> str:
    from fastapi.testclient import TestClient

    from ganpage.web.app import create_app

    with Gallery.open(tmp_path / "g", create=True) as gallery:
        for model, card in cards.items():
            gallery.record_model(model, card, 64, [])
    return TestClient(create_app(tmp_path / "g", SiteConfig(**config))).get("/about").text


def outside_the_cards(html: str) -> str:
    return re.sub(r"<details.*?</details>", "", html, flags=re.S)


def test_visitors_read_how_the_pictures_were_made_not_the_developers_card(tmp_path):
    """The page showed the card itself: "Status: 3500 kimg ... Training continues with
    `ganpage train --resume`", under its heading twice ("The model: emoji64", "emoji64")."""
    html = about_page(tmp_path, {"emoji64": CARD})
    visible = outside_the_cards(html)
    assert ("The pictures here were drawn by emoji64, a neural network that learnt to draw 682 "
            "kinds of things as 64x64 pictures in the style of emoji. It learnt from 3,274 emoji "
            "pictures from the Noto Emoji, Twemoji, OpenMoji and Fluent Emoji sets (credited "
            "below), training for 13.7 hours on an ordinary 2-core computer without a graphics "
            "card.") in visible
    for jargon in ("kimg", "CAS", "ganpage train", "Status:", "FID"):
        assert jargon not in visible, jargon
    assert "Credits: the art emoji64 learnt from" in visible
    assert '<a href="#model-card-1">The full model card</a>' in visible
    card = re.search(r'<details class="card" id="model-card-1"><summary>(.*?)</summary>(.*?)'
                     r"</details>", html, re.S)
    assert card and card[1] == "The full model card of emoji64 (for developers)"
    assert re.search(r"Training\s+continues with <code>ganpage train --resume</code>", card[2])
    assert "<h1" not in card[2] and "<h2" not in card[2] and "<h3>Data</h3>" in card[2]
    assert html.count(">emoji64<") == 0 and html.count("<h1") == 1  # the title once, the page's


def test_a_model_without_card_data_is_told_by_its_cards_first_paragraph(tmp_path):
    html = about_page(tmp_path, {"tiny": "# tiny\n\nA randomly initialised `test` model.\n\n"
                                         "## Training\n\nNone at all.\n"})
    assert ("<p>The pictures here were drawn by <strong>tiny</strong>. A randomly initialised "
            '<code>test</code> model. <a href="#model-card-1">Its model card</a> says more.</p>'
            ) in html
    assert "<h3>Training</h3>" in html and "Credits" not in html


@pytest.mark.parametrize(("statuses", "live", "said", "unsaid"), [
    (("approved",), False, "shown only once they are approved", "nobody has approved"),
    (("approved", "pending"), False, "its owner chose to show pending ones too",
     "shown only once they are approved"),
    (("approved",), True, "Pictures drawn live are made the moment someone asks for one",
     "nobody has approved"),
])
def test_the_page_says_which_pictures_are_shown(statuses, live, said, unsaid):
    """It said "kept only if they passed review" on every site, pending pictures shown or not."""
    renderer = PageRenderer(SiteConfig(statuses=statuses))
    html = renderer.about_html({"emoji64": CARD}, live=live)
    assert said in html and unsaid not in html
    assert ("Pictures drawn live" in html) == live
    assert "passed review" not in html


@pytest.mark.parametrize("model", sorted(shipped_card_data()))
def test_the_card_the_readme_and_the_about_page_state_the_same_figures(model):
    """One place for a built-in model's figures: its card.json. The about page is made from it;
    the card, the credits and the README must say the same (they said "four emoji sets, 3,274
    pictures" and "12 sets, 6,059" with nothing saying which model learnt from which)."""
    folder = MODELS / model
    data = shipped_card_data()[model]
    classes = json.loads((folder / "classes.json").read_text())
    config = json.loads((folder / "config.json").read_text())["config"]
    assert data["things"] == len(classes) == config["num_classes"]
    assert data["image_size"] == config["image_size"]
    readme = " ".join((ROOT / "README.md").read_text().split())  # lines joined
    card = " ".join((folder / "README.md").read_text().split())
    figures = {
        "things": rf"\b{data['things']:,}\b[^.]{{0,12}}things",
        "image size": f"{data['image_size']}x{data['image_size']}",
        "kimg": rf"\b{data['kimg']:,}".replace(",", ",?") + " kimg",
        "hours": rf"\b{data['training_hours']:.1f} hours",
        "cores": rf"\b{data['cpu_cores']}-core CPU",
        "pictures": rf"\b{data['training_pictures']:,} pictures",
        "blind test": rf"named {data['blind_test']['named']} of {data['blind_test']['of']} rows",
    }
    for fact, pattern in figures.items():
        assert re.search(pattern, card), f"the card's {fact}"
        assert re.search(pattern, readme), f"the README's {fact}"
    credits = (ROOT / "src" / "ganpage" / "resources" / "attributions" / f"{model}.md").read_text()
    rows = [line for line in credits.splitlines() if line.startswith("| ") and "---" not in line]
    for row in rows[1:]:  # every set the model learnt from is one the card data names
        assert any(name in row for name in data["data_sets"]), row
    for name in data["data_sets"]:
        assert name in card and name in readme and name in credits, name
    told = " ".join(story(model, (folder / "README.md").read_text()).sentences)
    size = data["image_size"]
    for figure in (f"{data['things']:,} kinds", f"{size}x{size}",
                   f"{data['training_pictures']:,} emoji pictures",
                   f"{data['training_hours']:.1f} hours", "2-core",
                   f"{data['blind_test']['named']} of {data['blind_test']['of']}"):
        assert figure in told, figure


def test_the_about_page_says_a_model_most_rows_of_which_were_named_can_be_named():
    """emoji32's blind test named 11 of 20 rows: "many are hard to name" no longer holds."""
    data = {**shipped_card_data()["emoji64"]}
    assert "many are hard to name" in " ".join(how_it_was_made("emoji64", data))
    data["blind_test"] = {"named": 11, "of": 20}
    told = " ".join(how_it_was_made("emoji64", data))
    assert "Most of the things it draws can be named" in told and "hard to name" not in told


def test_card_headings_go_under_the_pages():
    assert demoted('<h1>a</h1><h2 id="x">b</h2><h6>c</h6>') == (
        '<h2>a</h2><h3 id="x">b</h3><h6>c</h6>')
