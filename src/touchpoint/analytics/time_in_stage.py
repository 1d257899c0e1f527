"""Time in stage: for stays that began in the period, how long customers stayed in each stage
before moving on (p50, p90, mean in days) and how many are still there."""

from __future__ import annotations

import ibis
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    DAY_S,
    aggregate_by,
    all_stages,
    breakdown,
    in_period,
    key_columns,
    keyed,
    nearest_rank,
    to_arrow,
    until_now,
    with_key,
)
from touchpoint.analytics.filters import restrict
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    moves = sources.transitions
    moves = restrict(sources, moves.filter(until_now(moves.at, request)), request)
    after = ibis.window(group_by=moves.customer_id, order_by=[moves.at, moves.seq])
    stays = moves.mutate(left_at=moves.at.lead().over(after))
    stays = stays.filter(in_period(stays.at, request))
    stays = with_key(stays, breakdown(sources, request.by))
    stays = stays.mutate(days=(stays.left_at.epoch_seconds() - stays.at.epoch_seconds()) / DAY_S)
    counts = aggregate_by(
        stays,
        ["to_stage"],
        stays=stays.count(),
        still_there=stays.count(where=stays.left_at.isnull()),
        mean_days=stays.days.mean(),
    )
    done = stays.filter(stays.left_at.notnull())
    groups = [*key_columns(done), "to_stage"]
    pct = keyed(nearest_rank(sources, done, "days", groups, {"p50_days": 0.5, "p90_days": 0.9}))
    counted = to_arrow(sources, counts).to_pylist()
    percentiles = {(r["key"], r["to_stage"]): r for r in to_arrow(sources, pct).to_pylist()}
    order = {name: i for i, name in enumerate(all_stages(sources))}
    rows = []
    for r in sorted(counted, key=lambda r: (r["key"], order.get(r["to_stage"], 99), r["to_stage"])):
        p = percentiles.get((r["key"], r["to_stage"]), {})
        rows.append(
            ({"by": r["key"]} if request.by else {})
            | {
                "stage": r["to_stage"],
                "stays": int(r["stays"]),
                "still_there": int(r["still_there"]),
                "p50_days": p.get("p50_days"),
                "p90_days": p.get("p90_days"),
                "mean_days": r["mean_days"],
            }
        )
    fields = [
        ("stage", pa.string()),
        ("stays", pa.int64()),
        ("still_there", pa.int64()),
        ("p50_days", pa.float64()),
        ("p90_days", pa.float64()),
        ("mean_days", pa.float64()),
    ]
    schema = pa.schema(([("by", pa.string())] if request.by else []) + fields)
    notes = ["percentiles are nearest-rank over finished stays; still_there stays are open"]
    return ReportResult(
        "time-in-stage", "Time in stage", pa.Table.from_pylist(rows, schema=schema), notes
    )


SPEC = register(
    ReportSpec(
        name="time-in-stage",
        title="Time in stage",
        description="How long stays that began in the period lasted, per stage: p50/p90/mean "
        "days over finished stays, and how many customers are still in the stage.",
        run=run,
        plot=plots.box_percentiles,
    )
)
