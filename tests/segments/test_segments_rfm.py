"""RFM as a segment condition: `rfm.group = "…"`, `rfm in (…)` and the JSON form `{"rfm": […]}`,
on the system of record (SQLite and PostgreSQL), against groups worked out by hand.

Five purchasing customers with distinct values, so with n = 5 the nearest-rank quintile edges
are the values of ranks ceil(5 x 0.2) = 1, 2, 3 and 4, and each score is the customer's rank:

    who  last purchase  purchases  revenue    R  F  M   FM = (F + M + 1) // 2   group
    ann   1 day ago         5        500      5  5  5   5                       champions
    bob   2 days ago        1         10      4  1  1   1                       promising
    dan  10 days ago        2        300      3  2  3   3                       need_attention
    eve  50 days ago        3        200      2  3  2   3                       at_risk
    cat 100 days ago        4        400      1  4  4   4                       at_risk

(R counts from the most recent: 5 for ann, 1 for cat.) fay never purchased and gus's one purchase
has no revenue (not a purchase with money in, as analytics.rfm counts them): neither has a
group, so `rfm…` is false for them and its `not` true.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from touchpoint.domain.segments import RuleError, parse_rule, rule_from_json
from touchpoint.runtime import Touchpoint
from touchpoint.services import segments as service
from touchpoint.services.customers import find_customers, lookup_keys
from touchpoint.store import segments as store
from touchpoint.store.engine import read_connection

NOW = datetime.now(UTC).replace(microsecond=0)
# who -> [(days ago, revenue)] of each purchase
PURCHASES: dict[str, list[tuple[int, float]]] = {
    "ann": [(1, 100), (2, 100), (3, 100), (4, 100), (5, 100)],
    "bob": [(2, 10)],
    "dan": [(10, 150), (11, 150)],
    "eve": [(50, 100), (51, 50), (52, 50)],
    "cat": [(100, 100), (101, 100), (102, 100), (103, 100)],
    "gus": [(3, 0)],
}
EVERYONE = {"ann", "bob", "cat", "dan", "eve", "fay", "gus"}
CASES: dict[str, set[str]] = {
    'rfm.group = "champions"': {"ann"},
    'rfm in ("at_risk", "promising")': {"bob", "cat", "eve"},
    'RFM.group in ("need_attention")': {"dan"},
    'not rfm.group = "champions"': EVERYONE - {"ann"},
    'rfm = "at_risk" and purchased >= 4 times': {"cat"},
    'rfm in ("lost", "hibernating", "new", "loyal")': set(),
}


def interactions() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for who, bought in PURCHASES.items():
        for n, (days, revenue) in enumerate(bought):
            at = NOW - timedelta(days=days)
            found.append(_event(f"{who}-{n}", who, "purchase", at, revenue=revenue))
    found.append(_event("fay-0", "fay", "page_view", NOW - timedelta(days=1)))
    return found


def _event(id_: str, who: str, kind: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "type": kind,
        "channel": "web",
        "occurred_at": at.isoformat(),
        "customer": {"email": f"{who}@example.com"},
        **extra,
    }


@pytest.fixture
def people(tp: Touchpoint) -> dict[str, str]:
    """customer id -> who."""
    report = tp.ingestor.ingest(enumerate(interactions()))
    assert not report.rejected, report.rejected
    with read_connection(tp.engine) as conn:
        return {
            find_customers(conn, lookup_keys(email=f"{who}@example.com"))[1][0].id: who
            for who in EVERYONE
        }


def test_rfm_conditions_hold_for_the_groups_worked_out_by_hand(
    tp: Touchpoint, people: dict[str, str]
) -> None:
    found = {}
    with read_connection(tp.engine) as conn:
        for text, _ in CASES.items():
            everyone = {people[c] for c in store.evaluate(conn, parse_rule(text), NOW)}
            some = {c for c, who in people.items() if who in {"ann", "cat", "fay"}}
            scoped = {people[c] for c in store.evaluate(conn, parse_rule(text), NOW, some)}
            [many] = store.evaluate_many(conn, [parse_rule(text)], NOW, set(people))
            found[text] = (everyone, scoped, {people[c] for c in many})
    assert found == {t: (e, e & {"ann", "cat", "fay"}, e) for t, e in CASES.items()}


def test_a_saved_rfm_segment_in_the_json_form(tp: Touchpoint, people: dict[str, str]) -> None:
    view = service.create_segment(tp, name="keep", rule={"rfm": ["at_risk", "cant_lose"]})
    assert view.rule_json == {"rfm": ["at_risk", "cant_lose"]}
    with read_connection(tp.engine) as conn:
        assert {people[c] for c in store.members(conn, view.id)} == {"cat", "eve"}
    assert rule_from_json({"rfm": "champions"}) == parse_rule('rfm.group = "champions"')


def test_an_unknown_rfm_group_is_refused_with_the_names() -> None:
    with pytest.raises(RuleError, match="no RFM group named 'vip' \\(there are: champions, loyal"):
        parse_rule('rfm.group = "vip"', name="x")
    with pytest.raises(RuleError, match=r"\$.rfm: expected a non-empty list"):
        rule_from_json({"rfm": []})
