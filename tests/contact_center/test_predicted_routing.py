"""A predicted churn (or conversion) score in routing rules (issues 11 and 13): a rule matches a
customer whose latest score of that model is at least its threshold, never one not scored; the
service reads the scores with the other facts, and the router says the rule applied. On SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.builders import interaction
from tests.contact_center.center import CONFIG, T0, Center
from touchpoint.contact_center import router
from touchpoint.contact_center.config import parse_toml
from touchpoint.domain.routing import CustomerFacts, RoutingRule, apply_rules
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center as service
from touchpoint.store import models as model_store
from touchpoint.store.engine import read_connection, write_transaction

RULE = "likely to churn first"
PREDICTED = (
    CONFIG
    + f"""
[[rules]]
name = "{RULE}"
predicted = "churn"
predicted_above = 0.6
priority = 7
"""
)


@pytest.mark.parametrize(
    ("scores", "matches"),
    [
        ({"churn": 0.61}, True),
        ({"churn": 0.6}, True),  # at least the threshold
        ({"churn": 0.59}, False),
        ({"conversion": 0.9}, False),  # another model's score says nothing
        ({}, False),  # not scored: no match
    ],
)
def test_a_predicted_score_rule_matches_from_its_threshold_up(
    scores: dict[str, float], matches: bool
) -> None:
    rule = RoutingRule(name=RULE, predicted="churn", predicted_above=0.6, priority=7)
    outcome = apply_rules((rule,), CustomerFacts(predicted=scores), "support", T0)
    assert (outcome.applied, outcome.priority) == (((RULE,), 7) if matches else ((), 0))


def test_an_unknown_model_in_a_rule_is_refused_naming_it_and_its_line() -> None:
    text = PREDICTED.replace('predicted = "churn"', 'predicted = "lifetime"')
    with pytest.raises(ValidationError) as caught:
        parse_toml(text)
    line = 1 + text[: text.index('predicted = "lifetime"')].count("\n")  # the field's own line
    assert str(caught.value).endswith(
        f"line {line}: rules[1].predicted: no predictive model 'lifetime'; one of conversion, churn"
    )


def scored(tp: Touchpoint, email: str, churn: float) -> str:
    tp.ingestor.ingest([(0, interaction(type="signup", email=email, at=-60 * 24))])
    with read_connection(tp.engine) as conn:
        customer_id, _facts = service.facts_for(conn, {"email": email}, default_region="US")
    assert customer_id is not None
    with write_transaction(tp.engine) as conn:
        model_store.replace_scores(
            conn,
            "churn",
            [
                {
                    "customer_id": customer_id,
                    "version": 1,
                    "probability": churn,
                    "reasons": [],
                    "scored_at": datetime(2026, 5, 31, tzinfo=UTC),
                }
            ],
        )
    return customer_id


def test_the_service_reads_the_churn_score_and_the_router_applies_the_rule(
    tp: Touchpoint,
) -> None:
    cc = Center(tp, PREDICTED)
    scored(tp, "kim@example.com", 0.8)
    with read_connection(tp.engine) as conn:
        customer_id, facts = service.facts_for(
            conn, {"email": "kim@example.com"}, default_region="US"
        )
        _none, stranger = service.facts_for(
            conn, {"email": "nobody@example.com"}, default_region="US"
        )
    assert facts.predicted == {"churn": pytest.approx(0.8)}
    assert stranger.predicted == {}
    offered = cc.at(0).run(
        router.offer,
        queue="support",
        channel="phone",
        identity={"email": "kim@example.com"},
        customer_id=customer_id,
        facts=facts,
    )
    assert offered.rules == (RULE,)
    with read_connection(tp.engine) as conn:
        row = router.store.contact(conn, offered.id)
    assert row is not None and row["priority"] == 7
