"""``ganpage demo``: a small gallery from the built-in model, ready to serve."""

from __future__ import annotations

from pathlib import Path

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.generate import TruncationRange, choose_categories, generate, plan
from ganpage.models import load_generator
from ganpage.models.loading import builtin_models

DEMO_TRUNCATION = "0.5:0.8"


def build_demo_gallery(out: Path, model: str, per_category: int) -> int:
    """Generate ``per_category`` pictures of every category of ``model`` into ``out``."""
    if model not in builtin_models() and not Path(model).is_dir():
        raise GanpageError(
            f"the built-in model {model!r} is not installed in this copy of ganpage yet; "
            "pass --model with a model folder (see README: 'Train your own')"
        )
    generator = load_generator(model)
    categories = choose_categories(generator)
    jobs = plan(generator, categories, per_category, TruncationRange.parse(DEMO_TRUNCATION))
    with Gallery.open(out, create=True) as gallery:
        return generate(generator, gallery, jobs, batch_size=64)
