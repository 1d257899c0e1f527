"""`cohorts --interval week` groups by the ISO week (Monday start) of the first purchase and counts
weeks since, not months: a hand-built history, worked out by hand, on the three engines."""

from __future__ import annotations

from datetime import date

import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction


def buy(who: str, month: int, dom: int, revenue: float) -> dict:
    return interaction(
        type="purchase", channel="web", at=day(month, dom), external_id=who, revenue=revenue
    )


HISTORY = [
    buy("x", 3, 2, 100.0),  # Monday 2 March: week of 2 March
    buy("x", 3, 11, 40.0),  # Wednesday 11 March: one week later
    buy("x", 3, 25, 10.0),  # Wednesday 25 March: three weeks later
    buy("y", 3, 8, 50.0),  # Sunday 8 March: still the week of 2 March
    buy("y", 3, 9, 20.0),  # Monday 9 March: the next week
    buy("z", 3, 9, 70.0),  # Monday 9 March: the week of 9 March
]


def test_weekly_cohorts_count_weeks_since_the_first_purchase_week(lab: Lab) -> None:
    lab.ingest(HISTORY)
    got = [
        (r["cohort"], r["period"], r["cohort_size"], r["customers"], r["revenue"])
        for r in lab.rows("cohorts", interval="week")
    ]
    assert got == [
        (date(2026, 3, 2), 0, 2, 2, 150.0),  # x and y
        (date(2026, 3, 2), 1, 2, 2, 60.0),  # x on the 11th, y on the 9th
        (date(2026, 3, 2), 3, 2, 1, 10.0),  # x on the 25th
        (date(2026, 3, 9), 0, 1, 1, 70.0),  # z
    ]
    by_period = {r["period"]: r for r in lab.rows("cohorts", interval="week")[:3]}
    assert by_period[1]["revenue_retention"] == pytest.approx(60 / 150)
    assert by_period[3]["retention"] == pytest.approx(1 / 2)


def test_monthly_cohorts_are_still_the_default(lab: Lab) -> None:
    lab.ingest(HISTORY)
    (march,) = lab.rows("cohorts")  # every purchase is in March: one cohort, one period
    assert (march["cohort"], march["period"], march["cohort_size"]) == (date(2026, 3, 1), 0, 3)
    assert march["revenue"] == pytest.approx(290.0)


def test_daily_cohorts(lab: Lab) -> None:
    lab.ingest(HISTORY)
    rows = [(r["cohort"], r["period"], r["customers"]) for r in lab.rows("cohorts", interval="day")]
    assert (date(2026, 3, 2), 9, 1) in rows and (date(2026, 3, 8), 1, 1) in rows
    assert (date(2026, 3, 9), 0, 1) in rows  # z's first day
