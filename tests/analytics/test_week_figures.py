"""The overview's two weeks worked out in one query per report (weekly moves, the KPIs'
revenue and surveys, the service level) against figures worked out by hand, and against each
report run with the week as its period — with sales, answers, calls and moves exactly on the
weeks' edges (a week holds its start, not its end), on DuckDB, SQLite and PostgreSQL.

NOW is 2026-06-01 00:00 UTC: the last 7 days are [May 25, June 1), the week before
[May 18, May 25)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.analytics.conftest import NOW, Lab
from tests.builders import interaction
from touchpoint.analytics import contact_center, kpis, transitions
from touchpoint.analytics.contact_center import TOTAL
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources

EDGE = datetime(2026, 5, 25, tzinfo=UTC)  # this week's start
START = datetime(2026, 5, 18, tzinfo=UTC)  # the week before's
SECOND = timedelta(seconds=1)


def sale(who: str, at: datetime, revenue: float) -> dict[str, Any]:
    return interaction(type="purchase", at=at, external_id=who, revenue=revenue)


def answer(who: str, at: datetime, **score: int) -> dict[str, Any]:
    return interaction(type="survey_response", at=at, external_id=who, properties=score)


def call(who: str, at: datetime, wait: int, agent: str | None) -> dict[str, Any]:
    return interaction(
        type="call",
        channel="phone",
        at=at,
        external_id=who,
        agent=agent,
        queue="support",
        outcome="answered" if agent else "abandoned",
        properties={"wait_s": wait},
    )


def seed(lab: Lab) -> None:
    lab.ingest(
        [
            sale("a", EDGE, 10.0),  # this week: its start is in it
            sale("b", EDGE - SECOND, 5.0),  # the week before
            sale("c", START, 7.0),  # the week before: its start
            sale("d", START - SECOND, 100.0),  # neither
            sale("e", NOW, 1000.0),  # "now" is in no week
            answer("a", EDGE + timedelta(days=1), csat=4),
            answer("b", START + timedelta(days=1), csat=2),
            answer("c", EDGE + timedelta(days=2), nps=10),  # promoter
            answer("d", EDGE + timedelta(days=3), nps=3),  # detractor: NPS 0
            call("a", EDGE + timedelta(hours=1), 10, "ann"),  # within the 20 s
            call("b", EDGE + timedelta(hours=2), 40, "bob"),  # not: SL 50%
            call("c", START, 5, "ann"),  # the week before: SL 100%
            call("d", START + timedelta(hours=1), 30, None),  # abandoned: not in SL
        ]
    )
    lab.set_transitions(
        [
            ("a", None, "reach", START + timedelta(days=2)),
            ("a", "reach", "conversion", EDGE),  # this week
            ("b", "reach", "conversion", EDGE - SECOND),  # the week before
            ("c", "retention", "churned", START),  # the week before
            ("d", "conversion", "churned", NOW),  # in no week
        ]
    )


# (the week before, the last 7 days), by hand from seed()
BY_HAND = {
    "conversions": (1, 1),
    "churned": (1, 0),
    "revenue": (12.0, 10.0),
    "csat": (2.0, 4.0),
    "nps": (None, 0.0),
    "sl": (1.0, 0.5),
}


def grouped(lab: Lab) -> dict[str, tuple[Any, Any]]:
    """The figures as the overview works them out: one query per report for both weeks."""
    edges = transitions.week_edges(NOW, 2)
    made = make_request(report_spec("transitions"), at=NOW)
    with open_sources(lab.tp.settings, lab.engine) as sources:
        weekly = transitions.weekly_moves(sources, made, weeks=12)
        money = kpis.headline_by_window(sources, made, edges)
        levels = contact_center.service_level_by_window(sources, made, edges)
    return {
        "conversions": tuple(weekly.get("conversion", [0] * 12)[-2:]),
        "churned": tuple(weekly.get("churned", [0] * 12)[-2:]),
        "revenue": (money[0]["net_revenue"], money[1]["net_revenue"]),
        "csat": (money[0]["csat"], money[1]["csat"]),
        "nps": (money[0]["nps"], money[1]["nps"]),
        "sl": (levels[0], levels[1]),
    }


def per_report(lab: Lab, start: datetime, end: datetime) -> dict[str, Any]:
    """The same figures from the reports themselves, the week as their period."""
    moves = lab.rows("transitions", start=start, end=end)
    values = {r["kpi"]: r["value"] for r in lab.rows("kpis", start=start, end=end)}
    queues = lab.rows("contact-center", start=start, end=end, by="queue")
    total = [r for r in queues if r["queue"] == TOTAL] or queues[:1]
    return {
        "conversions": sum(r["customers"] for r in moves if r["to_stage"] == "conversion"),
        "churned": sum(r["customers"] for r in moves if r["to_stage"] == "churned"),
        "revenue": values["net_revenue"],
        "csat": values["csat"],
        "nps": values["nps"],
        "sl": total[0]["sl"] if total else None,
    }


def test_both_weeks_in_one_query_each_are_what_the_reports_give_per_week(lab: Lab) -> None:
    seed(lab)
    assert grouped(lab) == BY_HAND
    before, last = per_report(lab, START, EDGE), per_report(lab, EDGE, NOW)
    assert {k: (before[k], last[k]) for k in BY_HAND} == BY_HAND


def test_a_week_with_nothing_has_no_figures_but_no_revenue_is_none(lab: Lab) -> None:
    lab.ingest([sale("a", EDGE, 10.0)])
    lab.set_transitions([])
    found = grouped(lab)
    assert found["revenue"] == (None, 10.0)  # the overview shows the empty week's as 0.00
    assert found["csat"] == found["nps"] == found["sl"] == (None, None)
    assert found["conversions"] == found["churned"] == (0, 0)
