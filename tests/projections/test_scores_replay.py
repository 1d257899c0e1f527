"""Property: however interactions arrive — shuffled, late, in batches of any size, deferred and
caught up, with merges and clock ticks in between — the incremental scores equal a replay of the
log, on SQLite and PostgreSQL (scores, breakdown, crossings, what falls due)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.builders import T0
from tests.postgres_server import create_database
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import scores as service
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customer_scores, score_crossings, score_points

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

# Every feature at once: caps in all and per period, negative points, decay, two thresholds,
# two inactivity rules, and a second model without decay.
MODELS = """
[[model]]
name = "lead"
half_life_days = 20
thresholds = [10, 30]

[[model.rule]]
name = "visit"
type = "page_view"
points = 3
period_cap = 6
period_days = 7

[[model.rule]]
name = "buy"
type = "purchase"
points = 25
cap = 50

[[model.rule]]
name = "complaint"
type = "ticket_opened"
points = -8

[[model.inactivity]]
name = "quiet"
days = 30
points = -6

[[model.inactivity]]
name = "silent"
days = 90
points = -10

[[model]]
name = "engagement"
thresholds = [5]
activity = "any"

[[model.rule]]
name = "anything"
points = 1
cap = 12
"""

EMAILS = ("a@example.com", "b@example.com", "c@example.com")
PHONES = ("+14155550101", "+14155550102")
_example = itertools.count()


@st.composite
def interaction(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["page_view", "purchase", "ticket_opened", "email_sent", "call"]))
    customer: dict[str, Any] = {"email": draw(st.sampled_from(EMAILS))}
    if draw(st.integers(0, 4)) == 0:  # sometimes a phone too, which can merge two profiles
        customer["phone"] = draw(st.sampled_from(PHONES))
    day = draw(st.integers(0, 300))
    minute = draw(st.sampled_from([0, 0, 1, 30]))  # ties in time happen
    return {
        "id": f"i{n:03d}",
        "type": kind,
        "channel": "web",
        "direction": "outbound" if kind == "email_sent" else "inbound",
        "occurred_at": (T0 + timedelta(days=day, minutes=minute)).isoformat(),
        "customer": customer,
    }


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[list[dict[str, Any]], bool, int | None]]:
    n = draw(st.integers(1, 25))
    events = draw(st.permutations([draw(interaction(i)) for i in range(n)]))
    steps, i = [], 0
    while i < n:
        size = draw(st.integers(1, 6))
        deferred = draw(st.integers(0, 4)) == 0  # a bulk import, caught up later
        tick = draw(st.one_of(st.none(), st.integers(0, 400)))
        steps.append((events[i : i + size], deferred, tick))
        i += size
    return steps


def snapshot(tp: Touchpoint) -> tuple[list[Any], ...]:
    with read_connection(tp.engine) as conn:
        s, p, c = customer_scores.c, score_points.c, score_crossings.c
        scores = conn.execute(
            select(
                s.customer_id, s.model, s.points, s.reference_at, s.last_activity_at, s.due_at
            ).order_by(s.customer_id, s.model)
        ).all()
        points = conn.execute(
            select(p.customer_id, p.model, p.rule, p.interaction_id, p.at, p.points).order_by(
                p.customer_id, p.model, p.at, p.rule, p.interaction_id
            )
        ).all()
        crossings = conn.execute(
            select(
                c.customer_id, c.model, c.kind, c.threshold, c.at, c.interaction_id, c.key
            ).order_by(c.key)
        ).all()
    return [tuple(r) for r in scores], [tuple(r) for r in points], [tuple(r) for r in crossings]


def check(data_dir: Path, database_url: str | None, steps: Any) -> None:
    tp = open_touchpoint(Settings(data_dir=data_dir, database_url=database_url))
    try:
        service.apply_text(tp, MODELS)
        for batch, deferred, tick_day in steps:
            report = tp.ingestor.ingest(enumerate(batch), bulk=deferred)
            assert not report.rejected
            if tick_day is not None:
                tp.projections.catch_up()
                tp.projections.tick(T0 + timedelta(days=tick_day))
        tp.projections.catch_up()
        incremental = snapshot(tp)
        tp.projections.replay("scores")
        assert snapshot(tp) == incremental
    finally:
        tp.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=arrivals())
def test_incremental_scores_equal_replay_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, steps: Any
) -> None:
    check(tmp_path_factory.mktemp(f"scores{next(_example)}"), None, steps)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=arrivals())
def test_incremental_scores_equal_replay_on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, steps: Any
) -> None:
    check(tmp_path_factory.mktemp(f"scores{next(_example)}"), create_database(postgres_url), steps)
