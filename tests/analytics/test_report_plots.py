"""The plots are charts a manager reads: service level per queue against the 80% goal and speed
of answer against the target wait, KPIs as bars and tiles by kind of number, the lifecycle map
with counts in its labels and the overlays apart, and weekly cohorts named as weeks."""

from __future__ import annotations

import pyarrow as pa
import pytest

from touchpoint.analytics import plots
from touchpoint.analytics.cohorts import interval_meta
from touchpoint.analytics.reports import ReportResult
from touchpoint.analytics.service_levels import SCHEMA as SERVICE_LEVELS


def _levels() -> ReportResult:
    rows = [
        {
            "channel": "chat",
            "queue": "sales",
            "offered": 10,
            "answered": 9,
            "abandoned": 1,
            "service_level": 0.9,
            "target": "60 s",
            "asa_s": 24.0,
        },
        {
            "channel": "phone",
            "queue": "support",
            "offered": 20,
            "answered": 12,
            "abandoned": 8,
            "service_level": 0.15,
            "target": "20 s",
            "asa_s": 88.0,
        },
        {
            "channel": "email",
            "queue": "support",
            "offered": 5,
            "answered": 3,
            "abandoned": None,
            "service_level": 0.6,
            "target": "24 h",
            "asa_s": None,
        },
        {
            "channel": "(total)",
            "queue": "",
            "offered": 35,
            "answered": 24,
            "abandoned": 9,
            "service_level": 0.4,
            "target": "own",
            "asa_s": 60.0,
        },
    ]
    return ReportResult(
        "service-levels", "Service levels", pa.Table.from_pylist(rows, schema=SERVICE_LEVELS)
    )


def test_service_levels_are_bars_against_the_goal_and_asa_against_the_target_wait() -> None:
    fig = plots.service_levels(_levels())
    levels, asa, targets = fig.data
    assert (levels.type, asa.type) == ("bar", "bar")
    assert list(levels.x) == ["chat / sales", "phone / support", "email / support", "total"]
    assert list(levels.y) == [0.9, 0.15, 0.6, 0.4]
    # met the 80% goal: green; missed: orange; the total grey
    assert list(levels.marker.color) == ["#2ca02c", "#ff7f0e", "#ff7f0e", "#999"]
    (goal,) = fig.layout.shapes
    assert (goal.y0, goal.y1) == (0.8, 0.8)
    assert list(asa.x) == ["chat / sales", "phone / support", "total"]  # email has no ASA
    assert list(targets.x) == ["chat / sales", "phone / support"] and list(targets.y) == [60, 20]
    assert not any(trace.type == "table" for trace in fig.data)


def test_kpis_are_rates_volumes_and_tiles() -> None:
    rows = [
        ("conversion", "conversion_rate", 0.356, "ratio"),
        ("retention", "answer_rate", 0.817, "ratio"),
        ("reach", "touches", 48784.0, "count"),
        ("conversion", "purchasers", 1651.0, "customers"),
        ("conversion", "net_revenue", 900423.3, "money"),
        ("loyalty", "nps", 18.67, "-100..100"),
        ("retention", "csat", None, "1-5"),  # nothing to show: no tile
    ]
    table = pa.Table.from_pylist(
        [{"stage": s, "kpi": k, "value": v, "unit": u} for s, k, v, u in rows]
    )
    fig = plots.kpis(ReportResult("kpis", "KPIs", table))
    rates, volumes = fig.data[0], fig.data[1]
    assert list(rates.y) == ["conversion rate", "answer rate"] and list(rates.x) == [0.356, 0.817]
    assert list(volumes.y) == ["touches", "purchasers"]
    tiles = [t for t in fig.data if t.type == "indicator"]
    assert [t.value for t in tiles] == [900423.3, 18.67]
    assert not any(trace.type == "table" for trace in fig.data)


def test_the_lifecycle_map_labels_carry_counts_and_overlays_sit_apart() -> None:
    rows = [
        ("(start)", "reach", 10),
        ("reach", "conversion", 6),
        ("conversion", "at_risk", 3),
        ("at_risk", "conversion", 1),  # recovered: a flow back
        ("at_risk", "churned", 2),
    ]
    schema = pa.schema(
        [
            ("from_stage", pa.string()),
            ("to_stage", pa.string()),
            ("transitions", pa.int64()),
            ("customers", pa.int64()),
        ],
        metadata={
            b"stages": b"reach,conversion,retention",
            b"overlays": b"at_risk,churned",
            b"kinds": b"at_risk:risk,churned:loss",  # as domain.flows reads the default model
        },
    )
    table = pa.Table.from_pylist(
        [{"from_stage": a, "to_stage": b, "transitions": n, "customers": n} for a, b, n in rows],
        schema=schema,
    )
    sankey = plots.sankey(ReportResult("transitions", "Lifecycle map", table)).data[0]
    # moves in: reach 10, conversion 6 + 1, at_risk 3, churned 2; the start shows its 10 out
    assert list(sankey.node.label) == [
        "(start) (10)",
        "reach (10)",
        "conversion (7)",
        "at_risk (3)",
        "churned (2)",
    ]
    y = dict(
        zip(["start", "reach", "conversion", "at_risk", "churned"], sankey.node.y, strict=True)
    )
    assert min(y["at_risk"], y["churned"]) > max(y["start"], y["reach"], y["conversion"])
    assert sankey.link.color[3].startswith("rgba(44, 160, 44")  # the recovery is green
    assert sankey.link.color[2].startswith("rgba(255, 127, 14")  # into at risk: orange
    assert sankey.link.color[4].startswith("rgba(214, 39, 40")  # into churned: red


@pytest.mark.parametrize("interval", ["week", "day", "month"])
def test_the_cohort_heatmap_names_its_periods(interval: str) -> None:
    schema = pa.schema(
        [("cohort", pa.date32()), ("period", pa.int64()), ("retention", pa.float64())],
        metadata=interval_meta(interval),
    )
    table = pa.Table.from_pylist([], schema=schema)
    fig = plots.heatmap(ReportResult("cohorts", "Cohorts", table))
    assert fig.layout.xaxis.title.text == f"{interval}s since first purchase"
