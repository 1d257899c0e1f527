"""Writers to one SQLite file take their turn in arrival order, re-entrantly, within a bound."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from touchpoint.store.engine import WriterQueue


def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_waiting_writers_are_served_in_arrival_order() -> None:
    queue = WriterQueue(timeout=10)
    served: list[int] = []

    def writer(n: int) -> None:
        with queue.turn():
            served.append(n)
            time.sleep(0.002)  # a newcomer arriving now must still queue behind the rest

    threads = []
    with queue.turn():
        for n in range(8):
            thread = threading.Thread(target=writer, args=(n,))
            thread.start()
            threads.append(thread)
            wait_for(lambda n=n: len(queue._waiting) == n + 1)
    for thread in threads:
        thread.join()
    assert served == list(range(8))


def test_the_holder_may_take_its_turn_again() -> None:
    queue = WriterQueue(timeout=0.1)
    with queue.turn(), queue.turn():
        pass
    with queue.turn():  # released fully: free for the next
        pass


def test_a_wait_past_the_bound_is_a_timeout_and_leaves_the_queue() -> None:
    queue = WriterQueue(timeout=0.1)
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with queue.turn():
                pass
        except sa.exc.TimeoutError as exc:
            failed.append(exc)

    with queue.turn():
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join()
    assert len(failed) == 1 and "waited 0.1 s for the turn to write" in str(failed[0])
    assert not queue._waiting
    with queue.turn():
        pass


def test_a_turn_is_released_when_the_writer_fails() -> None:
    queue = WriterQueue(timeout=0.1)
    with pytest.raises(ZeroDivisionError), queue.turn():
        1 / 0  # noqa: B018
    with queue.turn():
        pass
