"""The whole gallery's showable pictures in memory, grouped by category: what a static build
(``static_site.py``) writes. The server reads the index as it goes instead (``catalog.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ganpage.gallery import Gallery, ImageRecord


@dataclass
class CategoryView:
    slug: str
    name: str
    records: list[ImageRecord] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)


@dataclass
class Snapshot:
    """The showable pictures at one moment, grouped by category (sorted by name)."""

    by_id: dict[str, ImageRecord]
    categories: dict[str, CategoryView]
    category_list: list[CategoryView]
    model_cards: dict[str, str]

    @classmethod
    def load(cls, gallery: Gallery, statuses: Sequence[str]) -> Snapshot:
        records = gallery.records(statuses)
        categories: dict[str, CategoryView] = {}
        for record in records:
            view = categories.setdefault(record.category,
                                         CategoryView(record.category, record.category_name))
            view.records.append(record)
        ordered = sorted(categories.values(), key=lambda v: v.name.lower())
        return cls({r.id: r for r in records}, categories, ordered, gallery.model_cards())

    def remove(self, image_id: str) -> None:
        """Take one picture out (and its category, if it was the last one)."""
        record = self.by_id.pop(image_id, None)
        if record is None:
            return
        view = self.categories[record.category]
        view.records = [r for r in view.records if r.id != image_id]
        if not view.records:
            del self.categories[record.category]
            self.category_list = [v for v in self.category_list if v.slug != record.category]
