"""The reports on a small simulated business (300 customers, lifecycle engine included): the
same numbers on DuckDB and on the system of record, and the same numbers as an independent pandas
computation over the raw tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.analytics.conftest import LIFECYCLE_REPORTS, Lab
from touchpoint.demo.generator import generate_interactions
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

AT = datetime(2026, 11, 1, tzinfo=UTC)  # the simulated business ends here
PERIOD = {"start": "2025-12-01", "end": "2026-09-01"}
STAGES = ["reach", "acquisition", "conversion", "retention", "loyalty", "advocacy"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lab]]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("demo")))
    tp = open_touchpoint(settings)
    tp.ingestor.ingest(enumerate(generate_interactions(300, seed=11, end=AT)), keep_results=False)
    tp.projections.tick(AT)
    yield {"duckdb": Lab(tp, "duckdb"), "sqlite": Lab(tp, "sqlite")}
    tp.close()


@pytest.fixture(scope="module")
def raw(demo: dict[str, Lab]) -> dict[str, pd.DataFrame]:
    """The raw tables, read with plain pandas (no Ibis), times as naive UTC."""
    engine = demo["sqlite"].tp.engine
    log = pd.read_sql("SELECT * FROM interactions", engine)
    moves = pd.read_sql("SELECT * FROM stage_transitions", engine)
    log["occurred_at"] = pd.to_datetime(log["occurred_at"])
    moves["at"] = pd.to_datetime(moves["at"])
    return {"log": log, "moves": moves}


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def _rows(lab: Lab, name: str, **request: Any) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in r.items()} for r in lab.rows(name, at=AT, **request)]


@pytest.mark.parametrize("name", LIFECYCLE_REPORTS)
def test_duckdb_and_sqlite_agree_on_the_demo(demo: dict[str, Lab], name: str) -> None:
    for request in ({}, PERIOD, {**PERIOD, "by": "channel"}):
        if "by" in request and name in ("composition", "at-risk", "kpis"):
            continue
        assert _rows(demo["duckdb"], name, **request) == _rows(demo["sqlite"], name, **request)


def _in_period(series: pd.Series) -> pd.Series:
    return (series >= pd.Timestamp(PERIOD["start"])) & (series < pd.Timestamp(PERIOD["end"]))


def test_transitions_match_pandas(demo: dict[str, Lab], raw: dict[str, pd.DataFrame]) -> None:
    moves = raw["moves"][_in_period(raw["moves"]["at"])]
    expected = moves.fillna({"from_stage": "(start)"}).groupby(["from_stage", "to_stage"]).size()
    got = {
        (r["from_stage"], r["to_stage"]): r["transitions"]
        for r in _rows(demo["duckdb"], "transitions", **PERIOD)
    }
    assert got == {k: int(v) for k, v in expected.items()}


def test_funnel_matches_pandas(demo: dict[str, Lab], raw: dict[str, pd.DataFrame]) -> None:
    moves = raw["moves"][
        (raw["moves"]["at"] < AT.replace(tzinfo=None)) & raw["moves"]["to_stage"].isin(STAGES)
    ]
    moves = moves.assign(rank=moves["to_stage"].map(STAGES.index))
    per = moves.groupby("customer_id").agg(started=("at", "min"), top=("rank", "max"))
    per = per[_in_period(per["started"])]
    expected = [int((per["top"] >= i).sum()) for i in range(len(STAGES))]
    got = [r["customers"] for r in _rows(demo["duckdb"], "funnel", **PERIOD)]
    assert got == expected and expected[0] > 50


def _nearest_rank(values: np.ndarray, p: float) -> float | None:
    if len(values) == 0:
        return None
    ordered = np.sort(values)
    return float(ordered[math.ceil(p * len(ordered)) - 1])


def test_time_in_stage_matches_pandas(demo: dict[str, Lab], raw: dict[str, pd.DataFrame]) -> None:
    moves = raw["moves"].sort_values(["customer_id", "at", "seq"])
    moves = moves.assign(left=moves.groupby("customer_id")["at"].shift(-1))
    moves = moves[_in_period(moves["at"])]
    days = (moves["left"] - moves["at"]).dt.total_seconds() / 86_400
    got = {r["stage"]: r for r in _rows(demo["duckdb"], "time-in-stage", **PERIOD)}
    for stage, group in moves.assign(days=days).groupby("to_stage"):
        done = group["days"].dropna().to_numpy()
        assert got[stage]["stays"] == len(group)
        assert got[stage]["still_there"] == int(group["left"].isna().sum())
        assert got[stage]["p50_days"] == _clean(_nearest_rank(done, 0.5))
        assert got[stage]["p90_days"] == _clean(_nearest_rank(done, 0.9))


def test_cohorts_match_pandas(demo: dict[str, Lab], raw: dict[str, pd.DataFrame]) -> None:
    log = raw["log"]
    month = log["occurred_at"].dt.year * 12 + log["occurred_at"].dt.month - 1
    log = log.assign(month=month)
    buys = log[log["type"] == "purchase"]
    first = buys.groupby("customer_id")["occurred_at"].min()
    first = first[_in_period(first)]
    cohort = (first.dt.year * 12 + first.dt.month - 1).rename("cohort")
    active = buys.join(cohort, on="customer_id", how="inner")
    active = active.assign(period=active["month"] - active["cohort"])
    counts = active.groupby(["cohort", "period"])["customer_id"].nunique()
    money = log[log["revenue"].notna()].join(cohort, on="customer_id", how="inner")
    money = money.assign(period=money["month"] - money["cohort"])
    revenue = money[money["period"] >= 0].groupby(["cohort", "period"])["revenue"].sum()
    got = _rows(demo["duckdb"], "cohorts", **PERIOD)
    assert len(got) == len(counts)
    for r in got:
        key = (r["cohort"].year * 12 + r["cohort"].month - 1, r["period"])
        assert r["customers"] == counts[key]
        assert r["revenue"] == pytest.approx(revenue[key], abs=1e-6)


def _monthly_activity(log: pd.DataFrame) -> dict[str, set[int]]:
    inbound = log[(log["direction"] == "inbound") & (log["occurred_at"] < AT.replace(tzinfo=None))]
    months = inbound["occurred_at"].dt.year * 12 + inbound["occurred_at"].dt.month - 1
    return {cid: set(ms) for cid, ms in months.groupby(inbound["customer_id"])}


def test_composition_and_churn_match_pandas(
    demo: dict[str, Lab], raw: dict[str, pd.DataFrame]
) -> None:
    activity = _monthly_activity(raw["log"])
    composition = {
        (r["period"], r["status"]): r["customers"] for r in _rows(demo["duckdb"], "composition")
    }
    churn = {r["period"]: r for r in _rows(demo["duckdb"], "churn")}
    for period, status in composition:
        p = period.year * 12 + period.month - 1
        count = 0
        for months in activity.values():
            if status == "new":
                count += p in months and min(months) == p
            elif status == "returning":
                count += p in months and p - 1 in months
            elif status == "resurrecting":
                count += p in months and p - 1 not in months and min(months) < p - 1
            else:
                count -= p - 1 in months and p not in months
        assert composition[(period, status)] == count, (period, status)
    for period, row in churn.items():
        p = period.year * 12 + period.month - 1
        before = [m for m in activity.values() if p - 1 in m]
        assert row["active_before"] == len(before)
        assert row["retained"] == sum(p in m for m in before)


def test_kpis_match_pandas(demo: dict[str, Lab], raw: dict[str, pd.DataFrame]) -> None:
    log = raw["log"][_in_period(raw["log"]["occurred_at"])]
    buys = log[log["type"] == "purchase"]
    props = log["properties"].map(lambda p: p if isinstance(p, dict) else json.loads(p))
    nps = [p["score"] for p in props if p.get("survey") == "nps"]
    csat = [
        p.get("csat", p.get("score")) for p in props if "csat" in p or p.get("survey") == "csat"
    ]
    k = {r["kpi"]: r["value"] for r in _rows(demo["duckdb"], "kpis", **PERIOD)}
    assert k["orders"] == len(buys)
    assert k["purchasers"] == buys["customer_id"].nunique()
    assert k["net_revenue"] == pytest.approx(log["revenue"].sum())
    assert k["average_order_value"] == pytest.approx(buys["revenue"].sum() / len(buys))
    assert k["csat"] == pytest.approx(np.mean(csat))
    promoters = sum(s >= 9 for s in nps)
    detractors = sum(s <= 6 for s in nps)
    assert k["nps"] == pytest.approx(100 * (promoters - detractors) / len(nps))
    reach = log[log["type"].isin(["ad_click", "page_view", "social_engagement"])]
    assert (k["touches"], k["customers_reached"]) == (len(reach), reach["customer_id"].nunique())


def test_at_risk_matches_the_current_stages(
    demo: dict[str, Lab], raw: dict[str, pd.DataFrame]
) -> None:
    moves = raw["moves"].sort_values(["customer_id", "at", "seq"])
    latest = moves.groupby("customer_id").tail(1)
    expected = set(latest.loc[latest["to_stage"] == "at_risk", "customer_id"])
    got = {r["customer_id"] for r in _rows(demo["duckdb"], "at-risk")}
    assert got == expected


def _live_answer_rate(rows: list[dict[str, Any]]) -> float:
    """Service levels' answer rate over all live channels: answered / offered, summed."""
    live = [r for r in rows if r["channel"] in ("phone", "chat")]
    return sum(r["answered"] for r in live) / sum(r["offered"] for r in live)


