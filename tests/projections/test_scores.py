"""The scores projection on SQLite and PostgreSQL: inline on ingest with the breakdown, merges
refolding the survivor, ticks applying inactivity and decay crossings, crossings read once from
the `scores` stream, and a malformed score file changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import T0, interaction
from touchpoint.errors import ValidationError
from touchpoint.projections.events import Consumer
from touchpoint.runtime import Touchpoint
from touchpoint.services import scores as service
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.store import scores as store
from touchpoint.store.engine import read_connection

# Hand-checkable: no caps but one, a half-life of 10 days, one threshold, one inactivity rule.
MODELS = """
[[model]]
name = "lead"
half_life_days = 10
thresholds = [25]

[[model.rule]]
name = "buy"
type = "purchase"
points = 40

[[model.rule]]
name = "visit"
type = "page_view"
points = 2
cap = 4

[[model.rule]]
name = "unsubscribe"
type = "unsubscribe"
points = -30

[[model.inactivity]]
name = "quiet"
days = 30
points = -5
"""

MINUTES_A_DAY = 24 * 60


def at_day(n: float) -> int:
    return int(n * MINUTES_A_DAY)


def customer(tp: Touchpoint, email: str) -> str:
    with read_connection(tp.engine) as conn:
        _total, found = find_customers(conn, lookup_keys(email=email))
    return found[0].id


def lead(tp: Touchpoint, cid: str, day: float) -> service.CustomerScore:
    with read_connection(tp.engine) as conn:
        (score,) = service.scores_of(conn, tp, cid, at=T0 + timedelta(days=day))
    return score


@pytest.fixture
def scored(tp: Touchpoint) -> Touchpoint:
    service.apply_text(tp, MODELS)
    return tp


def test_ingest_scores_inline_with_its_breakdown(scored: Touchpoint) -> None:
    tp = scored
    tp.ingestor.ingest(
        enumerate(
            [
                interaction(id="v1", type="page_view", at=0, email="a@example.com"),
                interaction(id="v2", type="page_view", at=1, email="a@example.com"),
                interaction(id="v3", type="page_view", at=2, email="a@example.com"),
                interaction(id="p", type="purchase", at=at_day(10), email="a@example.com"),
            ]
        )
    )
    score = lead(tp, customer(tp, "a@example.com"), 20)
    # visits: 2 + 2, then capped; decayed two half-lives by day 20 -> 1; the purchase one -> 20
    assert [(a.rule, a.points) for a in score.awards] == [
        ("buy", 40.0),
        ("visit", 2.0),
        ("visit", 2.0),
    ]
    by_rule = {r.rule: (r.awards, round(r.points, 4)) for r in score.by_rule}
    assert by_rule == {"buy": (1, 20.0), "visit": (2, pytest.approx(1.0, abs=1e-4))}
    assert score.score == pytest.approx(21.0, abs=1e-4)
    with read_connection(tp.engine) as conn:
        now = store.decayed_scores(conn, "lead", T0 + timedelta(days=20))
    assert now == {customer(tp, "a@example.com"): pytest.approx(21.0, abs=1e-4)}


def test_a_merge_gives_the_survivor_every_award(scored: Touchpoint) -> None:
    tp = scored
    tp.ingestor.ingest(
        [
            (
                0,
                interaction(
                    id="p", type="purchase", at=0, email="a@example.com", phone="+14155550101"
                ),
            )
        ]
    )
    tp.ingestor.ingest([(0, interaction(id="v", type="page_view", at=5, email="b@example.com"))])
    loser = customer(tp, "b@example.com")
    tp.ingestor.ingest(  # the phone shows b is a: one person
        [
            (
                0,
                interaction(
                    id="link", type="page_view", at=9, email="b@example.com", phone="+14155550101"
                ),
            )
        ]
    )
    survivor = customer(tp, "a@example.com")
    assert survivor != loser
    score = lead(tp, survivor, 0.01)
    assert sorted(a.interaction_id or "" for a in score.awards) == ["link", "p", "v"]
    with read_connection(tp.engine) as conn:
        assert store.score_rows(conn, loser) == []


def test_a_tick_applies_inactivity_and_decay_crossings_once(scored: Touchpoint) -> None:
    tp = scored
    tp.ingestor.ingest([(0, interaction(id="p", type="purchase", at=0, email="a@example.com"))])
    cid = customer(tp, "a@example.com")
    consumer = Consumer("test-playbook", "scores")
    with read_connection(tp.engine) as conn:
        first = consumer.pending(conn)
        # 40 decays to 25 after 10 x log2(40/25) = 6.7807 days: the next thing due
        due = tp.projections.get("scores").next_due(conn)
    assert [(e.kind, e.subject, e.cause) for e in first] == [("score_rose_above", "lead:25", "p")]
    assert due is not None
    assert abs((due - T0).total_seconds() / 86_400 - 6.780719) < 1e-5
    with tp.engine.begin() as conn:
        consumer.done(conn, first[-1].position)
    for _ in range(2):  # ticking twice, or past, records the fall once
        tp.projections.tick(T0 + timedelta(days=40))
    tp.projections.tick(T0 + timedelta(days=41))
    with read_connection(tp.engine) as conn:
        later = consumer.pending(conn)
    assert [(e.kind, e.cause) for e in later] == [("score_fell_below", None)]
    # day 30 without activity: -5 at day 30; the purchase then is worth 40 / 2^3 = 5 -> 0
    score = lead(tp, cid, 30)
    assert [(a.rule, a.points) for a in score.awards] == [("quiet", -5.0), ("buy", 40.0)]
    assert score.score == pytest.approx(0.0, abs=1e-9)
    # a late event (no rule's) refolds the customer: the crossings it finds again keep their place
    late = interaction(
        id="late", type="email_sent", at=at_day(2), email="a@example.com", direction="outbound"
    )
    tp.ingestor.ingest([(0, late)])
    with read_connection(tp.engine) as conn:
        assert consumer.pending(conn) == later


def test_a_malformed_file_changes_nothing(scored: Touchpoint) -> None:
    tp = scored
    tp.ingestor.ingest([(0, interaction(id="p", type="purchase", at=0, email="a@example.com"))])
    cid = customer(tp, "a@example.com")
    before = lead(tp, cid, 1)
    broken = MODELS.replace("points = -30", 'points = "lots"')
    with pytest.raises(ValidationError, match="rule 'unsubscribe' \\(line 19\\): points must be"):
        service.apply_text(tp, broken)
    assert lead(tp, cid, 1) == before
    assert service.source_in_force(tp) == MODELS


def test_applying_a_file_rescores_all_history(scored: Touchpoint) -> None:
    tp = scored
    tp.ingestor.ingest([(0, interaction(id="p", type="purchase", at=0, email="a@example.com"))])
    cid = customer(tp, "a@example.com")
    result = service.apply_text(tp, MODELS.replace("points = 40", "points = 10"))
    assert result.models == ("lead",) and result.customers == 1 and result.events == 1
    assert lead(tp, cid, 0.01).awards[0].points == 10.0
    with read_connection(tp.engine) as conn:  # 10 never reached 25: the crossing is gone
        assert store.crossings_of(conn, cid) == []
