"""Rendered picture pages kept in a worker: ``PageCache`` (by id, bounded in bytes, not in
pictures) and ``RandomPages``, the random page ``/`` that costs about the same at a million
pictures as at a thousand.

At a thousand pictures every page is in the cache and ``/`` renders nothing; at a million a
random pick is almost never cached, and rendering every one (~0.5 ms) would cut ``/``'s
requests/s several times. So renders for ``/`` get a share of the worker's CPU time
(``RENDER_SHARE``; CPU, not wall-clock, time: on a busy machine a worker gets a fraction of a
core, and a wall-clock share would be a larger share of what it gets): within it every ``/`` is
an independent random pick, as the original site's was; past it under heavy load, a page drawn
for ``/`` a moment ago is sent again (``RECENT`` of them are kept). Those were random picks
themselves, so each picture stays equally likely.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Collection

from ganpage.gallery import ImageRecord
from ganpage.lru import LRUBytes
from ganpage.web.catalog import Catalog

CACHE_BYTES = 32 * 2**20  # rendered pages kept per worker (about 2.3 kB each: ~14,000)
RENDER_SHARE = 0.1  # of a worker's CPU time that renders for `/` may take under load
RENDER_BURST = 0.05  # CPU seconds of rendering that may come at once after a quiet spell
RECENT = 1024  # pages drawn for `/` kept to send again past the render share


class PageCache(LRUBytes):
    """Rendered pages by picture id, the least recently used out first past ``max_bytes``."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        super().__init__(max_bytes=max_bytes)


class RenderBudget:
    """Seconds of rendering allowed: ``share`` of the time ``clock`` counted since (by default
    the process's CPU time), at most ``burst`` saved up."""

    def __init__(self, share: float = RENDER_SHARE, burst: float = RENDER_BURST,
                 clock: Callable[[], float] = time.process_time):
        self.share, self.burst, self.clock = share, burst, clock
        self.left = burst
        self._since = clock()

    def allows(self) -> bool:
        now = self.clock()
        self.left = min(self.burst, self.left + (now - self._since) * self.share)
        self._since = now
        return self.left > 0

    def spend(self, seconds: float) -> None:
        self.left -= seconds


class RandomPages:
    """The pages of ``/`` and of permalinks: a picture's page from the cache, or rendered and
    kept; for ``/``, a random picture's, within the render budget (see the module)."""

    def __init__(self, catalog: Catalog, render: Callable[[ImageRecord], bytes],
                 cache: PageCache | None = None, budget: RenderBudget | None = None):
        self.catalog = catalog
        self.render = render
        self.cache = cache if cache is not None else PageCache()
        self.budget = budget if budget is not None else RenderBudget()
        self.recent: deque[tuple[str, bytes]] = deque(maxlen=RECENT)  # drawn for `/`
        self._random = random.Random()

    def random_page(self) -> bytes | None:
        """A random picture's page (None when the gallery has none to show)."""
        for _ in range(8):  # a draw may land on a picture decided since the catalog's last look
            image_id = self.catalog.random_id()
            if image_id is None:
                return None
            page = self.cache.get(image_id)
            if page is None and self.recent and not self.budget.allows():
                return self._random.choice(self.recent)[1]  # a random pick a moment ago
            if page is None:
                record = self.catalog.record(image_id)
                if record is None:
                    continue
                page = self._rendered(record)
            self.recent.append((image_id, page))
            return page
        return None

    def page_of(self, record: ImageRecord) -> bytes:
        """The page of a picture the site shows."""
        return self.cache.get(record.id) or self._rendered(record)

    def _rendered(self, record: ImageRecord) -> bytes:
        started = self.budget.clock()
        page = self.render(record)
        self.budget.spend(self.budget.clock() - started)
        self.cache.put(record.id, page)
        return page

    def forget(self, image_ids: Collection[str] | None) -> None:
        """Stop sending the pages of ``image_ids`` (None: every page); they changed."""
        self.cache.forget(image_ids)
        kept = () if image_ids is None else [e for e in self.recent if e[0] not in image_ids]
        self.recent = deque(kept, maxlen=RECENT)
