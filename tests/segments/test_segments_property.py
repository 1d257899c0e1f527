"""Property (the lifecycle's approach): however interactions arrive — shuffled, late, in batches
of any size, deferred by a bulk import and caught up, with merges and ticks between — every
segment's members equal a full evaluation of its rule at the clock, its history alternates
entered/left with unique keys, and a replay then changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.postgres_server import create_database
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import segments as service
from touchpoint.settings import Settings
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import segment_changes

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
EMAILS = ("a@example.com", "b@example.com", "c@example.com", "d@example.com")
PHONES = ("+14155550101", "+14155550102")
RULES = {
    "buyers": "purchased >= 2 times in last 20 days",
    "quiet": "opened no email in 15 days and not consent email",
    "support": "called support >= 1 times this month or stage in (at_risk, churned)",
    "beans": 'bought category "beans" and age >= 30',
    "waited": "waited over 5 minutes on a call in last 7 days or score.lead > 4",
}
_example = itertools.count()


@st.composite
def interaction(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                ("purchase", "web", {"properties": {"category": "beans"}}),
                ("purchase", "web", {"properties": {"category": "tea"}}),
                ("email_opened", "email", {}),
                ("call", "phone", {"queue": "support", "properties": {"wait_s": 400}}),
                ("call", "phone", {"queue": "sales", "properties": {"wait_s": 10}}),
                ("consent_granted", "email", {}),
                ("unsubscribe", "email", {}),
                ("page_view", "web", {"traits": {"age": 35}}),
                ("page_view", "web", {"traits": {"age": 20}}),
            ]
        )
    )
    customer: dict[str, Any] = {"email": draw(st.sampled_from(EMAILS))}
    if draw(st.integers(0, 6)) == 0:  # sometimes a phone too, which can merge two profiles
        customer["phone"] = draw(st.sampled_from(PHONES))
    hours = draw(st.integers(-60 * 24, 60 * 24))  # 60 days either side of the start
    return {
        "id": f"i{n:03d}",
        "type": kind[0],
        "channel": kind[1],
        "occurred_at": (START + timedelta(hours=hours)).isoformat(),
        "customer": customer,
        **kind[2],
    }


@st.composite
def plans(draw: st.DrawFn) -> list[tuple[str, Any]]:
    n = draw(st.integers(1, 24))
    events = draw(st.permutations([draw(interaction(i)) for i in range(n)]))
    steps: list[tuple[str, Any]] = []
    i = 0
    while i < n:
        size = draw(st.integers(1, 6))
        steps.append((draw(st.sampled_from(["ingest", "ingest", "bulk"])), events[i : i + size]))
        if draw(st.booleans()):
            steps.append(("tick", draw(st.integers(0, 40 * 24))))  # hours after the start
        i += size
    return steps


class Wall:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run(tp: Touchpoint, steps: list[tuple[str, Any]]) -> None:
    wall = Wall(START)
    tp.projections.get("segments").clock = wall  # type: ignore[attr-defined]
    for name, rule in RULES.items():
        service.create_segment(tp, name=name, rule=rule)
    for kind, value in steps:
        if kind == "tick":
            wall.now = max(wall.now, START + timedelta(hours=value))
            tp.projections.tick(wall.now)
        else:
            report = tp.ingestor.ingest(enumerate(value), bulk=kind == "bulk")
            assert not report.rejected, report.rejected
            if kind == "bulk":
                tp.projections.catch_up()
    # everyone as of the clock: a last tick brings each segment there
    tp.projections.tick(wall.now + timedelta(seconds=1))
    check(tp, wall.now + timedelta(seconds=1))


def check(tp: Touchpoint, now: datetime) -> None:
    with read_connection(tp.engine) as conn:
        for segment in store.all_segments(conn):
            held = store.members(conn, segment.id)
            assert held == store.evaluate(conn, segment.rule, now), segment.name
            changes = conn.execute(
                select(segment_changes.c.customer_id, segment_changes.c.kind)
                .where(segment_changes.c.segment_id == segment.id)
                .order_by(segment_changes.c.seq)
            ).all()
            last: dict[str, str] = {}
            for customer, kind in changes:
                assert last.get(customer, store.LEFT) != kind, (segment.name, customer)
                last[customer] = kind
            assert {c for c, k in last.items() if k == store.ENTERED} == held
        count_before = conn.execute(select(segment_changes.c.seq)).all()
    tp.projections.replay("segments")
    with read_connection(tp.engine) as conn:
        assert conn.execute(select(segment_changes.c.seq)).all() == count_before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=plans())
def test_incremental_membership_equals_full_evaluation_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, Any]]
) -> None:
    data_dir: Path = tmp_path_factory.mktemp(f"segprop{next(_example)}")
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        run(tp, steps)
    finally:
        tp.close()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=plans())
def test_incremental_membership_equals_full_evaluation_on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, steps: list[tuple[str, Any]]
) -> None:
    data_dir: Path = tmp_path_factory.mktemp(f"segpg{next(_example)}")
    tp = open_touchpoint(Settings(data_dir=data_dir, database_url=create_database(postgres_url)))
    try:
        run(tp, steps)
    finally:
        tp.close()
