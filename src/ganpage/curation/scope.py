"""Which pictures a curate run after a few changes must decide again.

Since the last run's stamp (``stamp.py``) the change log names every picture added, removed or
decided, with its category. A picture's decision depends on its own scores and flags, on its
category (``top_k``, ``min_category_median``) and on its near-duplicate group, whose members
may sit in other categories. So the run decides again every picture of the categories linked
to the touched ones: the touched categories, those whose pictures' stored group changed, and,
repeatedly, the categories of every member of a group with a member among them. Pictures
elsewhere keep their decisions, which would come out the same. The near-duplicate search
itself sees every picture's hash (read without the rest of its row), so a new picture is
compared with the whole gallery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ganpage.curation.duplicates import GROUP_KEY
from ganpage.gallery import CurationStamp, Gallery


@dataclass
class HashEntry:
    """A picture as the near-duplicate search sees it: its id, category, and the ``dhash`` and
    ``duplicate_group`` of its scores."""

    id: str
    category: str
    scores: dict


def touched_categories(gallery: Gallery, stamp: CurationStamp, now: int) -> set[str] | None:
    """The categories of every picture the change log names after the stamp, up to ``now``;
    None, and the run reads the whole gallery, when the log does not reach back to the stamp
    (or the stamp is ahead of it), holds too many entries to read, or names a picture that is
    gone: a removed picture's near-duplicate group, which may reach other categories, is gone
    with its row."""
    if stamp.last_change > now:
        return None
    batch = gallery.changes_since(stamp.last_change)
    if batch is None or batch.last < now:
        return None
    named = {image for image, _ in batch.touched}
    if len(gallery.existing_ids(named)) < len(named):
        return None
    return {category for _, category in batch.touched}


def hash_entries(gallery: Gallery, loaded: dict) -> list:
    """Every scored picture for the near-duplicate search, in ``records`` order: the record
    itself where ``loaded`` holds it (id -> record), else a ``HashEntry`` read in SQL."""
    entries: list = []
    for image, category, dhash, group in gallery.duplicate_keys():
        record = loaded.get(image)
        if record is not None:
            if "dhash" in record.scores:
                entries.append(record)
        elif isinstance(dhash, str):
            scores = {"dhash": dhash} | ({GROUP_KEY: group} if isinstance(group, str) else {})
            entries.append(HashEntry(image, category, scores))
    return entries


def linked_categories(seed: Iterable[str], groups: list[list[int]], category_of: list[str]
                      ) -> set[str]:
    """``seed`` and every category joined to it through near-duplicate groups (positions into
    ``category_of``), transitively."""
    groups_in: dict[str, list[int]] = defaultdict(list)
    for number, members in enumerate(groups):
        for position in members:
            groups_in[category_of[position]].append(number)
    linked = set(seed)
    frontier, seen = list(linked), set()
    while frontier:
        for number in groups_in.get(frontier.pop(), []):
            if number in seen:
                continue
            seen.add(number)
            for position in groups[number]:
                if category_of[position] not in linked:
                    linked.add(category_of[position])
                    frontier.append(category_of[position])
    return linked
