"""``ganpage models`` and ``ganpage categories``: what models and categories there are."""

from __future__ import annotations

from typing import Annotated

import typer

from ganpage.defaults import DEFAULT_MODEL

app = typer.Typer()


@app.command()
def categories(
    model: Annotated[str, typer.Argument(help="Built-in name, model folder or HF repo id.")]
    = DEFAULT_MODEL,
    best: Annotated[int | None, typer.Option(
        min=1, help="Only the N best-drawn categories, best first, with their scores.")] = None,
) -> None:
    """List a model's categories: id, slug and display name.

    [bold]Examples[/bold]

    ganpage categories emoji64

    ganpage categories emoji64 --best 20
    """
    from ganpage.category_scores import best_categories, ranking
    from ganpage.models import load_generator

    generator = load_generator(model)
    if best is None:
        for item in generator.categories:
            typer.echo(f"{item.id:5d}  {item.slug:32s}  {item.name}")
        return
    best_categories(generator, best)  # the same checks as generate --best-categories
    for item in ranking(generator)[:best]:
        score = generator.category_scores[item.id]
        typer.echo(f"{item.id:5d}  {item.slug:32s}  {score:.3f}  {item.name}")


@app.command()
def models() -> None:
    """List the built-in models: what each draws, and which one is used when none is named.

    [bold]Example[/bold]

    ganpage models
    """
    from ganpage.models.loading import builtin_models
    from ganpage.web.about import shipped_card_data

    found = builtin_models()
    cards = shipped_card_data()
    for name, folder in found.items():
        typer.echo(f"{name}{' (default)' if name == DEFAULT_MODEL else ''}: "
                   f"{_described(cards.get(name))}  ({folder})")
    if not found:
        typer.echo("no built-in model is installed")


def _described(card: dict | None) -> str:
    """"128 things at 32x32, 1,938 kimg" from a built-in model's card.json."""
    if not card:
        return "no card data"
    size = card["image_size"]
    return f"{card['things']:,} things at {size}x{size}, {card['kimg']:,} kimg"
