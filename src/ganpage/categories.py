"""Categories: display names <-> class ids <-> URL slugs, with forgiving lookup.

A model's classes are a ``CategorySet``; lookups accept a display name, slug, synonym or id and
fail with the closest matches suggested, never by silently dropping a name.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ganpage.errors import GanpageError

SLUG_LENGTH = 80  # the longest slug a gallery accepts as a folder name (gallery.SAFE_NAME)


class UnknownCategoryError(GanpageError, LookupError):
    """A category name that matches nothing; the message lists the closest names."""


class CategoryFileError(GanpageError):
    """A ``classes.json`` that is missing or does not list categories."""


def slugify(name: str) -> str:
    """'Norwegian Elkhound' -> 'norwegian-elkhound': ASCII letters, digits and hyphens, at most
    ``SLUG_LENGTH`` characters (a folder name and a URL part).

    Where that would lose letters or digits (no ASCII form: '犬', 'Straße'; or the tail of a
    long name), 8 hex digits of the name's hash follow, so such names stay apart: '犬' ->
    'category-…', '猫' -> 'category-…'. Names that differ only in case, accents or punctuation
    ('Cat', 'cat', 'Pâté', 'pate') share a slug; importers refuse that with a message.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "category"
    if len(slug) <= SLUG_LENGTH and not _has_non_ascii_letters(name):
        return slug
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", name).casefold())
    digest = hashlib.sha256("-".join(words).encode()).hexdigest()[:8]
    return f"{slug[:SLUG_LENGTH - 9].rstrip('-')}-{digest}"


def _has_non_ascii_letters(name: str) -> bool:
    """Whether a letter or digit of ``name`` has no ASCII form (accents alone do not count)."""
    return any(ch.isalnum() and not ch.isascii() for ch in unicodedata.normalize("NFKD", name))


def _lookup_key(text: str) -> str:
    return slugify(text).replace("-", " ")


@dataclass(frozen=True)
class Category:
    """One class of a model: its integer id, display name and slug (plus optional synonyms)."""

    id: int
    name: str
    slug: str
    synonyms: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "slug": self.slug,
                "synonyms": list(self.synonyms)}


class CategorySet(Sequence[Category]):
    """An ordered list of categories (index == class id) with lookup by name, slug or id."""

    def __init__(self, categories: Iterable[Category]):
        self._items = list(categories)
        for index, category in enumerate(self._items):
            if category.id != index:
                raise ValueError(f"category ids must be 0..N-1 in order; {category} is at {index}")
        self._by_key: dict[str, Category] = {}
        for category in self._items:
            for key in (category.name, category.slug, *category.synonyms):
                self._by_key.setdefault(_lookup_key(key), category)
        slugs = [c.slug for c in self._items]
        if len(set(slugs)) != len(slugs):
            raise ValueError("category slugs must be unique")

    @classmethod
    def from_names(cls, names: Sequence[str]) -> CategorySet:
        """Categories numbered in the order given, slugs made from the names."""
        return cls(Category(i, name, slugify(name)) for i, name in enumerate(names))

    @classmethod
    def from_dicts(cls, rows: Sequence[dict]) -> CategorySet:
        """Inverse of ``to_dicts`` (the ``classes.json`` format)."""
        return cls(
            Category(int(r["id"]), r["name"], r.get("slug") or slugify(r["name"]),
                     tuple(r.get("synonyms", ())))
            for r in rows
        )

    @classmethod
    def read(cls, path: Path) -> CategorySet:
        """The categories of a ``classes.json`` (a model's or a data set's, maybe from
        elsewhere); a missing or damaged one is one CategoryFileError naming the problem."""
        try:
            return cls.from_dicts(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            reason = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
            raise CategoryFileError(f"{path} does not list categories ({reason}); restore it "
                                    "or re-make the folder it belongs to") from None

    def to_dicts(self) -> list[dict]:
        return [c.to_dict() for c in self._items]

    def __getitem__(self, index):  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._items)

    def by_slug(self, slug: str) -> Category | None:
        """The category with exactly this slug, or None."""
        found = self._by_key.get(_lookup_key(slug))
        return found if found is not None and found.slug == slug else None

    def lookup(self, query: str | int) -> Category:
        """Find a category by id, name, slug or synonym; raise with suggestions if none."""
        if isinstance(query, int) or (isinstance(query, str) and query.strip().isdigit()):
            index = int(query)
            if 0 <= index < len(self._items):
                return self._items[index]
            raise UnknownCategoryError(f"no category with id {index} (ids are 0..{len(self) - 1})")
        found = self._by_key.get(_lookup_key(query))
        if found is None:
            raise UnknownCategoryError(self._unknown_message(query))
        return found

    def lookup_all(self, queries: Iterable[str | int]) -> list[Category]:
        """Look up every query; report all unknown names at once."""
        found, problems = [], []
        for query in queries:
            try:
                found.append(self.lookup(query))
            except UnknownCategoryError as error:
                problems.append(str(error))
        if problems:
            raise UnknownCategoryError("; ".join(problems))
        return found

    def _unknown_message(self, query: str) -> str:
        close = difflib.get_close_matches(_lookup_key(query), list(self._by_key), n=3, cutoff=0.5)
        names = list(dict.fromkeys(self._by_key[key].name for key in close))  # closest first
        hint = f" Did you mean: {', '.join(names)}?" if names else ""
        return f"unknown category {query!r}.{hint} (`ganpage categories MODEL` lists them)"


@functools.cache
def imagenet_categories() -> CategorySet:
    """The 1000 ImageNet-1k classes (ids 0..999 in training order, WordNet ids as synonyms)."""
    text = (resources.files("ganpage") / "resources" / "imagenet1k.tsv").read_text()
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    names = [row[2] for row in rows]
    slugs = [slugify(name) for name in names]
    return CategorySet(
        Category(int(index), name, slug, (wnid, *[s for s in synonyms.split("|") if s]))
        for (index, wnid, name, synonyms), slug in zip(rows, slugs, strict=True)
    )


def imagenet_presets() -> dict[str, list[str]]:
    """Preset name -> the exclusion groups it applies (see resources/imagenet_presets.json)."""
    return _presets_file()["presets"]


def preset_categories(categories: CategorySet, preset: str) -> list[Category]:
    """The categories a preset keeps; unknown presets fail with the list of known ones."""
    data = _presets_file()
    if preset not in data["presets"]:
        raise UnknownCategoryError(
            f"unknown preset {preset!r}; known: {', '.join(data['presets'])}")
    excluded = {wnid for group in data["presets"][preset] for wnid in data["exclude"][group]}
    return [c for c in categories if not excluded.intersection(c.synonyms[:1])]


@functools.cache
def _presets_file() -> dict:
    return json.loads((resources.files("ganpage") / "resources" / "imagenet_presets.json")
                      .read_text())
