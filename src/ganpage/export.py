"""Turn a training run into a release folder that ``load_generator`` reads.

With the data set's classifier, the folder also ships it and ``category_scores.json`` (how well
the generator draws each category), so curation and ``--best-categories`` work out of the box.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ganpage.categories import CategorySet
from ganpage.category_scores import score_categories, write_category_scores
from ganpage.checkpoints import (
    CheckpointError,
    checkpoint_model_config,
    latest_checkpoint,
    load_checkpoint,
)
from ganpage.classifiers.loaded import check_same_classes
from ganpage.classifiers.trained import BUNDLED_FOLDER, load_classifier
from ganpage.models.cgan import CGANGenerator
from ganpage.models.loading import CATEGORY_SCORES, load_generator, save_model
from ganpage.runs import STYLES


def export_run(run_dir: Path, out: Path, model_id: str | None = None, card: str = "",
               classifier: Path | None = None) -> Path:
    """Save the EMA generator of the run's latest checkpoint as a model folder, with the data
    set's classifier (from ``ganpage train-classifier``) inside it when given."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise CheckpointError(f"{run_dir} has no checkpoint to export")
    payload = load_checkpoint(checkpoint)
    model_config = checkpoint_model_config(run_dir, payload)
    categories = CategorySet.read(run_dir / "classes.json")
    net = CGANGenerator(model_config)
    net.load_state_dict(payload["G_ema"])
    model_id = model_id or run_dir.name
    card = card or _default_card(model_id, run_dir, payload, categories)
    if classifier is not None:
        _bundle_classifier(classifier, categories, out / BUNDLED_FOLDER)
    (out / CATEGORY_SCORES).unlink(missing_ok=True)  # scored an older generator
    folder = save_model(out, architecture="ganpage-cgan", model_id=model_id,
                        config=model_config.to_dict(), net=net, categories=categories, card=card)
    if (run_dir / STYLES).is_file():
        shutil.copyfile(run_dir / STYLES, folder / STYLES)
    if classifier is not None:
        _rank_categories(folder, folder / BUNDLED_FOLDER)
    return folder


def _rank_categories(folder: Path, classifier_folder: Path) -> None:
    generator = load_generator(folder)
    scorer = load_classifier(classifier_folder)
    write_category_scores(folder, generator, score_categories(generator, scorer), scorer)


def _bundle_classifier(source: Path, categories: CategorySet, target: Path) -> None:
    """Copy a classifier folder into the model folder (staged, then renamed into place)."""
    check_same_classes(load_classifier(source), categories)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _default_card(model_id: str, run_dir: Path, payload: dict, categories: CategorySet) -> str:
    return (f"# {model_id}\n\nA class-conditional GAN trained with ganpage on "
            f"`{payload['config']['data']}` ({len(categories)} categories) for "
            f"{payload['images_seen'] / 1000:.1f} kimg (run `{run_dir.name}`).\n")
