"""live/rate_limit.py: a token bucket per client, bounded in the clients it remembers."""

from __future__ import annotations

from ganpage.live.rate_limit import RateLimit


def test_each_client_has_its_burst_then_its_rate():
    limit = RateLimit(rate=2.0, burst=3)
    assert [limit.wait_needed("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.wait_needed("a", now=0.0) == 0.5  # one token back in half a second
    assert limit.wait_needed("b", now=0.0) == 0.0  # another client is not held back
    assert limit.wait_needed("a", now=0.5) == 0.0
    assert limit.wait_needed("a", now=0.5) > 0


def test_no_rate_allows_everything_and_forgotten_clients_start_full():
    assert all(RateLimit(0, 1).wait_needed("a", now=0.0) == 0.0 for _ in range(100))
    limit = RateLimit(rate=1.0, burst=1, max_clients=2)
    assert limit.wait_needed("a", now=0.0) == 0.0 and limit.wait_needed("a", now=0.0) > 0
    limit.wait_needed("b", now=0.0)
    limit.wait_needed("c", now=0.0)  # "a" is forgotten
    assert len(limit._buckets) == 2 and limit.wait_needed("a", now=0.0) == 0.0
