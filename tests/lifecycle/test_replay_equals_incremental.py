"""Property: however interactions arrive — shuffled, late, in batches of any size, with merges and
clock ticks in between — the incremental projection equals a replay of the log in time order."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import T0
from touchpoint.lifecycle.model import load_model
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

from .test_projection import snapshot

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

EMAILS = ("a@example.com", "b@example.com", "c@example.com")
PHONES = ("+14155550101", "+14155550102")
_example = itertools.count()


@st.composite
def interaction(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                ("page_view", {}),
                ("signup", {}),
                ("call", {}),
                ("purchase", {"revenue": 30.0}),
                ("purchase", {"revenue": 300.0}),
                ("refund", {"revenue": -30.0}),
                ("ticket_opened", {}),
                ("ticket_resolved", {}),
                ("cancellation", {}),
                ("survey_response", {"properties": {"survey": "nps", "score": 10}}),
                ("survey_response", {"properties": {"survey": "nps", "score": 2}}),
                ("survey_response", {"properties": {"survey": "csat", "score": 1}}),
                ("referral", {"properties": {"role": "referrer"}}),
                ("review", {"properties": {"rating": 5}}),
            ]
        )
    )
    customer: dict[str, Any] = {"email": draw(st.sampled_from(EMAILS))}
    if draw(st.integers(0, 5)) == 0:  # sometimes a phone too, which can merge two profiles
        customer["phone"] = draw(st.sampled_from(PHONES))
    day = draw(st.integers(0, 300))  # T0 + 300 days is in the past: a future event is refused
    minute = draw(st.sampled_from([0, 0, 1, 30]))  # ties in time happen
    return {
        "id": f"i{n:03d}",
        "type": kind[0],
        "channel": "web",
        "occurred_at": (T0 + timedelta(days=day, minutes=minute)).isoformat(),
        "customer": customer,
        **kind[1],
    }


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], list[int | None]]:
    n = draw(st.integers(1, 30))
    events = [draw(interaction(i)) for i in range(n)]
    shuffled = draw(st.permutations(events))
    batches, ticks = [], []
    i = 0
    while i < n:
        size = draw(st.integers(1, 8))
        batches.append(shuffled[i : i + size])
        ticks.append(draw(st.one_of(st.none(), st.integers(0, 600))))  # a tick after the batch
        i += size
    return batches, ticks


@pytest.mark.parametrize("model", ["default", "hubspot"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=arrivals())
def test_incremental_projection_equals_replay(
    tmp_path_factory: pytest.TempPathFactory, model: str, plan: Any
) -> None:
    batches, ticks = plan
    data_dir: Path = tmp_path_factory.mktemp(f"prop{next(_example)}")
    tp = open_touchpoint(Settings(data_dir=data_dir, lifecycle_model=model))
    try:
        for batch, tick_day in zip(batches, ticks, strict=True):
            report = tp.ingestor.ingest(enumerate(batch))
            assert not report.rejected
            if tick_day is not None:
                tp.projections.tick(T0 + timedelta(days=tick_day))
        incremental = snapshot(tp)
        tp.projections.replay("lifecycle", model=load_model(model))
        assert snapshot(tp) == incremental
    finally:
        tp.close()
