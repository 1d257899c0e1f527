"""Property: whatever mix of inline batches (API) and deferred ones (file imports), with catch-ups
and ticks anywhere in between and either catch-up path, the projection equals a replay."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import T0
from tests.lifecycle.test_projection import snapshot
from tests.lifecycle.test_replay_equals_incremental import interaction
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

_example = itertools.count()
Step = tuple[list[dict[str, Any]], bool, bool, int | None]  # events, deferred, catch up, tick day


@st.composite
def plans(draw: st.DrawFn) -> tuple[list[Step], float]:
    n = draw(st.integers(1, 30))
    events = draw(st.permutations([draw(interaction(i)) for i in range(n)]))
    steps: list[Step] = []
    i = 0
    while i < n:
        size = draw(st.integers(1, 8))
        steps.append(
            (
                events[i : i + size],
                draw(st.booleans()),  # a file import (deferred) or an API batch (inline)
                draw(st.booleans()),  # catch up after it
                draw(st.one_of(st.none(), st.integers(0, 600))),  # tick after it
            )
        )
        i += size
    # 0: every catch-up reads the whole log; 2: every catch-up reads histories by index
    return steps, draw(st.sampled_from([0.0, 2.0]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans())
def test_any_mix_of_inline_and_deferred_batches_equals_replay(
    tmp_path_factory: pytest.TempPathFactory, plan: Any
) -> None:
    steps, share = plan
    data_dir: Path = tmp_path_factory.mktemp(f"modes{next(_example)}")
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        with (
            mock.patch("touchpoint.lifecycle.projection.WHOLE_LOG_SHARE", share),
            mock.patch("touchpoint.lifecycle.projection.SMALL_CATCH_UP", 0),
        ):
            for batch, deferred, catch_up, tick_day in steps:
                report = tp.ingestor.ingest(enumerate(batch), bulk=deferred)
                assert not report.rejected
                if catch_up:
                    tp.projections.catch_up()
                if tick_day is not None:
                    tp.projections.tick(T0 + timedelta(days=tick_day))
            tp.projections.catch_up()
        assert tp.projections.status()[0].lag == 0
        caught_up = snapshot(tp)
        tp.projections.replay("lifecycle")
        assert snapshot(tp) == caught_up
    finally:
        tp.close()
