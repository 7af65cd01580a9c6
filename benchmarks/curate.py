"""Curation pictures/s on this machine, beside emoji64's generation speed in the same run:
emoji64 (its bundled classifier, 256-bit hashes, quality, and the memorisation search against
a 3,274-picture training set) and an ImageNet-size classifier (ResNet-50 at 224 px, random
weights) on 128 px pictures. Goal: at least 500 emoji64 pictures/s.

Each round generates a gallery of every emoji64 category (``ganpage generate``'s code, the
peer) and curates it twice, each time a fresh copy (every picture scored): the classifier
through onnxruntime (exported once, before the rounds, as a cached export is used) and through
PyTorch; medians of the rounds are reported.
The emoji data set cannot be built offline (its npm tarballs are downloaded), so unless --data
names a built one, the training set is synthesised: 3,274 pictures of coloured shapes at 64 px
(the search costs the same for any pictures of that count and size).
Usage: python benchmarks/curate.py [--per-category 1] [--rounds 3] [--resnet-pictures 64]
           [--threads N] [--data DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import median

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.categories import imagenet_categories  # noqa: E402
from ganpage.classifiers import open_classifier  # noqa: E402
from ganpage.curation.agreement import class_agreement  # noqa: E402
from ganpage.curation.duplicates import picture_hash  # noqa: E402
from ganpage.curation.memorisation import training_reference  # noqa: E402
from ganpage.curation.onnx_classifier import (  # noqa: E402
    EXPORT_MIN_PICTURES,
    OnnxClassifier,
    faster,
)
from ganpage.curation.pipeline import curate_gallery  # noqa: E402
from ganpage.curation.quality import quality_scores  # noqa: E402
from ganpage.curation.rules import Rules  # noqa: E402
from ganpage.curation.scoring import Scorers  # noqa: E402
from ganpage.data.dataset import DatasetWriter  # noqa: E402
from ganpage.gallery import Gallery, ImageRecord  # noqa: E402
from ganpage.generate import TruncationRange, choose_categories, generate, plan  # noqa: E402
from ganpage.models import load_generator  # noqa: E402
from ganpage.models.resnet import ResNet50  # noqa: E402
from helpers.curation import shapes  # noqa: E402

EMOJI_TRAINING_PICTURES = 3274


def timed(function, *args, **kwargs) -> tuple[object, float]:
    """(result, wall-clock seconds)."""
    result, wall, _ = timed_cpu(function, *args, **kwargs)
    return result, wall


def timed_cpu(function, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall-clock seconds, this process's CPU seconds): on a machine shared with other
    jobs the CPU seconds of one thread still say what the work costs."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started, time.process_time() - cpu


def synthetic_training_set(root: Path, count: int = EMOJI_TRAINING_PICTURES) -> Path:
    writer = DatasetWriter(root, 64)
    for i in range(count):
        writer.add(Image.fromarray(shapes(i, i % 3)), f"Shape {i % 682}", f"s{i}")
    writer.finish()
    return root


def emoji64(scratch: Path, per_category: int, rounds: int, data: Path | None) -> dict:
    """Rounds of (generate a gallery, curate it), interleaved so both see the same load."""
    generator = load_generator("emoji64")
    jobs = plan(generator, choose_categories(generator), per_category, TruncationRange(0.7, 0.7))
    given = data is not None
    data = data or synthetic_training_set(scratch / "training")
    reference, calibrate_s = timed(training_reference, data)
    classifier = open_classifier("emoji64")
    fast, export_s = timed(faster, classifier, EXPORT_MIN_PICTURES)  # into scratch's cache
    if not isinstance(fast, OnnxClassifier):
        raise SystemExit("onnxruntime could not run the classifier; see the warning above")
    rates: dict[str, list[float]] = defaultdict(list)
    for round_ in range(rounds):
        with Gallery.open(scratch / f"emoji{round_}", create=True) as gallery:
            made, generate_s, generate_cpu = timed_cpu(generate, generator, gallery, jobs,
                                                       batch_size=256, show_progress=False)
        rates["generate"].append(made / generate_s)
        rates["generate cpu"].append(made / generate_cpu)
        shutil.copytree(scratch / f"emoji{round_}", scratch / f"emoji{round_}-torch")
        for variant, folder, use_onnx in (("onnxruntime", f"emoji{round_}", True),
                                          ("pytorch", f"emoji{round_}-torch", False)):
            with Gallery.open(scratch / folder) as gallery:
                run, curate_s, curate_cpu = timed_cpu(
                    curate_gallery, gallery, Scorers.build(classifier, reference), Rules(),
                    show_progress=False, use_onnx=use_onnx)
            rates[f"curate {variant}"].append(run.scoring.scored / curate_s)
            rates[f"curate {variant} cpu"].append(run.scoring.scored / curate_cpu)
    with Gallery.open(scratch / "emoji0") as gallery:
        records = gallery.records()[:1024]
        pictures = np.stack([np.asarray(Image.open(gallery.path_of(r)).convert("RGB"))
                             for r in records])
    labels = np.array([r.label for r in records])
    stages = {
        "classifier (pytorch)": timed(class_agreement, classifier, pictures, labels)[1],
        "classifier (onnxruntime)": timed(class_agreement, fast, pictures, labels)[1],
        "hashes": timed(lambda: [picture_hash(p) for p in pictures])[1],
        "quality": timed(quality_scores, pictures)[1],
        "memorisation search": timed(reference.nearest, pictures)[1],
    }
    return {
        "pictures per round": made, "rounds": rounds,
        "training pictures": len(reference.features),
        "training set": "given" if given else "synthesised shapes",
        "generate pictures/s (median)": median(rates["generate"]),
        "generate pictures per CPU-second (median)": median(rates["generate cpu"]),
        **{f"curate pictures/s, {variant} (median)": median(rates[f"curate {variant}"])
           for variant in ("onnxruntime", "pytorch")},
        **{f"curate pictures/s, {variant} (rounds)": rates[f"curate {variant}"]
           for variant in ("onnxruntime", "pytorch")},
        **{f"curate / generate, {variant} (median of rounds)": median(
            c / g for c, g in zip(rates[f"curate {variant}"], rates["generate"], strict=True))
           for variant in ("onnxruntime", "pytorch")},
        **{f"curate pictures per CPU-second, {variant} (median)": median(
            rates[f"curate {variant} cpu"]) for variant in ("onnxruntime", "pytorch")},
        "classifier export s (once per machine)": export_s,
        "calibration s (once per run)": calibrate_s,
        "stage pictures/s (in memory)": {k: len(pictures) / v for k, v in stages.items()},
        "near-duplicate groups": len(run.groups),
    }


def resnet50(scratch: Path, count: int) -> dict:
    torch.manual_seed(0)
    weights = scratch / "resnet50" / "model.safetensors"
    weights.parent.mkdir()
    save_file(ResNet50(1000).state_dict(), weights)
    classifier = open_classifier(weights)
    categories = imagenet_categories()
    emoji = load_generator("emoji64")
    pictures = emoji.sample(list(range(count)), [0] * count, 0.7)
    with Gallery.open(scratch / "imagenet", create=True) as gallery:
        batch = []
        for i, picture in enumerate(pictures):
            big = Image.fromarray(picture).resize((128, 128), Image.Resampling.BICUBIC)
            buffer = io.BytesIO()
            big.save(buffer, "WEBP", quality=90)
            category = categories[i * 7 % 1000]
            batch.append((ImageRecord(id=f"r{i:05d}", category=category.slug,
                                      category_name=category.name, label=category.id,
                                      model_id="biggan-bench", seed=i, truncation=0.7,
                                      width=128, height=128, format="webp", sha256=""),
                          buffer.getvalue()))
        gallery.add(batch)
        run, curate_s = timed(curate_gallery, gallery, Scorers.build(classifier, None), Rules(),
                              show_progress=False)
    return {"pictures": run.scoring.scored, "curate pictures/s": run.scoring.scored / curate_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=1, help="emoji64 pictures each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--resnet-pictures", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--data", type=Path, help="a built emoji64 data set (ganpage data emoji)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = {"cpu": platform.processor() or platform.machine(),
               "torch threads": torch.get_num_threads(), "load average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["GANPAGE_CACHE"] = str(Path(scratch) / "cache")  # the export is measured
        results = {"machine": machine,
                   "emoji64": emoji64(Path(scratch), args.per_category, args.rounds,
                                      args.data),
                   "resnet50 224 px on 128 px pictures": resnet50(Path(scratch),
                                                                  args.resnet_pictures)}
    print(json.dumps(results, indent=1, default=lambda v: round(v, 2)))


if __name__ == "__main__":
    main()
