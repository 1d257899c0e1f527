"""Per-key rate limits (429 with Retry-After) and bounded database waits (503 with Retry-After,
never a 500)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.api.limits import TokenBuckets
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store.engine import is_busy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("key_a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("key_a") == pytest.approx(0.5)  # the next token is half a second away
    assert buckets.take("key_b") == 0.0  # every key has its own bucket
    clock.now += 0.5
    assert buckets.take("key_a") == 0.0
    assert buckets.take("key_a") == pytest.approx(0.5)
    clock.now += 60
    assert [buckets.take("key_a") for _ in range(4)][-1] > 0  # refills to the burst, not past


def test_callers_with_a_full_bucket_are_forgotten_when_the_table_is_large() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=2, clock=clock)
    buckets.SWEEP_AT = 3
    for caller in ("a", "b", "c"):
        buckets.take(caller)
    buckets.take("c")  # c's bucket is empty now
    clock.now += 1.0  # a and b are full again, c is not
    buckets.take("d")
    assert len(buckets) == 2  # c and d
    assert buckets.take("c") == 0.0 and buckets.take("c") == pytest.approx(1.0)


def test_a_zero_rate_is_no_limit() -> None:
    buckets = TokenBuckets(rate=0, burst=1, clock=Clock())
    assert all(buckets.take("key_a") == 0.0 for _ in range(1000))


def open_with(tmp_path: Path, **settings: object) -> Iterator[Touchpoint]:
    tp = open_touchpoint(Settings(data_dir=tmp_path, **settings))  # type: ignore[arg-type]
    yield tp
    tp.close()


@pytest.fixture
def slow_tp(tmp_path: Path) -> Iterator[Touchpoint]:
    yield from open_with(tmp_path, rate_limit_per_second=0.1, rate_limit_burst=2)


def test_a_key_past_its_rate_gets_429_with_retry_after(slow_tp: Touchpoint) -> None:
    key, other = new_key(slow_tp, "read"), new_key(slow_tp, "read")
    with TestClient(create_app(slow_tp)) as client:
        answers = [client.get("/v1/customers", headers=bearer(key)) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["retry-after"] == "10"  # 1 token at 0.1/s
        assert answers[2].json() == {"detail": "too many requests for this key; retry in 10 s"}
        assert client.get("/v1/customers", headers=bearer(other)).status_code == 200


def test_a_refused_key_is_not_counted_against_anyone(slow_tp: Touchpoint) -> None:
    key = new_key(slow_tp, "read")
    with TestClient(create_app(slow_tp)) as client:
        for _ in range(5):
            assert client.get("/v1/customers", headers=bearer("nope")).status_code == 401
        assert client.get("/v1/customers", headers=bearer(key)).status_code == 200


@pytest.fixture
def two_connections_tp(tmp_path: Path) -> Iterator[Touchpoint]:
    # Two: a request may hold one connection (its read) while its key check takes another.
    yield from open_with(tmp_path, pool_size=2, pool_max_overflow=0, pool_timeout_seconds=0.2)


def test_an_exhausted_pool_answers_503_with_retry_after(two_connections_tp: Touchpoint) -> None:
    tp = two_connections_tp
    key = new_key(tp, "read")
    with TestClient(create_app(tp), raise_server_exceptions=False) as client:
        assert client.get("/v1/customers", headers=bearer(key)).status_code == 200
        held = [tp.engine.connect(), tp.engine.connect()]  # every connection of the pool
        try:
            answer = client.get("/v1/customers", headers=bearer(key))
        finally:
            for conn in held:
                conn.close()
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json() == {"detail": "the database is busy; retry shortly"}
        assert client.get("/v1/customers", headers=bearer(key)).status_code == 200


def test_busy_errors_are_told_from_faults() -> None:
    locked = sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))
    no_table = sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert is_busy(sa.exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"))
    assert is_busy(locked)
    assert not is_busy(no_table)
    assert not is_busy(ValueError("database is locked"))
