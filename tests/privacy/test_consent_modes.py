"""Property: consent history built by any mix of inline batches and deferred imports (with
catch-ups anywhere, and merges the events cause) equals a replay of the log."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import T0
from tests.privacy.test_consent import history_rows
from touchpoint.runtime import open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings

pytestmark = pytest.mark.slow  # Hypothesis over whole histories: CI runs it (pytest -m slow)

_example = itertools.count()
TYPES = ("unsubscribe", "consent_granted", "consent_withdrawn", "page_view")
CHANNELS = ("email", "sms", "phone")


@st.composite
def event(draw: st.DrawFn, i: int) -> dict[str, Any]:
    # known by an email, a phone or both: an event with both ties a customer known by the email
    # to one known by the phone, a merge
    email = f"p{draw(st.integers(0, 2))}@example.com"
    phone = f"+1415555010{draw(st.integers(0, 2))}"
    customer = draw(st.sampled_from([{"email": email}, {"phone": phone}]))
    if draw(st.integers(0, 3)) == 0:
        customer = {"email": email, "phone": phone}
    properties = draw(st.sampled_from([{}, {"list": "newsletter"}, {"purpose": "calls"}]))
    return {
        "id": f"e{i}",
        "type": draw(st.sampled_from(TYPES)),
        "channel": draw(st.sampled_from(CHANNELS)),
        "occurred_at": (T0 + timedelta(minutes=draw(st.integers(0, 500)))).isoformat(),
        "customer": customer,
        "properties": properties,
    }


@st.composite
def plans(draw: st.DrawFn) -> list[tuple[list[dict[str, Any]], bool, bool]]:
    n = draw(st.integers(1, 20))
    events = [draw(event(i)) for i in range(n)]
    steps = []
    i = 0
    while i < n:
        size = draw(st.integers(1, 6))
        steps.append((events[i : i + size], draw(st.booleans()), draw(st.booleans())))
        i += size
    return steps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans())
def test_any_mix_of_inline_and_deferred_batches_equals_a_replay(
    tmp_path_factory: pytest.TempPathFactory, plan: Any
) -> None:
    data_dir: Path = tmp_path_factory.mktemp(f"consent{next(_example)}")
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        for n, (batch, deferred, catch_up) in enumerate(plan):
            if deferred:
                path = data_dir / f"batch{n}.jsonl"
                path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in batch))
                import_file(tp, path, catch_up=False)
            else:
                assert not tp.ingestor.ingest(enumerate(batch)).rejected
            if catch_up:
                tp.projections.catch_up()
        tp.projections.catch_up()
        built = history_rows(tp)
        tp.projections.replay("consent")
        assert history_rows(tp) == built
    finally:
        tp.close()
