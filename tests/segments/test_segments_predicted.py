"""Predictive scores as a segment condition: `predicted.MODEL OP NUMBER` and its JSON form
`{"predicted": MODEL, "op": OP, "value": NUMBER}`, on the system of record (SQLite and
PostgreSQL), against memberships worked out by hand from hand-written `model_scores` rows.

    who   churn   conversion
    ann   0.9     0.1
    bob   0.6     -
    cat   0.2     0.7
    dan   -       -          (never scored: every `predicted` condition is false for him)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.domain.segments import RuleError, parse_rule, rule_from_json, rule_to_json
from touchpoint.projections.segments import rescore
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import models
from touchpoint.services import segments as service
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.services.demo import run_demo
from touchpoint.settings import Settings
from touchpoint.store import models as model_store
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import model_scores, segment_changes

NOW = datetime.now(UTC).replace(microsecond=0)
DEMO_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVERYONE = {"ann", "bob", "cat", "dan"}
SCORES: dict[str, dict[str, float]] = {
    "churn": {"ann": 0.9, "bob": 0.6, "cat": 0.2},
    "conversion": {"ann": 0.1, "cat": 0.7},
}
CASES: dict[str, set[str]] = {
    "predicted.churn >= 0.6": {"ann", "bob"},
    "predicted.churn > 0.6": {"ann"},
    "not predicted.churn >= 0.6": {"cat", "dan"},
    "predicted.churn != 0.6": {"ann", "cat"},
    "predicted.conversion < 0.5": {"ann"},
    "PREDICTED.conversion > 0.5 or predicted.churn < 0.3": {"cat"},
    "predicted.churn >= 0.5 and predicted.conversion >= 0.1": {"ann"},
}


def _write_scores(tp: Touchpoint, ids: dict[str, str], scores: dict[str, dict[str, float]]) -> None:
    with write_transaction(tp.engine) as conn:
        for model, held in scores.items():
            rows: list[dict[str, Any]] = [
                {
                    "customer_id": ids[who],
                    "version": 1,
                    "probability": p,
                    "reasons": [],
                    "scored_at": NOW,
                }
                for who, p in held.items()
            ]
            model_store.replace_scores(conn, model, rows)


@pytest.fixture
def people(tp: Touchpoint) -> dict[str, str]:
    """customer id -> who, with the scores of the table above."""
    events = [
        {
            "id": f"{who}-0",
            "type": "page_view",
            "channel": "web",
            "occurred_at": (NOW - timedelta(days=1)).isoformat(),
            "customer": {"email": f"{who}@example.com"},
        }
        for who in sorted(EVERYONE)
    ]
    report = tp.ingestor.ingest(enumerate(events))
    assert not report.rejected, report.rejected
    with read_connection(tp.engine) as conn:
        found = {
            find_customers(conn, lookup_keys(email=f"{who}@example.com"))[1][0].id: who
            for who in EVERYONE
        }
    _write_scores(tp, {who: cid for cid, who in found.items()}, SCORES)
    return found


def test_predicted_conditions_hold_for_the_members_worked_out_by_hand(
    tp: Touchpoint, people: dict[str, str]
) -> None:
    found = {}
    some = {c for c, who in people.items() if who in {"ann", "cat", "dan"}}
    with read_connection(tp.engine) as conn:
        for text in CASES:
            rule = parse_rule(text)
            everyone = {people[c] for c in store.evaluate(conn, rule, NOW)}
            scoped = {people[c] for c in store.evaluate(conn, rule, NOW, some)}
            [many] = store.evaluate_many(conn, [rule], NOW, set(people))
            found[text] = (everyone, scoped, {people[c] for c in many})
    assert found == {t: (e, e & {"ann", "cat", "dan"}, e) for t, e in CASES.items()}


def test_the_json_form_reads_as_the_language() -> None:
    document = {"predicted": "churn", "op": ">=", "value": 0.6}
    assert rule_from_json(document) == parse_rule("predicted.churn >= 0.6")
    assert rule_to_json(parse_rule("predicted.churn >= 0.6")) == document


def test_an_unknown_model_is_refused_naming_the_models() -> None:
    with pytest.raises(
        RuleError,
        match=r"segment 'x', line 2, column 11: no predictive model named 'lead' "
        r"\(there are: conversion, churn\)",
    ):
        parse_rule("age > 30 and\npredicted.lead > 0.5", name="x")
    with pytest.raises(RuleError, match=r"\$.or\[1\].predicted: no predictive model named 'vip'"):
        rule_from_json(
            {"or": [{"trait": "age", "op": ">", "value": 1}, {"predicted": "vip", "op": ">"}]}
        )
    with pytest.raises(RuleError, match=r"\$.op: expected one of"):
        rule_from_json({"predicted": "churn", "op": "in", "value": 0.5})


def _members(tp: Touchpoint, segment_id: str, people: dict[str, str]) -> set[str]:
    with read_connection(tp.engine) as conn:
        return {people[c] for c in store.members(conn, segment_id)}


def test_a_new_scoring_run_moves_the_members(tp: Touchpoint, people: dict[str, str]) -> None:
    ids = {who: cid for cid, who in people.items()}
    view = service.create_segment(
        tp, name="at risk", rule={"predicted": "churn", "op": ">=", "value": 0.6}
    )
    assert _members(tp, view.id, people) == {"ann", "bob"}
    projection: Any = tp.projections.get("segments")

    # a scoring run (what services.models.score does: replace the scores, then rescore)
    _write_scores(tp, ids, {"churn": {"bob": 0.3, "cat": 0.8, "dan": 0.65}})
    with write_transaction(tp.engine) as conn:
        assert rescore(conn, projection.moment) == {view.id: 2}
    assert _members(tp, view.id, people) == {"cat", "dan"}
    with read_connection(tp.engine) as conn:
        changes = conn.execute(
            select(segment_changes.c.customer_id, segment_changes.c.kind, segment_changes.c.cause)
            .where(segment_changes.c.segment_id == view.id)
            .where(segment_changes.c.cause == "scoring")
        ).all()
    assert sorted((people[c], kind, cause) for c, kind, cause in changes) == [
        ("ann", store.LEFT, "scoring"),
        ("bob", store.LEFT, "scoring"),
        ("cat", store.ENTERED, "scoring"),
        ("dan", store.ENTERED, "scoring"),
    ]

    # scores replaced without a rescore: the next tick evaluates the segment whole
    _write_scores(tp, ids, {"churn": {"ann": 0.7}})
    with write_transaction(tp.engine) as conn:
        [segment] = [s for s in store.all_segments(conn) if s.id == view.id]
        assert segment.evaluated_at is not None
        projection.tick(conn, segment.evaluated_at + timedelta(seconds=1))
    assert _members(tp, view.id, people) == {"ann"}


@pytest.mark.slow  # trains a model on a small demo business
def test_training_and_scoring_move_the_members(tmp_path: Path) -> None:
    """Through services.models: the members follow each run's model_scores rows, read here
    with a plain filter over the table."""
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        run_demo(tp, customers=400, seed=5, now=DEMO_NOW)
        cuts = (0.05, 0.1, 0.2, 0.3, 0.5)
        made = {
            cut: service.create_segment(tp, name=f"leaving {cut}", rule=f"predicted.churn >= {cut}")
            for cut in cuts
        }
        assert {_ids(tp, v.id) == set() for v in made.values()} == {True}  # no run yet

        def expected(cut: float) -> set[str]:
            with read_connection(tp.engine) as conn:
                rows = conn.execute(
                    select(model_scores.c.customer_id, model_scores.c.probability).where(
                        model_scores.c.model == "churn"
                    )
                ).all()
            return {cid for cid, p in rows if p >= cut}

        models.train(tp, "churn", at=DEMO_NOW, horizon="90d")
        first = {cut: expected(cut) for cut in cuts}
        assert any(first.values())
        assert {cut: _ids(tp, v.id) for cut, v in made.items()} == first
        models.score(tp, "churn", at=DEMO_NOW + timedelta(days=60))
        second = {cut: expected(cut) for cut in cuts}
        assert second != first  # the run moved someone across a cut
        assert {cut: _ids(tp, v.id) for cut, v in made.items()} == second
    finally:
        tp.close()


def _ids(tp: Touchpoint, segment_id: str) -> set[str]:
    with read_connection(tp.engine) as conn:
        return store.members(conn, segment_id)
