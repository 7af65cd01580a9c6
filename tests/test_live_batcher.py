"""live/batcher.py: requests gathered into batches, the bounded queue, shared recipes."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ganpage.live.batcher import MicroBatcher, QueueFull


def test_requests_that_come_together_leave_in_one_batch_and_get_their_own_answers():
    batcher = MicroBatcher(max_batch=8, max_wait=0.2, max_queue=16)
    sizes = []

    def drawing_thread() -> None:
        for _ in range(2):
            batch = batcher.take(idle_timeout=5)
            sizes.append(len(batch))
            for waiting in batch:
                waiting.deliver(f"picture {waiting.key}".encode())

    async def main() -> list[bytes]:
        worker = threading.Thread(target=drawing_thread)
        worker.start()
        first = await batcher.submit("lone")  # the last batch held one: no wait for company
        batcher._last_batch = 2  # as after a batch of two
        futures = [batcher.submit(key) for key in "abcde"]
        answers = await asyncio.gather(*futures)
        worker.join()
        return [first, *answers]

    answers = asyncio.run(main())
    assert answers == [b"picture lone", *(f"picture {k}".encode() for k in "abcde")]
    assert sizes == [1, 5]


def test_a_batch_leaves_at_max_batch_without_waiting_out_its_deadline():
    batcher = MicroBatcher(max_batch=3, max_wait=5.0, max_queue=16)
    batcher._last_batch = 3

    async def main() -> tuple[int, float]:
        futures = [batcher.submit(i) for i in range(4)]
        started = time.perf_counter()
        batch = await asyncio.to_thread(batcher.take, 1.0)
        took = time.perf_counter() - started
        batcher.close(RuntimeError("done"))  # the fourth is refused, not waited for
        for waiting in batch:
            waiting.deliver(b"x")
        answers = await asyncio.gather(*futures, return_exceptions=True)
        assert answers[:3] == [b"x"] * 3 and isinstance(answers[3], RuntimeError)
        return len(batch), took

    size, took = asyncio.run(main())
    assert size == 3 and took < 1.0


def test_the_queue_is_bounded_and_one_recipe_is_drawn_once_for_all_who_want_it():
    batcher = MicroBatcher(max_batch=4, max_wait=0.0, max_queue=2)

    async def main() -> list[bytes]:
        same = [batcher.submit("a"), batcher.submit("a"), batcher.submit("b")]
        with pytest.raises(QueueFull):
            batcher.submit("c")
        batch = batcher.take(0.0)
        assert [w.key for w in batch] == ["a", "b"] and len(batch[0].futures) == 2
        for waiting in batch:
            waiting.deliver(waiting.key.encode())
        return await asyncio.gather(*same)

    assert asyncio.run(main()) == [b"a", b"a", b"b"]


def test_closing_refuses_what_waits():
    batcher = MicroBatcher(max_batch=4, max_wait=0.0, max_queue=4)

    async def main() -> None:
        future = batcher.submit("a")
        batcher.close(RuntimeError("stopping"))
        with pytest.raises(RuntimeError, match="stopping"):
            await future

    asyncio.run(main())
    assert batcher.take(0.0) == []


def test_an_answer_for_a_request_whose_event_loop_has_closed_is_dropped():
    """A client's loop gone (a test's asyncio.run, a worker stopping) must not kill the
    drawing thread that delivers to it."""
    batcher = MicroBatcher(max_batch=4, max_wait=0, max_queue=4)

    async def ask() -> None:
        batcher.submit("orphan")

    asyncio.run(ask())  # its loop is closed now
    batch = batcher.take(idle_timeout=1)
    batch[0].deliver(b"picture")  # raised RuntimeError('Event loop is closed')
    assert [waiting.key for waiting in batch] == ["orphan"]
