"""Lifecycle composition per day, week or month, as PostHog's lifecycle insight counts it:
among customers active (an inbound interaction) in a period, `new` were active for the first
time, `returning` were also active in the period before, `resurrecting` were not but had been
active earlier; `dormant` (shown negative) were active in the period before but not in this one."""

from __future__ import annotations

import ibis
import pyarrow as pa

from touchpoint.analytics import plots
from touchpoint.analytics.activity import active_periods, in_progress_note, period_bounds
from touchpoint.analytics.common import period_start, to_arrow
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register

STATUSES = ("new", "returning", "resurrecting", "dormant")


def run(sources: Sources, request: ReportRequest) -> ReportResult:
    pairs = active_periods(sources, request)
    status = ibis.cases(
        (pairs.prev_p.isnull(), "new"),
        (pairs.prev_p == pairs.p - 1, "returning"),
        else_="resurrecting",
    )
    here = pairs.select("p", status=status)
    gone = pairs.filter(pairs.next_p.isnull() | (pairs.next_p != pairs.p + 1))
    gone = gone.select(p=gone.p + 1, status=ibis.literal("dormant"))
    first, last = period_bounds(request)
    both = ibis.union(here, gone, distinct=False)
    both = both.filter(both.p <= last)
    if first is not None:
        both = both.filter(both.p >= first)
    counts = to_arrow(sources, both.group_by("p", "status").aggregate(n=both.count())).to_pylist()
    cell = {(r["p"], r["status"]): int(r["n"]) for r in counts}
    periods = sorted({r["p"] for r in counts})
    rows = [
        {
            "period": period_start(p, request.interval),
            "status": s,
            "customers": -cell.get((p, s), 0) if s == "dormant" else cell.get((p, s), 0),
        }
        for p in periods
        for s in STATUSES
    ]
    schema = pa.schema(
        [("period", pa.date32()), ("status", pa.string()), ("customers", pa.int64())]
    )
    notes = [
        f"per {request.interval}; active = any inbound interaction; dormant shown negative",
        in_progress_note(request),
    ]
    return ReportResult(
        "composition", "Lifecycle composition", pa.Table.from_pylist(rows, schema=schema), notes
    )


SPEC = register(
    ReportSpec(
        name="composition",
        title="Lifecycle composition",
        description="Per day/week/month: new, returning, resurrecting and dormant customers "
        "(PostHog's lifecycle convention; active = any inbound interaction).",
        run=run,
        plot=plots.stacked_bars,
    )
)