@pytest.mark.parametrize("request_", [{}, PERIOD], ids=["all history", "period"])
def test_kpis_and_service_levels_agree_on_the_answer_rate(
    demo: dict[str, Lab], raw: dict[str, pd.DataFrame], request_: dict[str, str]
) -> None:
    log = raw["log"][raw["log"]["occurred_at"] < AT.replace(tzinfo=None)]
    if request_:
        log = log[_in_period(log["occurred_at"])]
    live = log[log["type"].isin(["call", "chat"]) & (log["direction"] == "inbound")]
    taken = live[live["agent"].notna()]
    # The demo has what used to split the two reports: retention calls an agent took whose
    # outcome is "saved" or "cancelled", not "answered".
    assert (taken["outcome"] != "answered").sum() > 0
    expected = len(taken) / len(live)
    for engine in ("duckdb", "sqlite"):
        k = {r["kpi"]: r["value"] for r in _rows(demo[engine], "kpis", **request_)}
        levels = _rows(demo[engine], "service-levels", **request_)
        assert k["answer_rate"] == pytest.approx(expected, abs=1e-6)
        assert _live_answer_rate(levels) == pytest.approx(expected, abs=1e-6)
        assert k["handle_minutes"] == pytest.approx(taken["duration_s"].mean() / 60, abs=1e-6)
