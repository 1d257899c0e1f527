"""Each report on the hand-built history of tests/analytics/history.py, against numbers worked
out by hand, on DuckDB, SQLite and PostgreSQL alike (the `lab` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.analytics.conftest import Lab
from tests.analytics.history import load_history

STAGES = ["reach", "acquisition", "conversion", "retention", "loyalty", "advocacy"]


@pytest.fixture
def hist(lab: Lab) -> Lab:
    return load_history(lab)


def test_funnel_counts_furthest_stage_and_median_days(hist: Lab) -> None:
    rows = hist.rows("funnel")
    # Furthest stage: a retention, b conversion (skipped acquisition; at_risk is an overlay),
    # c loyalty, d reach. Reached stage i = customers whose furthest stage is i or later.
    assert [r["stage"] for r in rows] == STAGES
    assert [r["customers"] for r in rows] == [4, 3, 3, 2, 1, 0]
    assert [r["step_conversion"] for r in rows] == pytest.approx([1, 3 / 4, 3 / 3, 2 / 3, 1 / 2, 0])
    assert [r["overall_conversion"] for r in rows] == pytest.approx(
        [1, 3 / 4, 3 / 4, 2 / 4, 1 / 4, 0]
    )
    assert [r["drop_off"] for r in rows] == [0, 1, 0, 1, 1, 1]
    # Days between first entries, nearest-rank median (the ceil(n/2)-th smallest):
    # reach->acquisition a 4, c 1 -> 1; acquisition->conversion a 5, c 30 (Feb 3 -> Mar 5) -> 5;
    # conversion->retention a 36 (Jan 10 -> Feb 15), c 20 -> 20; retention->loyalty c 13.
    assert [r["median_days_from_previous"] for r in rows] == [None, 1.0, 5.0, 20.0, 13.0, None]


def test_funnel_period_picks_customers_entering_in_it(hist: Lab) -> None:
    rows = hist.rows("funnel", start="2026-02-01", end="2026-04-01")
    # c (Feb 2) and d (Mar 1) entered in Feb-Mar; c's loyalty (Apr 7, before "now") still counts.
    assert [r["customers"] for r in rows] == [2, 1, 1, 1, 1, 0]


def test_funnel_by_channel_is_the_first_touch_reach_channel(hist: Lab) -> None:
    rows = hist.rows("funnel", by="channel")
    reached = {(r["by"], r["stage"]): r["customers"] for r in rows}
    # No interaction of the history carries a source or medium: everyone came Direct (an ad
    # click without tags is not Paid Search), whatever the raw channel (web, ad).
    assert {r["by"] for r in rows} == {"Direct"}
    assert [reached[("Direct", s)] for s in STAGES] == [4, 3, 3, 2, 1, 0]


def test_transitions_matrix(hist: Lab) -> None:
    flows = {(r["from_stage"], r["to_stage"]): r["transitions"] for r in hist.rows("transitions")}
    assert flows == {
        ("(start)", "reach"): 4,
        ("reach", "acquisition"): 2,
        ("reach", "conversion"): 1,
        ("acquisition", "conversion"): 2,
        ("conversion", "retention"): 2,
        ("conversion", "at_risk"): 1,
        ("retention", "loyalty"): 1,
    }
    in_feb_mar = hist.run("transitions", start="2026-02-01", end="2026-04-01")
    moves = {
        (r["from_stage"], r["to_stage"]): r["transitions"] for r in in_feb_mar.table.to_pylist()
    }
    # Feb 2 c start, Feb 3 c reach->acq, Feb 15 a conv->ret, Mar 1 d start, Mar 5 c acq->conv,
    # Mar 20 b conv->at_risk, Mar 25 c conv->ret.
    assert moves == {
        ("(start)", "reach"): 2,
        ("reach", "acquisition"): 1,
        ("conversion", "retention"): 2,
        ("acquisition", "conversion"): 1,
        ("conversion", "at_risk"): 1,
    }
    assert in_feb_mar.notes == ["7 moves"]


def test_time_in_stage_percentiles(hist: Lab) -> None:
    rows = {r["stage"]: r for r in hist.rows("time-in-stage")}
    assert list(rows) == ["reach", "acquisition", "conversion", "retention", "loyalty", "at_risk"]
    # reach stays: a 4, b 17, c 1 finished, d open. p50 = 2nd of [1, 4, 17], p90 = 3rd.
    assert rows["reach"] | {} == {
        "stage": "reach",
        "stays": 4,
        "still_there": 1,
        "p50_days": 4.0,
        "p90_days": 17.0,
        "mean_days": pytest.approx(22 / 3),
    }
    # acquisition: a 5, c 30. conversion: a 36, b 59 (Jan 20 -> Mar 20), c 20.
    assert (rows["acquisition"]["p50_days"], rows["acquisition"]["p90_days"]) == (5.0, 30.0)
    assert (rows["conversion"]["p50_days"], rows["conversion"]["p90_days"]) == (36.0, 59.0)
    assert rows["conversion"]["mean_days"] == pytest.approx((36 + 59 + 20) / 3)
    assert (rows["retention"]["stays"], rows["retention"]["still_there"]) == (2, 1)
    assert rows["retention"]["p50_days"] == 13.0
    assert (rows["loyalty"]["still_there"], rows["loyalty"]["p50_days"]) == (1, None)


def test_cohorts_by_first_purchase_month(hist: Lab) -> None:
    rows = [
        (str(r["cohort"]), r["period"], r["cohort_size"], r["customers"])
        for r in hist.rows("cohorts")
    ]
    # Jan cohort a, b: Feb only a buys. Mar cohort c: buys again in Apr.
    assert rows == [
        ("2026-01-01", 0, 2, 2),
        ("2026-01-01", 1, 2, 1),
        ("2026-03-01", 0, 1, 1),
        ("2026-03-01", 1, 1, 1),
    ]
    full = hist.rows("cohorts")
    assert [r["retention"] for r in full] == [1.0, 0.5, 1.0, 1.0]
    # Net revenue: Jan 100 + 30; Feb 50 - 20 (refund); Mar 80 + 20; Apr 40.
    assert [r["revenue"] for r in full] == [130.0, 30.0, 100.0, 40.0]
    assert [r["revenue_retention"] for r in full] == pytest.approx([1.0, 30 / 130, 1.0, 0.4])


def test_composition_monthly(hist: Lab) -> None:
    rows = hist.rows("composition")
    cells = {(r["period"], r["status"]): r["customers"] for r in rows}
    months = sorted({r["period"] for r in rows})
    assert months == [date(2026, m, 1) for m in (1, 2, 3, 4, 5)]
    expect = {
        # active: a Jan Feb Apr; b Jan; c Feb Mar Apr; d Mar
        1: (2, 0, 0, 0),  # a, b new
        2: (1, 1, 0, -1),  # c new, a returning, b dormant
        3: (1, 1, 0, -1),  # d new, c returning, a dormant
        4: (0, 1, 1, -1),  # c returning, a resurrecting, d dormant
        5: (0, 0, 0, -2),  # a and c dormant
    }
    for month, (new, returning, resurrecting, dormant) in expect.items():
        at = date(2026, month, 1)
        got = tuple(cells[(at, s)] for s in ("new", "returning", "resurrecting", "dormant"))
        assert got == (new, returning, resurrecting, dormant), month


def test_composition_weekly_counts_first_week_as_new(hist: Lab) -> None:
    rows = hist.rows("composition", interval="week", start="2026-01-01", end="2026-01-12")
    cells = {(r["period"], r["status"]): r["customers"] for r in rows}
    # ISO weeks start Monday: Dec 29 holds Jan 1 (a) and Jan 3 (b); Jan 5 week holds a's signup,
    # call and purchase (returning) while b is dormant.
    assert cells[(date(2025, 12, 29), "new")] == 2
    assert (cells[(date(2026, 1, 5), "returning")], cells[(date(2026, 1, 5), "dormant")]) == (1, -1)


def test_churn_rates_per_month(hist: Lab) -> None:
    rows = hist.rows("churn")
    got = [(str(r["period"]), r["active_before"], r["retained"], r["churned"]) for r in rows]
    # Active the month before -> still active: Feb {a,b}->a; Mar {a,c}->c; Apr {c,d}->c; May {a,c}->none
    assert got == [
        ("2026-02-01", 2, 1, 1),
        ("2026-03-01", 2, 1, 1),
        ("2026-04-01", 2, 1, 1),
        ("2026-05-01", 2, 0, 2),
    ]
    assert [r["churn_rate"] for r in rows] == [0.5, 0.5, 0.5, 1.0]
    assert [r["retention_rate"] for r in rows] == [0.5, 0.5, 0.5, 0.0]


def test_the_period_in_progress_is_left_out_of_churn_and_composition(hist: Lab) -> None:
    """Ten days into May nobody active in April has come back yet: May would read as 100% churn
    and two dormant customers. It shows from the moment May is over (June 1st 00:00)."""
    mid_may = datetime(2026, 5, 10, tzinfo=UTC)
    churn = hist.run("churn", at=mid_may)
    assert [str(r["period"]) for r in churn.table.to_pylist()] == [
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
    ]
    assert "the month in progress (from 2026-05-01) shows once it is over" in churn.notes
    months = {r["period"] for r in hist.rows("composition", at=mid_may)}
    assert max(months) == date(2026, 4, 1)
    june = datetime(2026, 6, 1, tzinfo=UTC)
    assert str(hist.rows("churn", at=june)[-1]["period"]) == "2026-05-01"
    assert max(r["period"] for r in hist.rows("composition", at=june)) == date(2026, 5, 1)


def test_churn_by_segment(hist: Lab) -> None:
    rows = hist.rows("churn", by="segment", start="2026-02-01")
    got = [(r["by"], str(r["period"])[:7], r["active_before"], r["retained"]) for r in rows]
    assert got == [
        ("DE", "2026-02", 1, 0),  # b
        ("unknown", "2026-03", 1, 1),  # c (Feb -> Mar)
        ("unknown", "2026-04", 2, 1),  # c, d -> c
        ("unknown", "2026-05", 1, 0),  # c
        ("vip", "2026-02", 1, 1),  # a
        ("vip", "2026-03", 1, 0),
        ("vip", "2026-05", 1, 0),
    ]


def test_at_risk_lists_customers_whose_current_stage_is_at_risk(hist: Lab) -> None:
    result = hist.run("churn")
    assert result.notes[-1] == "1 customers currently at risk (see the at-risk report)"
    (row,) = hist.rows("at-risk")
    assert row["customer_id"] == hist.customer("b")
    assert row["since"] == datetime(2026, 3, 20, 12, tzinfo=UTC).replace(tzinfo=None)
    assert row["last_contact"] == datetime(2026, 1, 24, 12, tzinfo=UTC).replace(tzinfo=None)
    assert (row["net_revenue"], row["segment"]) == (30.0, "DE")


def _kpis(lab: Lab, **request: object) -> dict[str, float | None]:
    return {r["kpi"]: r["value"] for r in lab.rows("kpis", **request)}


def test_kpis_by_stage_all_time(hist: Lab) -> None:
    k = _kpis(hist)
    stages = {r["kpi"]: r["stage"] for r in hist.rows("kpis")}
    assert stages["touches"] == "reach" and stages["nps"] == "loyalty"
    assert (k["touches"], k["customers_reached"]) == (5, 4)  # 4 page views + 1 ad click
    assert (k["leads"], k["lead_to_customer_rate"]) == (2, 1.0)  # a, c signed up; both bought
    assert (k["purchasers"], k["orders"]) == (3, 6)
    assert k["net_revenue"] == pytest.approx(300.0)  # 100+50-20+30+80+20+40
    assert k["average_order_value"] == pytest.approx(320 / 6)
    assert k["conversion_rate"] == pytest.approx(3 / 4)
    assert k["abandoned_cart_recovery"] == 0.5  # b bought 5 days after, d never
    assert k["repeat_purchase_rate"] == pytest.approx(2 / 3)  # a and c bought twice or more
    assert k["csat"] == 3.0  # a 4 (flat), b 2 (survey/score)
    assert k["first_contact_resolution"] == 0.5  # T1 yes, T2 no
    assert (k["answer_rate"], k["handle_minutes"]) == (0.5, 5.0)  # a answered 300 s, c abandoned
    assert k["resolution_hours_p50"] == 6.0  # T1 6 h, T2 48 h: nearest-rank median is 6
    assert k["nps"] == 0.0  # one promoter (10), one detractor (5)
    assert (k["referral_rate"], k["referrals"], k["reviews"]) == (0.25, 1, 0)
    assert k["loyal_revenue_share"] == pytest.approx(140 / 300)  # c is in loyalty


def test_kpis_for_a_period(hist: Lab) -> None:
    k = _kpis(hist, start="2026-02-01", end="2026-04-01")
    assert (k["touches"], k["leads"], k["purchasers"], k["orders"]) == (2, 1, 2, 3)
    assert k["net_revenue"] == pytest.approx(130.0)  # 50-20+80+20
    assert k["average_order_value"] == pytest.approx(50.0)
    assert k["conversion_rate"] == pytest.approx(2 / 3)  # a, c bought; a, c, d active
    assert (k["abandoned_cart_recovery"], k["repeat_purchase_rate"]) == (0.0, 0.5)
    assert (k["csat"], k["nps"], k["handle_minutes"]) == (4.0, -100.0, None)
    assert k["loyal_revenue_share"] == pytest.approx(100 / 130)


def test_duckdbs_discrete_quantile_is_the_nearest_rank() -> None:
    """What lets DuckDB use quantile_disc where SQLite and PostgreSQL use window functions."""
    import math

    import ibis
    import pyarrow as pa

    from touchpoint.analytics.common import quantile_disc

    con = ibis.duckdb.connect()
    for n in range(1, 12):
        values = [float(v) for v in range(n, 0, -1)]
        t = ibis.memtable(pa.table({"x": values}))
        got = con.to_pyarrow(t.aggregate(p50=quantile_disc(t.x, 0.5), p90=quantile_disc(t.x, 0.9)))
        ordered = sorted(values)
        expected = {"p50": ordered[math.ceil(0.5 * n) - 1], "p90": ordered[math.ceil(0.9 * n) - 1]}
        assert got.to_pylist()[0] == expected, n


def test_cohorts_by_current_stage(hist: Lab) -> None:
    rows = hist.rows("cohorts", by="stage")
    sizes = {(r["by"], str(r["cohort"])): r["cohort_size"] for r in rows if r["period"] == 0}
    # Current stages: a retention, b at_risk (Jan cohort), c loyalty (Mar cohort).
    assert sizes == {
        ("at_risk", "2026-01-01"): 1,
        ("loyalty", "2026-03-01"): 1,
        ("retention", "2026-01-01"): 1,
    }
