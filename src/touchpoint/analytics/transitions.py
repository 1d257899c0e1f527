"""The transition matrix: how many moves (and distinct customers) went from each stage to each
other stage in the period, overlays included — the data behind the lifecycle map (a Sankey) —
and the customers behind one flow or stage of it."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    aggregate_by,
    all_stages,
    breakdown,
    in_period,
    in_windows,
    progression,
    public_ids,
    to_arrow,
    window_index,
    with_key,
)
from touchpoint.analytics.filters import restrict
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain.flows import overlay_kinds

START = "(start)"


def _moves(sources: Sources, request: ReportRequest) -> ir.Table:
    """The moves of the period, of the customers the request is about."""
    moves = sources.transitions
    return restrict(sources, moves.filter(in_period(moves.at, request)), request)


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    moves = with_key(_moves(sources, request), breakdown(sources, request.by))
    moves = moves.mutate(from_stage=moves.from_stage.fill_null(START))
    flows = aggregate_by(
        moves,
        ["from_stage", "to_stage"],
        transitions=moves.count(),
        customers=moves.customer_id.nunique(),
    )
    table = to_arrow(sources, flows)
    order = {name: i for i, name in enumerate([START, *all_stages(sources)])}
    rows = sorted(
        table.to_pylist(),
        key=lambda r: (r["key"], order.get(r["from_stage"], 99), order.get(r["to_stage"], 99)),
    )
    out = pa.Table.from_pylist(
        [
            ({"by": r["key"]} if request.by else {})
            | {
                "from_stage": r["from_stage"],
                "to_stage": r["to_stage"],
                "transitions": int(r["transitions"]),
                "customers": int(r["customers"]),
            }
            for r in rows
        ],
        schema=_schema(request.by).with_metadata(
            {  # the lifecycle map places stages and overlays apart
                b"stages": ",".join(progression(sources)).encode(),
                b"overlays": ",".join(
                    s for s in all_stages(sources) if s not in progression(sources)
                ).encode(),
                # what a move into (or out of) each overlay means: domain.flows
                b"kinds": ",".join(
                    f"{name}:{kind}" for name, kind in overlay_kinds(sources.model).items()
                ).encode(),
            }
        ),
    )
    total = pc.sum(out.column("transitions")).as_py() or 0
    return ReportResult("transitions", "Lifecycle map: stage transitions", out, [f"{total} moves"])


def flow_customers(
    sources: Sources, request: ReportRequest, *, from_stage: str | None, to_stage: str | None
) -> pa.Table:
    """The customers behind one flow of the map (`from_stage` -> `to_stage`; START: a first
    stage) or one stage (`from_stage` None: every move into `to_stage`) in the request's period
    and filter: customer_id, their moves of the flow, the last one's time (newest first).
    As many customers as the transitions report counts for that flow."""
    moves = _moves(sources, request)
    moves = moves.mutate(from_stage=moves.from_stage.fill_null(START))
    if from_stage is not None:
        moves = moves.filter(moves.from_stage == from_stage)
    if to_stage is not None:
        moves = moves.filter(moves.to_stage == to_stage)
    per = moves.group_by("customer_id").aggregate(moves=moves.count(), last_at=moves.at.max())
    per = public_ids(sources, per)
    table = to_arrow(sources, per.order_by([ibis.desc("last_at"), "customer_id"]))
    return table.select(["customer_id", "moves", "last_at"])


WEEK = timedelta(days=7)


def week_edges(at: datetime, weeks: int) -> list[datetime]:
    """The edges of the `weeks` 7-day windows ending at `at`, oldest first (`weeks` + 1 of them)."""
    return [at - k * WEEK for k in range(weeks, -1, -1)]


def weekly_moves(sources: Sources, request: ReportRequest, *, weeks: int) -> dict[str, list[int]]:
    """Customers moving into each stage in each of the `weeks` 7-day windows ending at the
    request's "now", oldest first: per stage, per window, the sum over the stages they came from
    of distinct customers — what the transitions report's `customers` add up to for the window
    as its period (the window's start included, its end not)."""
    edges = week_edges(request.at, weeks)
    moves = sources.transitions
    moves = restrict(sources, moves.filter(in_windows(moves.at, edges)), request)
    moves = moves.mutate(
        window=window_index(moves.at, edges), from_stage=moves.from_stage.fill_null(START)
    )
    per = moves.group_by(["window", "from_stage", "to_stage"]).aggregate(
        customers=moves.customer_id.nunique()
    )
    counts: dict[str, list[int]] = {}
    for r in to_arrow(sources, per).to_pylist():
        series = counts.setdefault(r["to_stage"], [0] * weeks)
        series[r["window"]] += r["customers"]
    return counts


def _schema(by: str | None) -> pa.Schema:
    fields = [
        ("from_stage", pa.string()),
        ("to_stage", pa.string()),
        ("transitions", pa.int64()),
        ("customers", pa.int64()),
    ]
    return pa.schema(([("by", pa.string())] if by else []) + fields)


SPEC = register(
    ReportSpec(
        name="transitions",
        title="Lifecycle map: stage transitions",
        description="Stage-to-stage moves in the period (overlays such as at_risk, churned and "
        "win_back included): the flow matrix behind the lifecycle map's Sankey.",
        run=run,
        plot=plots.sankey,
    )
)
