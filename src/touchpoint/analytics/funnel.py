"""The funnel: of the customers who entered the lifecycle in the period, how many reached each
progression stage, the step and overall conversion, the drop-off and the median time per step.

A customer "reached" a stage when their furthest progression stage (up to the request's "now")
is that stage or a later one, so customers who skip a stage still count for it and the funnel
never widens. Times between stages use first entries and only customers who entered both.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.common import (
    DAY_S,
    NONE_LABEL,
    aggregate_by,
    breakdown,
    in_period,
    key_columns,
    keyed,
    nearest_rank,
    progression,
    quantile_disc,
    to_arrow,
    until_now,
    with_key,
)
from touchpoint.analytics.filters import restrict
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

SCHEMA = [
    ("stage", pa.string()),
    ("customers", pa.int64()),
    ("step_conversion", pa.float64()),
    ("overall_conversion", pa.float64()),
    ("drop_off", pa.int64()),
    ("median_days_from_previous", pa.float64()),
]


def entries(sources: Sources, request: ReportRequest) -> ir.Table:
    """One row per customer who entered the lifecycle in the period: first entry per stage
    (e0, e1, ...) and `top`, the index of the furthest stage reached."""
    stages = progression(sources)
    moves = sources.transitions
    moves = moves.filter(until_now(moves.at, request) & moves.to_stage.isin(stages))
    moves = restrict(sources, moves, request)
    rank = moves.to_stage.cases(*[(s, i) for i, s in enumerate(stages)], else_=-1)
    per = moves.group_by("customer_id").aggregate(
        started=moves.at.min(),
        top=rank.max(),
        **{f"e{i}": moves.at.min(where=moves.to_stage == s) for i, s in enumerate(stages)},
    )
    return per.filter(in_period(per.started, request))


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    stages = progression(sources)
    people = with_key(entries(sources, request), breakdown(sources, request.by))
    if sources.backend.name == "duckdb":
        counts, medians = _one_pass(sources, people, len(stages))
    else:
        by_top = aggregate_by(people, ["top"], n=people.count())
        counts = to_arrow(sources, by_top).to_pylist()
        medians = _medians(sources, people, len(stages))
    table = _assemble(stages, counts, medians, request.by)
    return ReportResult("funnel", "Lifecycle funnel", table)


def _days(people: ir.Table, i: int) -> ir.FloatingColumn:
    return (people[f"e{i}"].epoch_seconds() - people[f"e{i - 1}"].epoch_seconds()) / DAY_S


def _one_pass(
    sources: Sources, people: ir.Table, n_stages: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """DuckDB: counts per furthest stage and the median days per step in one aggregate."""
    per_key = aggregate_by(
        people,
        [],
        **{f"n{i}": people.count(where=people.top == i) for i in range(n_stages)},
        **{f"m{i}": quantile_disc(_days(people, i), 0.5) for i in range(1, n_stages)},
    )
    rows = to_arrow(sources, per_key).to_pylist()
    counts = [{"key": r["key"], "top": i, "n": r[f"n{i}"]} for r in rows for i in range(n_stages)]
    medians = [
        {"key": r["key"], "step": i, "median": r[f"m{i}"]} for r in rows for i in range(1, n_stages)
    ]
    return counts, medians


def _medians(sources: Sources, people: ir.Table, n_stages: int) -> list[dict[str, Any]]:
    """Median days from first entry into stage i-1 to first entry into stage i, per key and i."""
    # Elsewhere one row per (customer, step) through a cross join with the step numbers (no
    # UNION: SQLite's parser overflows on five copies of the query), then window percentiles.
    steps = ibis.memtable(pa.table({"step": list(range(1, n_stages))}))
    pairs = people.cross_join(steps)
    after = pairs.step.cases(*[(i, pairs[f"e{i}"]) for i in range(1, n_stages)])
    before = pairs.step.cases(*[(i, pairs[f"e{i - 1}"]) for i in range(1, n_stages)])
    gaps = pairs.select(
        *key_columns(pairs), "step", days=(after.epoch_seconds() - before.epoch_seconds()) / DAY_S
    )
    gaps = gaps.filter(gaps.days.notnull())
    groups = [*key_columns(gaps), "step"]
    table = keyed(nearest_rank(sources, gaps, "days", groups, {"median": 0.5}))
    return to_arrow(sources, table).to_pylist()


def _assemble(
    stages: list[str], counts: list[dict[str, Any]], medians: list[dict[str, Any]], by: str | None
) -> pa.Table:
    keys = sorted({row["key"] for row in counts}) or ([NONE_LABEL] if not by else [])
    median = {(m["key"], m["step"]): m["median"] for m in medians}
    rows = []
    for key in keys:
        tops = {row["top"]: row["n"] for row in counts if row["key"] == key}
        reached = [sum(n for top, n in tops.items() if top >= i) for i in range(len(stages))]
        for i, stage in enumerate(stages):
            before = reached[i - 1] if i else reached[0]
            row: dict[str, Any] = {"by": key} if by else {}
            row |= {
                "stage": stage,
                "customers": reached[i],
                "step_conversion": reached[i] / before if before else None,
                "overall_conversion": reached[i] / reached[0] if reached[0] else None,
                "drop_off": before - reached[i],
                "median_days_from_previous": median.get((key, i)),
            }
            rows.append(row)
    fields = ([("by", pa.string())] if by else []) + SCHEMA
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


SPEC = register(
    ReportSpec(
        name="funnel",
        title="Lifecycle funnel",
        description="Customers entering the lifecycle in the period and how far they got: "
        "customers per stage, step and overall conversion, drop-off, median days per step.",
        run=run,
        plot=plots.funnel,
    )
)
