"""How a server draws live pictures: device, micro-batching, queue, cache, pool and rate limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ganpage.errors import GanpageError


@dataclass(frozen=True)
class LiveSettings:
    """The knobs of live generation in one server process (each worker has its own)."""

    device: str = "cpu"  # "cpu", "cuda" or "cuda:<n>"
    max_batch: int = 32  # pictures drawn in one ``sample`` call; 1 turns micro-batching off
    max_wait_seconds: float = 0.004  # how long the first request of a batch waits for company
    max_queue: int = 128  # requests waiting to be drawn; past it, an immediate 503
    queue_seconds: float = 0.75  # ... and never more than the model draws in this long
    cache_size: int = 4096  # drawn pictures kept by recipe (about 3 kB each at 64 px)
    pool_size: int = 2  # fresh pictures kept ready per category for the random page
    rate_per_second: float = 20.0  # pictures one client may have drawn per second; 0: no limit
    rate_burst: int = 40  # ... and at once
    threads: int = 0  # torch threads; 0: the machine's cores divided among the workers
    wait_seconds: float = 10.0  # a request never waits longer than this for its picture
    niceness: int = 0  # added to the drawing thread's (Linux); 0: equal (benchmarks/README.md)

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_queue < 1 or self.cache_size < 0 or self.pool_size < 0:
            raise GanpageError("live settings: batch and queue must be at least 1, cache and "
                               "pool sizes at least 0")
        if not 0 <= self.niceness <= 19:
            raise GanpageError("live settings: the drawing thread's niceness is 0 to 19")
        if self.rate_per_second < 0 or self.rate_burst < 1 or self.max_wait_seconds < 0:
            raise GanpageError("live settings: the rate must be 0 (no limit) or more, with a "
                               "burst of at least 1, and the batch wait 0 or more")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> LiveSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
