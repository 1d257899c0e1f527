"""The stage engine on hand-built journeys through the shipped models (no database)."""

from __future__ import annotations

import pytest

from touchpoint.domain.stage_engine import StageEngine, StageState, Transition
from touchpoint.lifecycle.model import load_model

from .journeys import DAY, T0, ev


@pytest.fixture(scope="module")
def default() -> StageEngine:
    return StageEngine(load_model("default"))


def moves(transitions: list[Transition]) -> list[tuple[str | None, str, float]]:
    return [(t.from_stage, t.to_stage, round((t.at - T0) / DAY, 3)) for t in transitions]


def test_a_journey_climbs_the_default_progression(default: StageEngine) -> None:
    journey = [
        ev("ad_click", 0),
        ev("page_view", 0.1),
        ev("signup", 1),
        ev("purchase", 2, revenue=30),
        ev("purchase", 40, revenue=30),
        ev("purchase", 80, revenue=30),
        ev("referral", 81, role="referrer"),
    ]
    state = StageState()
    assert moves(default.advance(state, journey)) == [
        (None, "reach", 0),
        ("reach", "acquisition", 1),
        ("acquisition", "conversion", 2),
        ("conversion", "retention", 40),
        ("retention", "loyalty", 80),
        ("loyalty", "advocacy", 81),
    ]
    assert state.stage == "advocacy" and state.purchases == 3 and state.spend == 90


def test_a_first_purchase_jumps_straight_to_conversion(default: StageEngine) -> None:
    transitions = default.advance(StageState(), [ev("purchase", 0, revenue=10)])
    assert [(t.from_stage, t.to_stage, t.reason) for t in transitions] == [
        (None, "conversion", "first purchase")
    ]


def test_inactivity_puts_a_customer_at_risk_then_churned_when_due(default: StageEngine) -> None:
    state = StageState()
    default.advance(state, [ev("purchase", 0, revenue=10)])
    assert default.next_due(state) == T0 + 90 * DAY
    assert default.advance(state, [], until=T0 + 89 * DAY) == []
    assert moves(default.advance(state, [], until=T0 + 200 * DAY)) == [
        ("conversion", "at_risk", 90),
        ("at_risk", "churned", 180),
    ]
    assert default.next_due(state) is None
    # buying again after churning is a win-back; the next purchase ends it
    assert moves(default.advance(state, [ev("purchase", 201, revenue=5)])) == [
        ("churned", "win_back", 201)
    ]
    assert moves(default.advance(state, [ev("purchase", 230, revenue=5)])) == [
        ("win_back", "loyalty", 230)  # three purchases within 365 days by now
    ]


def test_a_gap_between_events_fires_inactivity_at_the_moment_it_fell_due(
    default: StageEngine,
) -> None:
    transitions = default.advance(
        StageState(), [ev("purchase", 0, revenue=10), ev("page_view", 100)]
    )
    assert moves(transitions) == [(None, "conversion", 0), ("conversion", "at_risk", 90)]


def test_a_detractor_is_at_risk_until_they_buy_again(default: StageEngine) -> None:
    journey = [
        ev("purchase", 0, revenue=10),
        ev("survey_response", 5, survey="nps", score=3),
        ev("page_view", 6),
        ev("purchase", 7, revenue=10),
    ]
    assert moves(default.advance(StageState(), journey)) == [
        (None, "conversion", 0),
        ("conversion", "at_risk", 5),
        ("at_risk", "retention", 7),
    ]


def test_unresolved_complaints_count_opened_minus_resolved(default: StageEngine) -> None:
    journey = [
        ev("purchase", 0, revenue=10),
        ev("ticket_opened", 1),  # retention: a post-purchase service contact
        ev("ticket_resolved", 2),
        ev("ticket_opened", 3),
        ev("ticket_opened", 4),  # two open now
    ]
    assert [t.to_stage for t in default.advance(StageState(), journey)] == [
        "conversion",
        "retention",
        "at_risk",
    ]


def test_prospects_do_not_become_at_risk(default: StageEngine) -> None:
    state = StageState()
    default.advance(state, [ev("page_view", 0), ev("signup", 1)], until=T0 + 400 * DAY)
    assert state.stage == "acquisition"


def test_spend_counts_refunds_negative(default: StageEngine) -> None:
    journey = [
        ev("purchase", 0, revenue=200),
        ev("refund", 1, revenue=-150),
        ev("purchase", 2, revenue=100),  # net 150 < 250: not loyal by spend
    ]
    state = StageState()
    default.advance(state, journey)
    assert state.stage == "retention" and state.spend == 150


def test_folding_in_pieces_equals_folding_at_once(default: StageEngine) -> None:
    journey = [
        ev("page_view", 0),
        ev("purchase", 1, revenue=50),
        ev("survey_response", 20, survey="csat", score=1),
        ev("purchase", 300, revenue=50),
        ev("review", 301, rating=5),
    ]
    whole = StageState()
    expected = default.advance(whole, journey, until=T0 + 500 * DAY)
    pieces = StageState()
    got = []
    for i in range(0, len(journey), 2):
        got += default.advance(pieces, journey[i : i + 2], until=T0 + 10 * DAY)
        pieces = StageState.from_json(pieces.to_json())  # through storage
    got += default.advance(pieces, [], until=T0 + 500 * DAY)
    assert got == expected and pieces == whole


def test_hubspot_model_moves_forward_only() -> None:
    hubspot = StageEngine(load_model("hubspot"))
    journey = [
        ev("email_opened", 0, direction="outbound"),
        ev("signup", 1),
        ev("purchase", 2, revenue=10),
        ev("lead_form", 3),  # a lower stage's rule: no move back
        ev("cancellation", 4),
    ]
    state = StageState()
    assert [t.to_stage for t in hubspot.advance(state, journey, until=T0 + 900 * DAY)] == [
        "subscriber",
        "lead",
        "customer",
    ]


def test_five_stage_model_uses_its_own_vocabulary() -> None:
    five = StageEngine(load_model("five_stage"))
    state = StageState()
    five.advance(state, [ev("page_view", 0), ev("cart_added", 1), ev("purchase", 2, revenue=1)])
    five.advance(state, [ev("cancellation", 3)])
    assert state.stage == "churned"
    five.advance(state, [ev("purchase", 4, revenue=1)])
    assert state.stage == "retention"
