"""A data set made of some classes of another: the ``classes`` with the most pictures (ties by
name, so the choice is the same on every machine) or ``classes`` spread evenly over the class
list. The pictures are copied, the manifest rows kept as they were (licences, sources, styles),
and the categories renumbered in the source's order. Written beside ``out`` and renamed into
place, so a killed run leaves no half data set.

    ganpage data subset data/emoji32 --classes 128 --out data/emoji32-top128
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from ganpage.atomic import atomic_write_text
from ganpage.categories import Category, CategorySet
from ganpage.data.dataset import CLASSES, MANIFEST, REPORT, DatasetError, picture_path

CHOICES = ("most", "spread")


def choose_classes(categories: CategorySet, counts: Counter, classes: int,
                   choose: str) -> list[Category]:
    """The chosen categories, in the source's order."""
    if choose == "most":
        ranked = sorted(categories, key=lambda c: (-counts[c.slug], c.name.lower()))
        return sorted(ranked[:classes], key=lambda c: c.id)
    if choose == "spread":
        step = len(categories) / classes
        return [categories[int(i * step)] for i in range(classes)]
    raise DatasetError(f"unknown choice {choose!r}; use {' or '.join(CHOICES)}")


def write_subset(data: Path, classes: int, out: Path, choose: str = "most") -> dict:
    """Copy ``classes`` classes of the data set ``data`` into a data set at ``out``; return
    its report."""
    if not (data / MANIFEST).is_file() or not (data / CLASSES).is_file():
        raise DatasetError(f"{data} is not a ganpage data set (no {MANIFEST}/{CLASSES})")
    categories = CategorySet.read(data / CLASSES)
    if not 2 <= classes <= len(categories):
        raise DatasetError(f"--classes must be 2..{len(categories)} for {data}, got {classes}")
    rows = [json.loads(line) for line in (data / MANIFEST).read_text().splitlines() if line]
    chosen = choose_classes(categories, Counter(row.get("class") for row in rows), classes,
                            choose)
    keep = {c.slug for c in chosen}
    rows = [row for row in rows if row.get("class") in keep]
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for row in rows:
        source = picture_path(data, row, keep)
        (staging / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, staging / row["path"])
    subset = CategorySet.from_names([c.name for c in chosen])
    counts = Counter(row["class"] for row in rows)
    source_report = _report(data)
    report = {"image_size": source_report.get("image_size"), "classes": len(subset),
              "images": len(rows), "images_per_class": {c.name: counts[c.slug] for c in chosen},
              "subset_of": str(data), "chosen_by": choose, "rejected_by_reason": {},
              "rejected": []}
    if "source_details" in source_report:  # the credits of a model trained on the subset
        report["source_details"] = _sets_in(source_report["source_details"], rows)
    atomic_write_text(staging / CLASSES, json.dumps(subset.to_dicts(), indent=1) + "\n")
    atomic_write_text(staging / MANIFEST, "".join(json.dumps(r) + "\n" for r in rows))
    atomic_write_text(staging / REPORT, json.dumps(report, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return report


def _report(data: Path) -> dict:
    """The source data set's report, or {} when it has none that reads."""
    try:
        report = json.loads((data / REPORT).read_text())
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _sets_in(details: dict[str, dict], rows: list[dict]) -> dict[str, dict]:
    """Each source set's details (package, licence, credit) with ``pictures`` counted in the
    subset's ``rows``; the counts of the source's build (matched, added, rejected) go."""
    pictures = Counter(row.get("source") for row in rows)
    kept = ("package", "integrity", "licence", "credit")
    return {name: {**{key: d[key] for key in kept if key in d}, "pictures": pictures[name]}
            for name, d in details.items()}
