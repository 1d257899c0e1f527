"""Cohort retention: customers grouped by the day, week (ISO, Monday start) or month of their
first purchase (`--interval`, month by default); for each such period since, how many bought
again (count and rate) and the cohort's net revenue (refunds count negative) relative to its
first period."""

from __future__ import annotations

import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    aggregate_by,
    breakdown,
    in_period,
    period_index,
    period_start,
    to_arrow,
    until_now,
    with_key,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

PURCHASE = "purchase"


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    inter = sources.interactions
    money = inter.filter(
        until_now(inter.occurred_at, request) & ((inter.type == PURCHASE) | inter.revenue.notnull())
    )
    money = money.select(
        "customer_id",
        "revenue",
        "occurred_at",
        bought=money.type == PURCHASE,
        bucket=period_index(money.occurred_at, request.interval),
    )
    buys = money.filter(money.bought)
    first = buys.group_by("customer_id").aggregate(first_time=buys.occurred_at.min())
    first = first.filter(in_period(first.first_time, request))  # the period picks cohorts
    cohort = first.select("customer_id", cohort=period_index(first.first_time, request.interval))
    cohort = with_key(cohort, breakdown(sources, request.by))
    activity = money.join(cohort, "customer_id")
    activity = activity.mutate(period=activity.bucket - activity.cohort)
    activity = activity.filter(activity.period >= 0)
    cells = aggregate_by(
        activity,
        ["cohort", "period"],
        customers=activity.customer_id.nunique(where=activity.bought),
        revenue=activity.revenue.sum(),
    )
    table = _assemble(to_arrow(sources, cells).to_pylist(), request.by, request.interval)
    notes = [
        f"cohort = the {request.interval} of the first purchase; period = {request.interval}s since"
    ]
    return ReportResult("cohorts", "Retention by first-purchase cohort", table, notes)


def _assemble(cells: list[dict], by: str | None, interval: str) -> pa.Table:
    # Every member bought in the cohort's own month, so period 0 counts the whole cohort.
    size = {(c["key"], c["cohort"]): int(c["customers"]) for c in cells if c["period"] == 0}
    first_revenue = {(c["key"], c["cohort"]): c["revenue"] for c in cells if c["period"] == 0}
    rows = []
    for c in sorted(cells, key=lambda c: (c["key"], c["cohort"], c["period"])):
        n = size[(c["key"], c["cohort"])]
        base = first_revenue.get((c["key"], c["cohort"]))
        revenue = round(float(c["revenue"] or 0.0), 6)
        rows.append(
            ({"by": c["key"]} if by else {})
            | {
                "cohort": period_start(int(c["cohort"]), interval),
                "period": int(c["period"]),
                "cohort_size": n,
                "customers": int(c["customers"]),
                "retention": int(c["customers"]) / n,
                "revenue": revenue,
                "revenue_retention": revenue / base if base else None,
            }
        )
    fields = [
        ("cohort", pa.date32()),
        ("period", pa.int64()),
        ("cohort_size", pa.int64()),
        ("customers", pa.int64()),
        ("retention", pa.float64()),
        ("revenue", pa.float64()),
        ("revenue_retention", pa.float64()),
    ]
    # The interval rides in the schema's metadata, so the heatmap can name its axis.
    schema = pa.schema(
        ([("by", pa.string())] if by else []) + fields, metadata=interval_meta(interval)
    )
    return pa.Table.from_pylist(rows, schema=schema)


def interval_meta(interval: str) -> dict[bytes, bytes]:
    return {b"interval": interval.encode()}


SPEC = register(
    ReportSpec(
        name="cohorts",
        title="Retention by first-purchase cohort",
        description="Customers grouped by the month (or --interval week/day) of their first "
        "purchase (in the period); per period since: customers buying again, retention rate, net revenue and revenue "
        "retention against the first month.",
        run=run,
        plot=plots.heatmap,
    )
)
