"""The transition matrix: how many moves (and distinct customers) went from each stage to each
other stage in the period, overlays included — the data behind the lifecycle map (a Sankey)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    aggregate_by,
    all_stages,
    breakdown,
    in_period,
    progression,
    to_arrow,
    with_key,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

START = "(start)"


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    moves = sources.transitions
    moves = moves.filter(in_period(moves.at, request))
    moves = with_key(moves, breakdown(sources, request.by))
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
            }
        ),
    )
    total = pc.sum(out.column("transitions")).as_py() or 0
    return ReportResult("transitions", "Lifecycle map: stage transitions", out, [f"{total} moves"])


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
