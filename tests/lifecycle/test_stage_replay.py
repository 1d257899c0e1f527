"""The columnar replay visits only the interactions that matter yet equals the plain fold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.demo.generator import generate_interactions
from touchpoint.domain.stage_engine import StageEngine, StageState
from touchpoint.domain.stage_replay import LOG_SCHEMA, replay_log
from touchpoint.lifecycle.model import BUILTIN_MODELS, load_model

UNTIL = datetime.fromisoformat("2027-06-01T00:00:00+00:00").timestamp()


def log_table(rows: list[dict[str, Any]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r["customer_id"], r["at_us"], r["id"]))
    return pa.Table.from_pylist(rows, schema=LOG_SCHEMA)


def plain_fold(engine: StageEngine, log: pa.Table, until: float | None) -> dict[str, Any]:
    by: dict[str, list[Any]] = {}
    for r in log.to_pylist():
        props = orjson.loads(r["properties"]) if r["properties"] else None
        event = (
            r["at_us"] / 1e6,
            r["id"],
            r["type"],
            r["channel"],
            r["direction"],
            r["revenue"],
            props,
        )
        by.setdefault(r["customer_id"], []).append(event)
    result = {}
    for cid, events in by.items():
        state = StageState()
        result[cid] = (state, engine.advance(state, events, until))
    return result


def demo_rows(customers: int) -> list[dict[str, Any]]:
    rows = []
    for e in generate_interactions(customers, seed=3, end=datetime(2026, 11, 1, tzinfo=UTC)):
        at = datetime.fromisoformat(e["occurred_at"])
        rows.append(
            {
                "customer_id": "p" + e["id"].split("-")[1],  # demo-{person}-{n}
                "at_us": round(at.timestamp() * 1e6),
                "id": e["id"],
                "type": e["type"],
                "channel": e["channel"],
                "direction": e.get("direction", "inbound"),
                "revenue": e.get("revenue"),
                "properties": orjson.dumps(e["properties"]).decode()
                if e.get("properties")
                else None,
            }
        )
    return rows


@pytest.fixture(scope="module")
def demo_log() -> pa.Table:
    return log_table(demo_rows(400))


@pytest.mark.parametrize("model", BUILTIN_MODELS)
@pytest.mark.parametrize("until", [None, UNTIL])
def test_columnar_replay_equals_plain_fold_on_demo_data(
    demo_log: pa.Table, model: str, until: float | None
) -> None:
    engine = StageEngine(load_model(model))
    expected = plain_fold(engine, demo_log, until)
    got = {cid: (state, out) for cid, state, out in replay_log(engine, demo_log, until)}
    assert got.keys() == expected.keys()
    assert got == expected
    assert sum(len(out) for _, out in got.values()) > len(got)  # customers did move


TYPES = ["page_view", "email_sent", "purchase", "signup", "survey_response", "cancellation", "call"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2", "c3"]),
            st.integers(0, 400 * 86_400),
            st.sampled_from(TYPES),
            st.sampled_from(["inbound", "outbound"]),
            st.sampled_from([None, 20.0, -5.0]),
            st.sampled_from(
                [None, '{"survey": "nps", "score": 2}', '{"survey": "nps", "score": 10}']
            ),
        ),
        max_size=40,
    ),
    until=st.one_of(st.none(), st.integers(0, 800 * 86_400)),
)
def test_columnar_replay_equals_plain_fold_on_random_logs(
    rows: list[Any], until: int | None
) -> None:
    engine = StageEngine(load_model("default"))
    log = log_table(
        [
            {
                "customer_id": c,
                "at_us": s * 1_000_000,
                "id": f"e{i:03d}",
                "type": t,
                "channel": "web",
                "direction": d,
                "revenue": r,
                "properties": p,
            }
            for i, (c, s, t, d, r, p) in enumerate(rows)
        ]
    )
    horizon = float(until) if until is not None else None
    got = {cid: (state, out) for cid, state, out in replay_log(engine, log, horizon)}
    assert got == plain_fold(engine, log, horizon)
