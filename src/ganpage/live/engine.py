"""The live engine of one server process: the model, its drawing thread, pool, cache and limits.

One thread owns the model and draws everything, so the network never runs twice at once: it
takes the visitors' requests in micro-batches (``batcher.py``) and, while nobody waits, refills
the pool of fresh pictures (``pool.py``). Drawn pictures are kept by recipe (``cache.py``), so
a permalink asked for again, or the picture of a page just served from the pool, costs nothing.
A fresh picture's seed is a random 32-bit number from ``secrets``; its recipe is its permalink.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Hashable

from ganpage.live.batcher import MicroBatcher, QueueFull, Waiting
from ganpage.live.pool import FreshPool
from ganpage.live.rate_limit import rate_limit_for_this_server
from ganpage.live.settings import LiveSettings
from ganpage.lru import LRUBytes
from ganpage.noise import MAX_SEED
from ganpage.recipe import DEFAULT_TRUNCATION, Recipe

IMAGE_FORMAT = "webp"
IDLE_SECONDS = 0.05  # how often an idle drawing thread looks at the pool
PACE_MEMORY = 0.2  # weight of the newest batch in the pictures/s estimate


class LiveUnavailable(Exception):
    """No picture can be drawn for this request now: answer 503 (or 429) with Retry-After."""

    def __init__(self, reason: str, retry_after: int, status: int = 503):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


def recipe_key(recipe: Recipe) -> Hashable:
    return (recipe.category.id, recipe.seed, recipe.truncation)


class LiveEngine:
    """Draws pictures for one model; ``start()`` loads it on a thread of its own."""

    def __init__(self, model: str, settings: LiveSettings | None = None, metrics=None):
        self.model_name = model
        self.settings = settings or LiveSettings()
        self.metrics = metrics  # web.metrics.Metrics or None
        self.generator = None
        self.load_error: str | None = None
        self.loaded = threading.Event()  # set when loading ended, well or not
        self.batcher = MicroBatcher(self.settings.max_batch, self.settings.max_wait_seconds,
                                    self.settings.max_queue)
        self.cache = LRUBytes(max_items=self.settings.cache_size)
        self.rate_limit = rate_limit_for_this_server(self.settings.rate_per_second,
                                                     self.settings.rate_burst)
        self.pool: FreshPool | None = None
        self.page_for: Callable[[Recipe], bytes] | None = None  # the site's page of a recipe
        self.drawn = 0  # pictures drawn by the model (fresh and on demand)
        self.pace = 0.0  # pictures/s while drawing requests (a moving average), 0: not known
        self._pool_paused_until = 0.0  # monotonic time: no refill before it (one failed)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Load the model and start drawing, on a thread (once; later calls do nothing)."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-drawing",
                                                daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop drawing; requests still waiting get a 503."""
        self.batcher.close(LiveUnavailable("the server is stopping", 5))
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        _yield_to_the_event_loop(self.settings.niceness)
        try:
            self._load()
        except Exception as error:  # noqa: BLE001 - any failure is reported by /readyz
            self.load_error = f"cannot load the live model {self.model_name!r}: {error}"
            self.batcher.close(LiveUnavailable(self.load_error, 60))
            return
        finally:
            self.loaded.set()
        while not self.batcher.closed:
            batch = self.batcher.take(IDLE_SECONDS)
            if batch:
                self._draw_for_requests(batch)
                continue
            if time.monotonic() < self._pool_paused_until:
                continue
            try:
                self._refill_pool()
            except Exception:  # noqa: BLE001 - e.g. CUDA out of memory: try again later,
                self._pool_paused_until = time.monotonic() + 1.0  # serving visitors meanwhile

    def _load(self) -> None:
        import torch

        from ganpage.models import load_generator

        threads = self.settings.threads or len(os.sched_getaffinity(0))
        torch.set_num_threads(threads)
        generator = load_generator(self.model_name, self.settings.device)
        self.pool = FreshPool(len(generator.categories), self.settings.pool_size)
        self.generator = generator

    # -- drawing (the drawing thread) --------------------------------------------------------
    def _draw(self, recipes: list[Recipe]) -> list[bytes]:
        from ganpage.generate import encode

        pixels = self.generator.sample([r.category.id for r in recipes],
                                       [r.seed for r in recipes],
                                       [r.truncation for r in recipes])
        pictures = [encode(p, IMAGE_FORMAT) for p in pixels]
        self.drawn += len(pictures)
        return pictures

    def _draw_for_requests(self, batch: list[Waiting]) -> None:
        recipes = [waiting.key for waiting in batch]
        started = time.perf_counter()
        try:
            pictures = self._draw(recipes)
        except Exception as error:  # noqa: BLE001 - e.g. CUDA out of memory: 503, not a crash
            for waiting in batch:
                waiting.deliver(LiveUnavailable(f"drawing failed ({error})", 5))
            return
        for waiting, recipe, picture in zip(batch, recipes, pictures, strict=True):
            self.cache.put(recipe_key(recipe), picture)
            waiting.deliver(picture)
        self._keep_pace(len(batch), time.perf_counter() - started)
        self._count("on_demand", len(batch))

    def _keep_pace(self, pictures: int, seconds: float) -> None:
        """Bound the queue to what the model draws in ``queue_seconds`` at its recent pace, so
        a request that is let in waits about that long at most (a batch more under load)."""
        pace = pictures / max(seconds, 1e-6)
        self.pace = pace if self.pace == 0 else (1 - PACE_MEMORY) * self.pace + PACE_MEMORY * pace
        settings = self.settings
        self.batcher.limit = int(min(settings.max_queue,
                                     max(settings.max_batch, self.pace * settings.queue_seconds)))

    def _refill_pool(self) -> None:
        if self.pool is None or self.settings.pool_size == 0:
            return
        # small batches: a visitor who comes meanwhile waits for one of them at most
        labels = self.pool.wanted(max(1, self.settings.max_batch // 4))
        if not labels:
            return
        recipes = [self.fresh_recipe(label) for label in labels]
        for recipe, picture in zip(recipes, self._draw(recipes), strict=True):
            page = self.page_for(recipe) if self.page_for is not None else b""
            self.pool.put((recipe, picture, page))
        self._count("fresh", len(recipes))

    def _count(self, kind: str, pictures: int) -> None:
        if self.metrics is not None:
            self.metrics.record_live_batch(kind, pictures, self.batcher.depth())

    # -- for the routes (the event loop) ------------------------------------------------------
    @property
    def categories(self):
        return self.generator.categories

    @property
    def model_id(self) -> str:
        return self.generator.model_id

    @property
    def image_size(self) -> int:
        return self.generator.image_size

    async def ready(self) -> None:
        """Wait (a little) until the model is loaded; raises ``LiveUnavailable`` otherwise."""
        self.start()
        if not self.loaded.is_set():
            deadline = time.monotonic() + self.settings.wait_seconds
            while not self.loaded.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        if self.load_error:
            raise LiveUnavailable(self.load_error, 60)
        if self.generator is None:
            raise LiveUnavailable("the live model is still loading", 2)

    def fresh_recipe(self, label: int | None = None) -> Recipe:
        """A new recipe: the category given (else a random one), a random 32-bit seed."""
        categories = self.generator.categories
        if label is None:
            label = secrets.randbelow(len(categories))
        return Recipe(categories[label], secrets.randbelow(MAX_SEED + 1), DEFAULT_TRUNCATION)

    def fresh(self, client: str | None = None) -> tuple[Recipe, bytes]:
        """A fresh picture's recipe for the random page and its page (b"" if not rendered):
        from the pool (its picture goes into the cache, for the page's image request), else a
        new recipe to draw when its image is asked for. A picture taken from the pool is one
        the model draws again, so it counts against ``client``'s rate (``LiveUnavailable``,
        429, past it); one shown again, or a new recipe (its image request counts), is free."""
        if client is not None and self.pool is not None and self.pool.stocked():
            self._within_rate(client)
        taken = self.pool.take() if self.pool is not None else None
        if taken is None:
            return self.fresh_recipe(), b""
        recipe, picture, page = taken
        self.cache.put(recipe_key(recipe), picture)
        return recipe, page

    def fresh_of(self, label: int, client: str | None = None) -> list[Recipe]:
        """Fresh recipes of one category for its page: the pool's pictures of it (into the
        cache, for the page's image requests; taking them counts once against ``client``'s
        rate, as ``fresh``), else one new recipe to draw when its image is asked for; so a page
        never costs more drawing than one picture."""
        if client is not None and self.pool is not None and self.pool.stocked(label):
            self._within_rate(client)
        taken = self.pool.take_category(label) if self.pool is not None else []
        for recipe, picture, _ in taken:
            self.cache.put(recipe_key(recipe), picture)
        return [recipe for recipe, _, _ in taken] or [self.fresh_recipe(label)]

    def cached(self, recipe: Recipe) -> bytes | None:
        return self.cache.get(recipe_key(recipe))

    async def picture(self, recipe: Recipe, client: str) -> bytes:
        """The recipe's encoded picture: from the cache, else drawn in the next micro-batch.

        Raises ``LiveUnavailable``: 429 past the client's rate, 503 when the queue is full, the
        model is not loaded or the picture is not drawn within ``wait_seconds``."""
        await self.ready()
        picture = self.cached(recipe)
        if picture is not None:
            return picture
        self._within_rate(client)
        try:
            future = self.batcher.submit(recipe)
        except QueueFull:
            self._refused("queue_full")
            raise LiveUnavailable("the server is drawing as fast as it can; try again",
                                  1) from None
        try:
            return await asyncio.wait_for(future, self.settings.wait_seconds)
        except TimeoutError:
            self._refused("timeout")
            raise LiveUnavailable("the picture took too long; try again", 2) from None

    def _within_rate(self, client: str) -> None:
        """Spend one of ``client``'s pictures, or raise ``LiveUnavailable`` (429)."""
        wait = self.rate_limit.wait_needed(client)
        if wait > 0:
            self._refused("rate")
            raise LiveUnavailable("too many pictures drawn for you; slow down", _ceil(wait),
                                  status=429)

    def _refused(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.record_live_refusal(reason)


def _yield_to_the_event_loop(niceness: int) -> None:
    """Add ``niceness`` to the calling (drawing) thread's, and so to the torch threads it
    starts: on a busy core the requests, refusals above all, run first and the model draws
    with what is left (at 3x the sustainable load, 503s in about 1 ms, not hundreds)."""
    if niceness and sys.platform == "linux":  # Linux's niceness is per thread
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness))


def _ceil(seconds: float) -> int:
    return max(1, int(seconds + 0.999))
