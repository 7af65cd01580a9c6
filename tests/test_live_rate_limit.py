"""live/rate_limit.py: a token bucket per client, bounded in the clients it remembers, in one
process or shared by a server's workers."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

import pytest

from ganpage.live.rate_limit import (
    HEADER,
    MAX_CLIENTS,
    SLOT,
    TABLE_FILE,
    RateLimit,
    SharedRateLimit,
    open_table,
    rate_limit_for_this_server,
)
from ganpage.web.shared_folder import SHARED_FOLDER_VARIABLE


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


def test_workers_sharing_the_table_share_each_clients_bucket(tmp_path):
    table = tmp_path / TABLE_FILE
    one, two = (SharedRateLimit(rate=2.0, burst=3, table=table) for _ in range(2))
    assert [limit.wait_needed("a", now=0.0) for limit in (one, two, one)] == [0.0, 0.0, 0.0]
    assert two.wait_needed("a", now=0.0) == 0.5  # the burst is spent across both workers
    assert one.wait_needed("b", now=0.0) == 0.0  # another client is not held back
    assert one.wait_needed("a", now=0.5) == 0.0 and two.wait_needed("a", now=0.5) > 0
    assert all(SharedRateLimit(0, 1, table).wait_needed("a", now=0.0) == 0 for _ in range(9))


def take_tokens(table: str, count: int, start: multiprocessing.synchronize.Barrier,
                granted: multiprocessing.Queue) -> None:
    limit = SharedRateLimit(rate=1e-9, burst=BURST, table=Path(table))
    start.wait()
    granted.put(sum(limit.wait_needed("a") == 0.0 for _ in range(count)))


BURST = 2_000


@pytest.mark.slow
def test_processes_drawing_at_once_spend_exactly_the_burst(tmp_path):
    context = multiprocessing.get_context("spawn")
    start, granted = context.Barrier(4), context.Queue()
    workers = [context.Process(target=take_tokens,
                               args=(str(tmp_path / TABLE_FILE), BURST, start, granted))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    given = sum(granted.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert given == BURST  # 4 x 2,000 asked at once: the burst, not a token more


@pytest.mark.slow
def test_a_server_with_workers_shares_the_table_and_one_process_keeps_its_own(
        tmp_path, monkeypatch):
    monkeypatch.delenv(SHARED_FOLDER_VARIABLE, raising=False)
    assert isinstance(rate_limit_for_this_server(1.0, 1), RateLimit)
    monkeypatch.setenv(SHARED_FOLDER_VARIABLE, str(tmp_path))
    assert isinstance(rate_limit_for_this_server(1.0, 1), SharedRateLimit)
    assert (tmp_path / TABLE_FILE).stat().st_size == HEADER + MAX_CLIENTS * SLOT.size
    assert isinstance(rate_limit_for_this_server(0, 1), RateLimit)  # no limit, no table


def test_clients_sharing_a_set_keep_their_own_buckets_until_it_is_full(tmp_path):
    limit = SharedRateLimit(rate=1.0, burst=1, table=tmp_path / TABLE_FILE, slots=4)  # 1 set
    assert [limit.wait_needed(c, now=0.0) for c in "abcd"] == [0.0] * 4
    assert [limit.wait_needed(c, now=0.1) > 0 for c in "abcd"] == [True] * 4  # each its own
    assert limit.wait_needed("e", now=0.2) == 0.0  # a fifth takes the slot seen longest ago
    assert limit.wait_needed("e", now=0.2) > 0 and limit.wait_needed("b", now=0.2) > 0


@pytest.mark.slow
def test_each_table_hashes_with_its_own_key_and_a_full_disk_leaves_each_worker_its_own(
        tmp_path, monkeypatch, capsys):
    one, two = (open_table(tmp_path / name, 4096) for name in ("one", "two"))
    assert one[1] != two[1] and len(one[1]) == 16 and open_table(tmp_path / "one", 4096)[1] \
        == one[1]  # a second worker opens the first's table, with its key

    def full(descriptor, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.posix_fallocate", full)
    monkeypatch.setenv(SHARED_FOLDER_VARIABLE, str(tmp_path / "full"))
    (tmp_path / "full").mkdir()
    assert isinstance(rate_limit_for_this_server(1.0, 1), RateLimit)
    assert "No space left on device" in capsys.readouterr().err
    assert list((tmp_path / "full").iterdir()) == []  # nothing half made left behind
