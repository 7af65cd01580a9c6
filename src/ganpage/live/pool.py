"""Fresh pictures kept ready per category, so the random page never waits for the model.

A picture taken from the pool is gone (nobody else gets it as a fresh one); the drawing thread
refills the pool whenever no visitor is waiting for a picture of their own, emptiest categories
first. Each entry is (recipe, encoded picture, rendered page), so taking one costs no drawing
and no rendering. When visitors come faster than the model draws and the pool runs dry, the
random page shows one of the last ``recent`` pictures given out again rather than make anyone
wait: as fresh as the model can keep up with, never slower.
"""

from __future__ import annotations

import random
import threading
from collections import deque

from ganpage.recipe import Recipe

Fresh = tuple[Recipe, bytes, bytes]  # recipe, encoded picture, its page


class FreshPool:
    """Up to ``size`` fresh pictures for each of ``num_classes`` categories."""

    def __init__(self, num_classes: int, size: int, recent: int = 256):
        self.size = size
        self._pictures: list[deque[Fresh]] = [deque() for _ in range(num_classes)]
        self._stocked: set[int] = set()  # categories with at least one picture
        self._recent: deque[Fresh] = deque(maxlen=recent)  # given out, newest last
        self._random = random.Random()
        self._lock = threading.Lock()
        self.reshown = 0  # pictures given out again because the pool was empty

    def take(self) -> Fresh | None:
        """A random category's picture (another category's if that one is empty; a recent
        one again if all are), or None before the first picture."""
        with self._lock:
            if not self._stocked:
                if not self._recent:
                    return None
                self.reshown += 1
                return self._random.choice(self._recent)
            label = self._random.randrange(len(self._pictures))
            if label not in self._stocked:
                label = self._random.choice(tuple(self._stocked))
            pictures = self._pictures[label]
            fresh = pictures.popleft()
            if not pictures:
                self._stocked.discard(label)
            self._recent.append(fresh)
            return fresh

    def take_category(self, label: int) -> list[Fresh]:
        """All the pictures kept of one category (a category's page), or [] if none."""
        with self._lock:
            pictures = self._pictures[label]
            taken = list(pictures)
            pictures.clear()
            self._stocked.discard(label)
            self._recent.extend(taken)
            return taken

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

    def put(self, fresh: Fresh) -> None:
        with self._lock:
            pictures = self._pictures[fresh[0].category.id]
            if len(pictures) < self.size:
                pictures.append(fresh)
                self._stocked.add(fresh[0].category.id)

    def stocked(self, label: int | None = None) -> bool:
        """Whether a fresh picture is kept (of category ``label``, if given): taking it then
        gives one the model draws again."""
        return bool(self._stocked) if label is None else label in self._stocked

    def __len__(self) -> int:
        return sum(len(p) for p in self._pictures)
