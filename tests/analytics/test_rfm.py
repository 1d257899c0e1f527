"""RFM by hand: quintile edges (nearest rank) and scores worked out on a ten-customer table, the
R x FM groups, the report on DuckDB, SQLite and PostgreSQL, and the per-customer group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pytest

from tests.analytics.conftest import Lab
from tests.builders import interaction
from touchpoint.analytics.reports import load_report
from touchpoint.analytics.rfm import GROUPS, rfm_group, rfm_groups, rfm_summary
from touchpoint.analytics.sources import open_sources

END = datetime(2026, 3, 1, tzinfo=UTC)

# customer: (days from the last purchase to the end, purchases, total revenue)
HAND = {
    "c1": (1, 5, 500.0),
    "c2": (2, 4, 400.0),
    "c3": (5, 1, 50.0),
    "c4": (10, 3, 300.0),
    "c5": (20, 2, 80.0),
    "c6": (30, 1, 20.0),
    "c7": (45, 6, 900.0),
    "c8": (60, 2, 150.0),
    "c9": (90, 1, 10.0),
    "c10": (120, 3, 250.0),
}
# Ten customers, nearest rank: the 20/40/60/80th percentiles are the 2nd, 4th, 6th, 8th values.
#   recency   1 2 5 10 20 30 45 60 90 120       -> edges 2, 10, 30, 60
#   frequency 1 1 1 2 2 3 3 4 5 6               -> edges 1, 2, 3, 4
#   monetary  10 20 50 80 150 250 300 400 500 900 -> edges 20, 80, 250, 400
# R = 5 - edges below the recency; F, M = 1 + edges below the value; FM = (F + M) / 2 half up.
EXPECTED = {  # customer: (R, F, M, FM, group)
    "c1": (5, 5, 5, 5, "champions"),
    "c2": (5, 4, 4, 4, "champions"),
    "c3": (4, 1, 2, 2, "potential_loyalists"),
    "c4": (4, 3, 4, 4, "loyal"),
    "c5": (3, 2, 2, 2, "about_to_sleep"),
    "c6": (3, 1, 1, 1, "about_to_sleep"),
    "c7": (2, 5, 5, 5, "cant_lose"),
    "c8": (2, 2, 3, 3, "at_risk"),
    "c9": (1, 1, 1, 1, "lost"),
    "c10": (1, 3, 3, 3, "at_risk"),
}


def purchases() -> list[tuple[str, datetime, float]]:
    rows = []
    for cid, (days, count, total) in HAND.items():
        last = END - timedelta(days=days)
        rows += [(cid, last - timedelta(days=k), total / count) for k in range(count)]
    rows.append(("c9", END + timedelta(hours=1), 999.0))  # after the end: not counted
    return rows


def test_scores_and_groups_by_hand_on_duckdb() -> None:
    rows = purchases()
    table = ibis.memtable(
        {
            "who": [r[0] for r in rows],
            "at": [r[1].replace(tzinfo=None) for r in rows],
            "amount": [r[2] for r in rows],
        }
    )
    con = ibis.duckdb.connect()
    expr = rfm_summary(table, observation_end=END, customer="who", at="at", amount="amount")
    got = {r["customer_id"]: r for r in con.execute(expr).to_dict("records")}
    assert {
        cid: (r["r"], r["f"], r["m"], r["fm"], r["group"]) for cid, r in got.items()
    } == EXPECTED
    assert got["c7"]["rfm"] == "255"
    assert (got["c9"]["recency_days"], got["c9"]["frequency"], got["c9"]["monetary"]) == (
        90.0,
        1,
        10.0,
    )


def test_the_grid_follows_the_r_x_fm_map() -> None:
    # spot checks against the map's rules: [1-2][1-2] hibernating but 11 lost, [1-2][3-4] at
    # risk, [1-2]5 can't lose, 3[1-2] about to sleep, 33 need attention, [3-4][4-5] loyal,
    # 41 promising, 51 new, [4-5][2-3] potential loyalists, 5[4-5] champions
    assert [rfm_group(1, 1), rfm_group(2, 1), rfm_group(1, 2)] == ["lost", "hibernating"] * 1 + [
        "hibernating"
    ]
    assert [rfm_group(2, 4), rfm_group(1, 5), rfm_group(3, 2), rfm_group(3, 3)] == [
        "at_risk",
        "cant_lose",
        "about_to_sleep",
        "need_attention",
    ]
    assert [rfm_group(4, 5), rfm_group(4, 1), rfm_group(5, 1), rfm_group(5, 3)] == [
        "loyal",
        "promising",
        "new",
        "potential_loyalists",
    ]
    assert rfm_group(5, 4) == "champions"
    cells = {rfm_group(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert cells == set(GROUPS) and len(GROUPS) == 11


def test_the_report_and_the_per_customer_group_on_every_engine(lab: Lab) -> None:
    lab.ingest(
        [
            interaction(type="purchase", at=at, external_id=cid, revenue=amount)
            for cid, at, amount in purchases()
            if at < END
        ]
        + [interaction(type="signup", at=END - timedelta(days=3), external_id="never")]
    )
    result = lab.run("rfm", at=END)
    rows = {r["group"]: r for r in result.table.to_pylist()}
    figure = load_report("rfm").plot(result)
    assert list(figure.data[0].x) == list(GROUPS) and figure.layout.title.text == "RFM groups"
    assert list(rows) == list(GROUPS)
    counts = {g: r["customers"] for g, r in rows.items() if r["customers"]}
    assert counts == {
        "champions": 2,
        "loyal": 1,
        "potential_loyalists": 1,
        "about_to_sleep": 2,
        "cant_lose": 1,
        "at_risk": 2,
        "lost": 1,
    }
    assert rows["champions"]["revenue"] == pytest.approx(900.0)
    assert rows["at_risk"]["mean_recency_days"] == pytest.approx((60 + 120) / 2)
    with open_sources(lab.tp.settings, lab.engine) as sources:
        groups = rfm_groups(sources, END)
    assert groups == {lab.customer(cid): EXPECTED[cid][4] for cid in HAND}
