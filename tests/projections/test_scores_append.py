"""The append fast path (projections.scores: a batch whose events all come after a customer's
history and the clock folds on from the stored state): in-order arrivals, where nearly every
batch takes it, still equal a replay of the log — caps in all and per period, inactivity fired
by ticks then reset by activity, decay crossings — and the path is taken, on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import T0
from tests.postgres_server import create_database
from tests.projections.test_scores_replay import MODELS, interaction, snapshot
from touchpoint.projections import scores as projection
from touchpoint.runtime import open_touchpoint
from touchpoint.services import scores as service
from touchpoint.settings import Settings

_example = itertools.count()


@st.composite
def in_order(draw: st.DrawFn) -> list[tuple[list[dict[str, Any]], int | None]]:
    """Interactions in time order (ties by id, as the fold orders them), in batches of 1-4,
    sometimes a tick after a batch (never before an event already sent)."""
    n = draw(st.integers(2, 30))
    events = sorted(
        (draw(interaction(i)) for i in range(n)), key=lambda e: (e["occurred_at"], e["id"])
    )
    steps, i = [], 0
    while i < n:
        size = draw(st.integers(1, 4))
        batch = events[i : i + size]
        tick = None
        if draw(st.integers(0, 2)) == 0:
            last = datetime.fromisoformat(batch[-1]["occurred_at"])
            tick = draw(st.integers(0, 60)) + (last - T0).days  # days after the start
        steps.append((batch, tick))
        i += size
    return steps


def check(data_dir: Any, database_url: str | None, steps: Any, spy: list[int]) -> Any:
    """Run the steps, and after each one replay: the same scores, awards and crossings (after
    each, since a later refold — a tick's, a late event's — would hide a wrong fold on);
    returns every award made, from the last snapshot."""
    tp = open_touchpoint(Settings(data_dir=data_dir, database_url=database_url))
    try:
        service.apply_text(tp, MODELS)
        incremental = snapshot(tp)
        for batch, tick_day in steps:
            report = tp.ingestor.ingest(enumerate(batch))
            assert not report.rejected
            incremental = snapshot(tp)
            tp.projections.replay("scores")
            assert snapshot(tp) == incremental, [e["id"] for e in batch]
            if tick_day is not None:
                tp.projections.tick(T0 + timedelta(days=tick_day, hours=1))
        return incremental
    finally:
        tp.close()


@pytest.fixture
def appended(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many customers each batch folded on from their stored state."""
    seen: list[int] = []
    real = projection.ScoreProjection._append

    def counting(self: Any, conn: Any, batch: Any, candidates: set[str], *rest: Any) -> set[str]:
        done = real(self, conn, batch, candidates, *rest)
        seen.append(len(done))
        return done

    monkeypatch.setattr(projection.ScoreProjection, "_append", counting)
    return seen


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=in_order())
def test_in_order_batches_fold_on_and_equal_replay_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, steps: Any, appended: list[int]
) -> None:
    check(tmp_path_factory.mktemp(f"append{next(_example)}"), None, steps, appended)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=in_order())
def test_in_order_batches_fold_on_and_equal_replay_on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, steps: Any, appended: list[int]
) -> None:
    url = create_database(postgres_url)
    check(tmp_path_factory.mktemp(f"appendpg{next(_example)}"), url, steps, appended)


def test_a_customers_later_events_fold_on_from_the_stored_state(
    tmp_path_factory: pytest.TempPathFactory, appended: list[int]
) -> None:
    """Three purchases (25 points each, capped at 50 in all) and page views (3 each, at most 6
    a week), one per batch in time order: every batch after the first folds on; the third
    purchase gives nothing (the cap), the third view in a week nothing; replay agrees."""
    steps = []
    for day, kind, direction, tick in [
        (0, "purchase", "inbound", None),
        (1, "page_view", "inbound", None),
        (2, "page_view", "inbound", None),
        (3, "page_view", "inbound", None),
        (4, "purchase", "inbound", None),
        (5, "purchase", "inbound", None),
        (40, "page_view", "inbound", 75),  # the tick at day 75 fires "quiet" (day 70)
        (80, "page_view", "outbound", None),  # outbound: points, but not activity
        (81, "page_view", "outbound", None),  # so "quiet" stays fired: it must not fire again
    ]:
        event = {
            "id": f"e{day}",
            "type": kind,
            "channel": "web",
            "direction": direction,
            "occurred_at": (T0 + timedelta(days=day)).isoformat(),
            "customer": {"email": "a@example.com"},
        }
        steps.append(([event], tick))
    _, awards, _ = check(tmp_path_factory.mktemp("append-one"), None, steps, appended)
    # every batch folds on, but the one after the tick: the score's reference is then the
    # inactivity award, a computed moment, and it is refolded
    assert appended == [1, 1, 1, 1, 1, 1, 1, 0, 1]
    lead = [(rule, interaction, at, points) for _, m, rule, interaction, at, points in awards
            if m == "lead"]  # fmt: skip
    day = [T0 + timedelta(days=d) for d in range(82)]
    assert [(r, i, at.replace(tzinfo=T0.tzinfo), p) for r, i, at, p in lead] == [
        ("buy", "e0", day[0], 25.0),
        ("visit", "e1", day[1], 3.0),
        ("visit", "e2", day[2], 3.0),  # e3: a third view within 7 days, over the period cap
        ("buy", "e4", day[4], 25.0),  # e5: the cap of 50 in all is reached
        ("quiet", None, day[35], -6.0),  # 30 days after the last activity (e5), found by e40
        ("visit", "e40", day[40], 3.0),
        ("quiet", None, day[70], -6.0),  # by the tick, 30 days after e40
        ("visit", "e80", day[80], 3.0),
        ("visit", "e81", day[81], 3.0),  # and no second "quiet": no activity came since
    ]
    engagement = [p for _, m, _, _, _, p in awards if m == "engagement"]
    assert engagement == [1.0] * 9  # one point for anything, under its cap of 12
