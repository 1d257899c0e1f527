"""The lifecycle projection on both engines: kept current on ingest, equal to a replay, ticked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.builders import T0, interaction
from touchpoint.errors import ValidationError
from touchpoint.lifecycle.model import load_model
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.store import lifecycle as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import customer_stages, stage_transitions

DAY = 24 * 60  # builder minutes


def ingest(tp: Touchpoint, *items: dict[str, Any]) -> None:
    report = tp.ingestor.ingest(enumerate(items))
    assert not report.rejected, report.rejected


def snapshot(tp: Touchpoint) -> tuple[list[Any], list[Any]]:
    """Every customer's stage and state, and every transition, in a comparable order."""
    with read_connection(tp.engine) as conn:
        s, t = customer_stages.c, stage_transitions.c
        stages = conn.execute(
            select(s.customer_id, s.stage, s.since, s.state, s.due_at).order_by(s.customer_id)
        ).all()
        transitions = conn.execute(
            select(
                t.customer_id, t.from_stage, t.to_stage, t.at, t.interaction_id, t.reason
            ).order_by(t.customer_id, t.at, t.seq)
        ).all()
    return [tuple(r) for r in stages], [tuple(r) for r in transitions]


def customer_of(tp: Touchpoint, email: str) -> str:
    with read_connection(tp.engine) as conn:
        total, found = find_customers(conn, lookup_keys(email=email))
        assert total == 1
        return found[0].id


def moves(tp: Touchpoint, email: str) -> list[tuple[str | None, str, str | None]]:
    with read_connection(tp.engine) as conn:
        return [
            (h["from_stage"], h["to_stage"], h["interaction_id"])
            for h in store.history(conn, customer_of(tp, email))
        ]


def test_ingest_keeps_stage_and_history_current(tp: Touchpoint) -> None:
    ingest(
        tp,
        interaction(id="v", type="page_view", at=0, email="ann@example.com"),
        interaction(id="s", type="signup", at=5, email="ann@example.com"),
    )
    ingest(tp, interaction(id="p", type="purchase", at=9, revenue=25.0, email="ann@example.com"))
    assert moves(tp, "ann@example.com") == [
        (None, "reach", "v"),
        ("reach", "acquisition", "s"),
        ("acquisition", "conversion", "p"),
    ]
    with read_connection(tp.engine) as conn:
        current = store.current_stage(conn, customer_of(tp, "ann@example.com"))
    assert current is not None
    assert current["stage"] == "conversion" and current["since"] == T0 + timedelta(minutes=9)


def test_a_late_event_is_folded_in_its_place(tp: Touchpoint) -> None:
    ingest(tp, interaction(id="p", type="purchase", at=100, revenue=5.0, email="bo@example.com"))
    ingest(tp, interaction(id="late", type="ad_click", channel="ad", at=0, email="bo@example.com"))
    assert moves(tp, "bo@example.com") == [(None, "reach", "late"), ("reach", "conversion", "p")]
    before = snapshot(tp)
    tp.projections.replay("lifecycle", model=load_model())
    assert snapshot(tp) == before


def test_a_merge_recomputes_the_survivor_from_the_merged_log(tp: Touchpoint) -> None:
    ingest(tp, interaction(id="a1", type="page_view", at=0, email="cy@example.com"))
    ingest(tp, interaction(id="b1", type="purchase", at=50, revenue=9.0, phone="+14155550100"))
    ingest(
        tp,
        interaction(
            id="link",
            type="call",
            channel="phone",
            at=60,
            email="cy@example.com",
            phone="+14155550100",
            direction="inbound",
        ),
    )
    assert moves(tp, "cy@example.com") == [
        (None, "reach", "a1"),
        ("reach", "conversion", "b1"),
        ("conversion", "retention", "link"),
    ]
    stages, transitions = snapshot(tp)
    assert len(stages) == 1 and {t[0] for t in transitions} == {stages[0][0]}
    tp.projections.replay("lifecycle", model=load_model())
    assert snapshot(tp) == (stages, transitions)


def test_tick_moves_inactive_customers_once_and_replay_agrees(tp: Touchpoint) -> None:
    ingest(tp, interaction(id="p", type="purchase", at=0, revenue=5.0, email="di@example.com"))
    first = tp.projections.tick(T0 + timedelta(days=100))[0]
    assert first.moved == {"at_risk": 1}
    assert tp.projections.tick(T0 + timedelta(days=100))[0].moved == {}  # idempotent
    assert tp.projections.tick(T0 + timedelta(days=50))[0].moved == {}  # the clock never runs back
    assert moves(tp, "di@example.com") == [
        (None, "conversion", "p"),
        ("conversion", "at_risk", None),
    ]
    after_tick = snapshot(tp)
    tp.projections.replay("lifecycle", model=load_model())
    assert snapshot(tp) == after_tick
    # a later event folds in after the timed move; one before it would refold
    ingest(
        tp,
        interaction(id="back", type="purchase", at=101 * DAY, revenue=1.0, email="di@example.com"),
    )
    assert moves(tp, "di@example.com")[-1] == ("at_risk", "retention", "back")


def test_stage_counts_now_and_at_a_past_date(tp: Touchpoint) -> None:
    ingest(
        tp,
        interaction(id="e1", type="page_view", at=0, email="e@example.com"),
        interaction(id="e2", type="purchase", at=2 * DAY, revenue=3.0, email="e@example.com"),
        interaction(id="f1", type="signup", at=DAY, email="f@example.com"),
    )
    with read_connection(tp.engine) as conn:
        assert store.stage_counts(conn) == {"conversion": 1, "acquisition": 1}
        assert store.stage_counts(conn, T0 + timedelta(hours=1)) == {"reach": 1}
        assert store.stage_counts(conn, T0 + timedelta(days=1)) == {"reach": 1, "acquisition": 1}


def test_replay_with_another_model_reports_what_changed(tp: Touchpoint) -> None:
    ingest(
        tp,
        interaction(id="g1", type="page_view", at=0, email="g@example.com"),
        interaction(id="g2", type="purchase", at=1, revenue=3.0, email="g@example.com"),
        interaction(id="h1", type="lead_form", at=0, email="h@example.com"),
    )
    report = tp.projections.replay("lifecycle", model=load_model("hubspot"))
    assert (report.customers, report.events, report.customers_moved) == (2, 3, 2)
    assert report.stages_before == {"conversion": 1, "acquisition": 1}
    assert report.stages_after == {"customer": 1, "lead": 1}
    assert (report.previous_model, report.model) == ("default@2", "hubspot@1")
    # ingestion now projects with the model in force
    ingest(tp, interaction(id="h2", type="purchase", at=5, revenue=1.0, email="h@example.com"))
    assert moves(tp, "h@example.com")[-1] == ("lead", "customer", "h2")


def test_a_bad_model_file_is_refused_and_the_old_model_stays(
    tp: Touchpoint, tmp_path: Path
) -> None:
    ingest(tp, interaction(id="i1", type="signup", at=0, email="i@example.com"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "x"\nversion = 1\n[[stages]]\nname = "Bad Name"\n')
    with pytest.raises(ValidationError, match=r"bad\.toml: line 5: stages\[1\]\.name"):
        tp.projections.replay("lifecycle", model=load_model(bad))
    with read_connection(tp.engine) as conn:
        assert store.read_meta(conn)["model"] == "default@2"
        assert store.stage_counts(conn) == {"acquisition": 1}
