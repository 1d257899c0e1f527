"""The scheduler: one run catches every projection up and ticks it; the server sleeps until the
earliest due time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import T0, interaction
from tests.projections.test_registry import write_jsonl
from touchpoint.runtime import Touchpoint
from touchpoint.services import scheduler
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.services.imports import import_file
from touchpoint.store.engine import read_connection


def stage_of(tp: Touchpoint, email: str) -> str | None:
    with read_connection(tp.engine) as conn:
        _, found = find_customers(conn, lookup_keys(email=email))
    return found[0].stage


def test_one_run_catches_up_then_lets_time_pass(tp: Touchpoint, tmp_path: Path) -> None:
    events = [
        interaction(id="s", type="signup", at=0, email="a@example.com"),
        interaction(id="p", type="purchase", at=1, email="a@example.com", revenue=9.0),
    ]
    import_file(tp, write_jsonl(tmp_path / "e.jsonl", events), catch_up=False)
    assert tp.projections.lagging()
    # default model: at_risk after 90 days without activity, churned after 180
    run = scheduler.run_once(tp, T0 + timedelta(days=100))
    assert [(r.name, r.events) for r in run.caught_up] == [
        ("lifecycle", 2),
        ("consent", 2),
        ("scores", 2),
        ("segments", 2),
    ]
    assert run.ticked[0].moved == {"at_risk": 1}
    assert stage_of(tp, "a@example.com") == "at_risk"
    again = scheduler.run_once(tp, T0 + timedelta(days=100))
    assert again.caught_up == [] and again.ticked[0].skipped


def test_the_server_sleeps_until_the_earliest_due_time(tp: Touchpoint) -> None:
    tp.ingestor.ingest(
        [(0, interaction(id="p", type="purchase", at=0, email="a@example.com", revenue=9.0))]
    )
    with read_connection(tp.engine) as conn:  # the lead score decaying below its threshold
        score_due = tp.projections.get("scores").next_due(conn)
    due = tp.projections.next_due()
    assert score_due is not None
    assert due is not None and due == min(T0 + timedelta(days=90), score_due)  # or at_risk
    just_before = due - timedelta(seconds=2)
    far = just_before + timedelta(hours=1)
    assert scheduler.seconds_to_sleep(tp, just_before, far) == 2.0
    assert (
        scheduler.seconds_to_sleep(tp, due - timedelta(days=1), far) == scheduler.LAG_POLL_SECONDS
    )


def test_the_server_loop_wakes_when_an_ingest_stores_something(
    tp: Touchpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing due for seconds, the loop sleeps; an interaction stored wakes it within a
    fraction of a second (a playbook it triggers starts then), not at its next look."""
    wakes: list[float] = []

    def counted(_tp: Touchpoint, _now: datetime, next_tick: datetime) -> tuple[datetime, float]:
        wakes.append(time.monotonic())
        return next_tick, 30.0  # nothing due for 30 s

    monkeypatch.setattr(scheduler, "wake", counted)

    async def scenario() -> float:
        task = asyncio.create_task(scheduler.run_forever(tp))
        while not wakes:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        assert len(wakes) == 1  # asleep, as told
        stored_at = time.monotonic()
        await asyncio.to_thread(
            tp.ingestor.ingest, [(0, interaction(type="signup", email="wake@example.com"))]
        )
        while len(wakes) < 2 and time.monotonic() - stored_at < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert tp.ingestor.on_stored == []  # the loop's listener is gone with it
        return wakes[1] - stored_at if len(wakes) > 1 else float("inf")

    assert asyncio.run(scenario()) < 1.0
