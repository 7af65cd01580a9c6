"""The curation report (``ganpage curate --report report.html``): one self-contained HTML page,
every picture inlined as a small WebP data: URI, per category the kept and rejected pictures
with their scores and reasons, and a summary table of kept and rejected per reason."""

from __future__ import annotations

import base64
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from ganpage.atomic import atomic_write_text
from ganpage.curation.pipeline import CurationRun
from ganpage.gallery import ImageRecord
from ganpage.progress import progress_bar

TEMPLATES = Path(__file__).parent / "templates"
THUMBNAIL = 96  # pixels on the longer side; smaller pictures stay as they are
PER_GRID = 60  # pictures shown per category and status; the rest are counted
SHOWN_SCORES = ("class_probability", "class_rank", "training_distance", "ink", "darkest_side")


@dataclass
class Card:
    record: ImageRecord
    reason: str  # rule:<name>, review, manual; "" while pending
    data_uri: str  # "" when the file could not be read

    @property
    def scores(self) -> dict[str, float]:
        return {name: self.record.scores[name] for name in SHOWN_SCORES
                if isinstance(self.record.scores.get(name), int | float)}


@dataclass
class CategorySection:
    slug: str
    name: str
    kept: list[Card]
    rejected: list[Card]
    kept_count: int
    rejected_count: int
    pending_count: int


def thumbnail_uri(path: Path) -> str:
    """A picture file -> a data: URI of it as a small WebP ("" when unreadable)."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=80, method=4)
    except OSError:
        return ""
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def summary(records: list[ImageRecord]) -> list[tuple[str, int, int]]:
    """(reason, kept, rejected) per reason, most pictures first."""
    kept = Counter(r.decided_by for r in records if r.status == "approved")
    rejected = Counter(r.decided_by for r in records if r.status == "rejected")
    reasons = sorted(set(kept) | set(rejected), key=lambda k: (-kept[k] - rejected[k], k))
    return [(reason, kept[reason], rejected[reason]) for reason in reasons]


def sections(gallery_root: Path, records: list[ImageRecord],
             show_progress: bool = True) -> list[CategorySection]:
    """Per category (by name), the kept and rejected pictures, best class probability first."""
    by_category: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        by_category[record.category].append(record)
    result = []
    with progress_bar() as bar:
        task = bar.add_task("report", total=len(records), unit="img", stats="",
                            visible=show_progress)
        for slug, members in sorted(by_category.items(), key=lambda kv: kv[1][0].category_name):
            members.sort(key=lambda r: (-r.scores.get("class_probability", 0.0), r.id))
            grids = {}
            for status in ("approved", "rejected"):
                chosen = [r for r in members if r.status == status][:PER_GRID]
                grids[status] = [Card(r, r.decided_by,
                                      thumbnail_uri(gallery_root / r.relative_path))
                                 for r in chosen]
                bar.advance(task, len(chosen))
            counts = Counter(r.status for r in members)
            result.append(CategorySection(slug, members[0].category_name, grids["approved"],
                                          grids["rejected"], counts["approved"],
                                          counts["rejected"], counts["pending"]))
    return result


def render_report(gallery_root: Path, run: CurationRun, dry_run: bool = False,
                  show_progress: bool = True) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html"]))
    flags = Counter(flag for record in run.records for flag in record.flags)
    return environment.get_template("report.html").render(
        gallery=gallery_root.name or str(gallery_root), dry_run=dry_run,
        total=len(run.records), counts=Counter(r.status for r in run.records),
        summary=summary(run.records), flags=sorted(flags.items()), groups=len(run.groups),
        sections=sections(gallery_root, run.records, show_progress), per_grid=PER_GRID)


def write_report(path: Path, gallery_root: Path, run: CurationRun, dry_run: bool = False,
                 show_progress: bool = True) -> None:
    atomic_write_text(path, render_report(gallery_root, run, dry_run, show_progress))
