"""Churn per period and segment: of the customers active (an inbound interaction) in one period,
how many were not active in the next (churned) and how many were (retained); plus the customers
the lifecycle engine currently holds in the at-risk overlay."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.activity import active_periods, in_progress_note, period_bounds
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
from touchpoint.analytics.output import detail_field
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
        in_progress_note(request),
        f"{risky} customers currently at risk (see the at-risk report)",
    ]
    return ReportResult(
        "churn", "Churn and retention", pa.Table.from_pylist(rows, schema=schema), notes
    )


AT_RISK_SCHEMA = pa.schema(
    [
        detail_field("customer_id", pa.string()),
        ("name", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("since", pa.timestamp("us")),
        ("reason", pa.string()),
        ("because_of", pa.string()),
        detail_field("interaction_id", pa.string()),
        ("last_contact", pa.timestamp("us")),
        ("net_revenue", pa.float64()),
        detail_field("segment", pa.string()),
    ]
)


def at_risk_customers(sources: Sources, request: ReportRequest) -> pa.Table:
    """A work list: the customers whose latest stage (as of "now") is the at-risk overlay, with
    how to reach them, since when and why (the rule and the interaction that set it off), their
    last contact and their net revenue; the most valuable first."""
    moves = sources.transitions
    moves = moves.filter(until_now(moves.at, request))
    latest = current_stage(sources, moves)
    entered = moves.filter(moves.to_stage == AT_RISK)
    entered = entered.select(
        "customer_id", "reason", "interaction_id", since=entered.at, _seq=entered.seq
    )
    risky = latest.filter(latest.key == AT_RISK).select("customer_id")
    risky = risky.join(entered, "customer_id")
    newest = ibis.window(
        group_by=risky.customer_id, order_by=[ibis.desc(risky.since), ibis.desc(risky._seq)]
    )
    risky = risky.mutate(_r=ibis.row_number().over(newest))
    risky = risky.filter(risky._r == 0).drop("_r", "_seq")
    risky = _with_cause(sources, risky)
    inter = sources.interactions
    inter = inter.filter(until_now(inter.occurred_at, request))
    seen = inter.group_by("customer_id").aggregate(
        last_contact=inter.occurred_at.max(where=contact(inter)),
        net_revenue=inter.revenue.sum(),
    )
    joined = risky.left_join(seen, "customer_id").drop("customer_id_right")
    people = sources.customers
    people = people.select("name", "email", "phone", "segment", customer_id=people.id)
    joined = joined.left_join(people, "customer_id").drop("customer_id_right")
    rows = to_arrow(sources, public_ids(sources, joined)).to_pylist()
    rows.sort(key=lambda r: (-(r["net_revenue"] or 0.0), r["customer_id"]))
    for row in rows:
        row["because_of"] = cause_text(row)
    return pa.Table.from_pylist(
        [{name: r.get(name) for name in AT_RISK_SCHEMA.names} for r in rows],
        schema=AT_RISK_SCHEMA,
    )


def contact(t: ir.Table) -> ir.BooleanColumn:
    """A contact with the customer: anything they did, or an agent's work with them (a
    marketing send is not one)."""
    return (t.direction == "inbound") | t.agent.notnull()


def _with_cause(sources: Sources, risky: ir.Table) -> ir.Table:
    """The interaction each at-risk entry names: its type, channel, time and survey score."""
    inter = sources.interactions
    causes = inter.select(
        _cause_id=inter.id,
        _type=inter.type,
        _channel=inter.channel,
        _at=inter.occurred_at,
        _csat=inter.csat,
        _nps=inter.nps,
    )
    joined = risky.left_join(causes, risky.interaction_id == causes._cause_id)
    return joined.drop("_cause_id")


def cause_text(row: dict[str, Any]) -> str | None:
    """What set the rule off, as a person reads it: "survey_response (NPS 6, email)"; None
    when a clock rule (inactivity) did it without an interaction. Its time is `since`."""
    if row.get("_type") is None:
        return None
    score = ""
    if row.get("_nps") is not None:
        score = f"NPS {row['_nps']:g}, "
    elif row.get("_csat") is not None:
        score = f"CSAT {row['_csat']:g}, "
    return f"{row['_type']} ({score}{row['_channel']})"


def run_at_risk(sources: Sources, request: ReportRequest) -> ReportResult:
    table = at_risk_customers(sources, request)
    notes = [
        f"{table.num_rows} customers at risk, the most valuable first (--format csv for the "
        "list with customer and interaction ids)",
        "reason: the stage model's rule that put them at risk",
        "because of: the interaction that set it off (none for inactivity)",
        "last contact: their last interaction, or an agent's with them",
    ]
    return ReportResult("at-risk", "Customers currently at risk", table, notes)


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
        description="A work list of the customers whose current lifecycle stage is the at-risk "
        "overlay: name, email, phone, since when, the rule and the interaction that put them "
        "there, their last contact and net revenue, the most valuable first.",
        run=run_at_risk,
        plot=plots.table_figure,
    )
)
