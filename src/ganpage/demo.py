"""``ganpage demo``: a small gallery from the built-in model, ready to serve."""

from __future__ import annotations

from pathlib import Path

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.generate import TruncationRange, choose_categories, generate, plan
from ganpage.models import load_generator
from ganpage.models.loading import builtin_models

DEMO_TRUNCATION = "0.5:0.8"


def build_demo_gallery(out: Path, model: str, per_category: int, best: int) -> int:
    """Generate ``per_category`` pictures of each of the ``best`` categories of ``model`` by its
    shipped scores into ``out``; all categories if ``best`` is 0 or the model ships none."""
    if model not in builtin_models() and not Path(model).is_dir():
        raise GanpageError(
            f"the built-in model {model!r} is not installed in this copy of ganpage yet; "
            "pass --model with a model folder (see README: 'Train your own')"
        )
    generator = load_generator(model)
    count = min(best, len(generator.categories))
    curated = count > 0 and bool(generator.category_scores)
    categories = choose_categories(generator, best=count if curated else None)
    jobs = plan(generator, categories, per_category, TruncationRange.parse(DEMO_TRUNCATION))
    with Gallery.open(out, create=True) as gallery:
        return generate(generator, gallery, jobs, batch_size=64)
