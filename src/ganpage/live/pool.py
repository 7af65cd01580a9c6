"""Fresh pictures kept ready per category, so the random page never waits for the model.

A picture taken from the pool is gone (nobody else sees it as a fresh one); the drawing thread
refills the pool whenever no visitor is waiting for a picture of their own.
"""

from __future__ import annotations

import random
import threading
from collections import deque

from ganpage.recipe import Recipe


class FreshPool:
    """Up to ``size`` (recipe, encoded picture) pairs for each of ``num_classes`` categories."""

    def __init__(self, num_classes: int, size: int):
        self.size = size
        self._pictures: list[deque[tuple[Recipe, bytes]]] = [deque() for _ in range(num_classes)]
        self._stocked: set[int] = set()  # categories with at least one picture
        self._random = random.Random()
        self._lock = threading.Lock()

    def take(self) -> tuple[Recipe, bytes] | None:
        """A random category's picture (another category's if that one is empty), or None."""
        with self._lock:
            if not self._stocked:
                return None
            label = self._random.randrange(len(self._pictures))
            if label not in self._stocked:
                label = self._random.choice(tuple(self._stocked))
            pictures = self._pictures[label]
            picture = pictures.popleft()
            if not pictures:
                self._stocked.discard(label)
            return picture

    def wanted(self, limit: int) -> list[int]:
        """Up to ``limit`` labels to draw next, the emptiest categories first."""
        with self._lock:
            short = [(len(p), label) for label, p in enumerate(self._pictures)
                     if len(p) < self.size]
        if not short:
            return []
        fill = min(count for count, _ in short)
        first = [label for count, label in short if count == fill]
        self._random.shuffle(first)
        return first[:limit]

    def put(self, recipe: Recipe, picture: bytes) -> None:
        with self._lock:
            pictures = self._pictures[recipe.category.id]
            if len(pictures) < self.size:
                pictures.append((recipe, picture))
                self._stocked.add(recipe.category.id)

    def __len__(self) -> int:
        return sum(len(p) for p in self._pictures)
