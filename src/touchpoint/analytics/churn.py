"""Churn per period and segment: of the customers active (an inbound interaction) in one period,
how many were not active in the next (churned) and how many were (retained); plus the customers
the lifecycle engine currently holds in the at-risk overlay."""

from __future__ import annotations

import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.activity import active_periods, period_bounds
from touchpoint.analytics.common import (
    aggregate_by,
    breakdown,
    current_stage,
    period_start,
    public_ids,
    to_arrow,
    until_now,
    with_key,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

AT_RISK = "at_risk"  # the overlay name of the default model; other models may not have one


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    pairs = with_key(active_periods(sources, request), breakdown(sources, request.by))
    base = pairs.mutate(period=pairs.p + 1)
    first, last = period_bounds(request)
    base = base.filter(base.period <= last)
    if first is not None:
        base = base.filter(base.period >= first)
    counts = aggregate_by(
        base,
        ["period"],
        active_before=base.count(),
        retained=base.count(where=base.next_p == base.period),
    )
    rows = []
    for r in sorted(to_arrow(sources, counts).to_pylist(), key=lambda r: (r["key"], r["period"])):
        n, kept = int(r["active_before"]), int(r["retained"])
        rows.append(
            ({"by": r["key"]} if request.by else {})
            | {
                "period": period_start(int(r["period"]), request.interval),
                "active_before": n,
                "retained": kept,
                "churned": n - kept,
                "churn_rate": (n - kept) / n,
                "retention_rate": kept / n,
            }
        )
    fields = [
        ("period", pa.date32()),
        ("active_before", pa.int64()),
        ("retained", pa.int64()),
        ("churned", pa.int64()),
        ("churn_rate", pa.float64()),
        ("retention_rate", pa.float64()),
    ]
    schema = pa.schema(([("by", pa.string())] if request.by else []) + fields)
    risky = at_risk_customers(sources, request).num_rows
    notes = [
        f"per {request.interval}: churned = active in the previous period, not in this one",
        f"{risky} customers currently at risk (see the at-risk report)",
    ]
    return ReportResult(
        "churn", "Churn and retention", pa.Table.from_pylist(rows, schema=schema), notes
    )


def at_risk_customers(sources: Sources, request: ReportRequest) -> pa.Table:
    """Customers whose latest stage (as of "now") is the at-risk overlay, riskiest value first."""
    moves = sources.transitions
    moves = moves.filter(until_now(moves.at, request))
    latest = current_stage(sources, moves)
    stamps = moves.select("customer_id", since=moves.at, stage=moves.to_stage)
    risky = latest.filter(latest.key == AT_RISK)
    risky = risky.join(stamps, "customer_id").filter(lambda t: t.stage == AT_RISK)
    risky = risky.group_by("customer_id").aggregate(since=risky.since.max())
    inter = sources.interactions
    inter = inter.filter(until_now(inter.occurred_at, request))
    seen = inter.group_by("customer_id").aggregate(
        last_activity=inter.occurred_at.max(where=inter.direction == "inbound"),
        net_revenue=inter.revenue.sum(),
    )
    joined = risky.left_join(seen, "customer_id").drop("customer_id_right")
    people = sources.customers.select(
        customer_id=sources.customers.id, segment=sources.customers.segment
    )
    joined = joined.left_join(people, "customer_id").drop("customer_id_right")
    table = to_arrow(sources, public_ids(sources, joined))
    rows = sorted(table.to_pylist(), key=lambda r: (-(r["net_revenue"] or 0.0), r["customer_id"]))
    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("since", pa.timestamp("us")),
            ("last_activity", pa.timestamp("us")),
            ("net_revenue", pa.float64()),
            ("segment", pa.string()),
        ]
    )
    return pa.Table.from_pylist(
        [{name: r.get(name) for name in schema.names} for r in rows], schema=schema
    )


def run_at_risk(sources: Sources, request: ReportRequest) -> ReportResult:
    table = at_risk_customers(sources, request)
    return ReportResult(
        "at-risk", "Customers currently at risk", table, [f"{table.num_rows} customers"]
    )


SPEC = register(
    ReportSpec(
        name="churn",
        title="Churn and retention",
        description="Per day/week/month (and segment, channel or campaign): customers active in "
        "the previous period, retained, churned, churn and retention rates.",
        run=run,
        plot=plots.rate_lines,
    )
)
AT_RISK_SPEC = register(
    ReportSpec(
        name="at-risk",
        title="Customers currently at risk",
        description="Customers whose current lifecycle stage is the at-risk overlay, with when "
        "they became at risk, their last activity and net revenue.",
        run=run_at_risk,
        plot=plots.table_figure,
    )
)
