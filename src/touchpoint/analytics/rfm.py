"""RFM: recency, frequency and monetary quintile scores (1-5) per purchasing customer and the
standard named groups, as a report (`touchpoint report rfm`) and as a per-customer field
(`rfm_groups`, for segments).

Scores. Over the customers who purchased up to the observation end: recency = days from the
last purchase to the end, frequency = purchases, monetary = their total revenue. The quintile
edges are nearest-rank percentiles (the smallest value with at least 20/40/60/80% of customers at
or below it, the same on every engine); a value at or below the first edge scores 1 for F and M
and 5 for R (recent is good), above the last edge 5 for F and M and 1 for R.

Groups. The common R x FM grid, FM = (F + M) / 2 rounded half up, from the segment map widely
used for RFM (R x F regular expressions: [1-2][1-2] hibernating, [1-2][3-4] at risk, [1-2]5 can't
lose, 3[1-2] about to sleep, 33 need attention, [3-4][4-5] loyal, 41 promising, 51 new, [4-5][2-3]
potential loyalists, 5[4-5] champions — applied to R x FM as e.g. docs.churned.io's RFM model
does), with 11 (the oldest, least valuable) as lost, so all eleven named groups exist:

    R \\ FM   1               2                    3                    4           5
    5        new             potential_loyalists  potential_loyalists  champions   champions
    4        promising       potential_loyalists  potential_loyalists  loyal       loyal
    3        about_to_sleep  about_to_sleep       need_attention       loyal       loyal
    2        hibernating     hibernating          at_risk              at_risk     cant_lose
    1        lost            hibernating          at_risk              at_risk     cant_lose
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics.clv import purchases
from touchpoint.analytics.common import in_period, naive, public_ids, to_arrow
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain.rfm import DAY_S, GROUPS, QUINTILES, rfm_group

if TYPE_CHECKING:
    import plotly.graph_objects as go


def quintile_edges(table: ir.Table, value: str) -> ir.Table:
    """One row: the nearest-rank 20/40/60/80th percentiles of `value` (window functions, so
    DuckDB, SQLite and PostgreSQL agree)."""
    rank = ibis.row_number().over(order_by=table[value]) + 1
    ranked = table.mutate(_r=rank, _n=table.count().over())
    return ranked.aggregate(
        **{
            f"{value}_{name}": ranked[value].max(where=ranked._r <= (ranked._n * p).ceil())
            for name, p in QUINTILES.items()
        }
    )


def _score(column: ir.NumericColumn, edges: ir.Table, value: str) -> ir.IntegerColumn:
    """1 + how many edges the value is above (1-5)."""
    above = [(column > edges[f"{value}_{q}"]).ifelse(1, 0) for q in QUINTILES]
    return 1 + above[0] + above[1] + above[2] + above[3]


def rfm_summary(
    transactions: ir.Table,
    *,
    observation_end: datetime,
    customer: str = "customer_id",
    at: str = "occurred_at",
    amount: str = "revenue",
) -> ir.Table:
    """Per customer with a transaction before `observation_end` (naive UTC, exclusive):
    recency_days, frequency, monetary, the r, f, m and fm scores, rfm ("545") and the group."""
    end = naive(observation_end)
    before = transactions.filter(transactions[at] < end)
    per = before.group_by(customer_id=before[customer]).aggregate(
        last_at=before[at].max(),
        frequency=before.count(),
        monetary=before[amount].cast("float64").sum(),
    )
    end_s = int(end.replace(tzinfo=UTC).timestamp())
    seconds = (end_s - per.last_at.epoch_seconds()).cast("float64")  # PostgreSQL: not numeric
    per = per.mutate(recency_days=seconds / DAY_S)
    edges = (
        quintile_edges(per, "recency_days")
        .cross_join(quintile_edges(per, "frequency"))
        .cross_join(quintile_edges(per, "monetary"))
    )
    scored = per.cross_join(edges)
    scored = scored.mutate(
        r=6 - _score(scored.recency_days, scored, "recency_days"),
        f=_score(scored.frequency, scored, "frequency"),
        m=_score(scored.monetary, scored, "monetary"),
    )
    scored = scored.mutate(fm=((scored.f + scored.m + 1) / 2).floor().cast("int64"))
    cases = [
        ((scored.r == r) & (scored.fm == fm), rfm_group(r, fm))
        for r in range(1, 6)
        for fm in range(1, 6)
    ]
    group = ibis.cases(*cases, else_="lost")
    rfm = scored.r.cast("string") + scored.f.cast("string") + scored.m.cast("string")
    return scored.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "fm",
        rfm=rfm,
        group=group,
    )


def _purchases_until(sources: Sources, request: ReportRequest) -> ir.Table:
    inter = sources.interactions
    open_start = ReportRequest(None, request.end, request.by, request.at, request.interval)
    return purchases(inter.filter(in_period(inter.occurred_at, open_start)))


def observation_end(request: ReportRequest) -> datetime:
    return request.end or request.at


def rfm_groups(sources: Sources, at: datetime) -> dict[str, str]:
    """customer_id -> RFM group as of `at` (customers who never purchased have none)."""
    request = ReportRequest(None, at, None, at)
    expr = rfm_summary(_purchases_until(sources, request), observation_end=at)
    rows = to_arrow(sources, public_ids(sources, expr.select("customer_id", "group")))
    return {str(cid): str(g) for cid, g in zip(*rows.columns, strict=True)}


SUMMARY_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("customers", pa.int64()),
        ("share", pa.float64()),
        ("mean_recency_days", pa.float64()),
        ("mean_frequency", pa.float64()),
        ("mean_monetary", pa.float64()),
        ("revenue", pa.float64()),
    ]
)


def run_rfm(sources: Sources, request: ReportRequest) -> ReportResult:
    end = observation_end(request)
    expr = rfm_summary(_purchases_until(sources, request), observation_end=end)
    by_group = expr.group_by("group").aggregate(
        customers=expr.count(),
        mean_recency_days=expr.recency_days.mean(),
        mean_frequency=expr.frequency.cast("float64").mean(),  # PostgreSQL: numeric otherwise
        mean_monetary=expr.monetary.mean(),
        revenue=expr.monetary.sum(),
    )
    found = {row["group"]: row for row in to_arrow(sources, by_group).to_pylist()}
    total = sum(int(row["customers"]) for row in found.values())
    rows = [_group_row(name, found.get(name), total) for name in GROUPS]
    last_day = (naive(end) - timedelta(microseconds=1)).date()
    notes = [
        f"{total:,} customers with a purchase up to {last_day.isoformat()}; scores are quintiles "
        "(nearest rank) of days since the last purchase, purchases and revenue; groups from the "
        "R x FM grid (see analytics/rfm.py)"
    ]
    table = pa.Table.from_pylist(rows, schema=SUMMARY_SCHEMA)
    return ReportResult("rfm", "RFM groups", table, notes)


def _group_row(name: str, row: dict[str, Any] | None, total: int) -> dict[str, Any]:
    if row is None:
        return {"group": name, "customers": 0, "share": 0.0, "revenue": 0.0}
    return {
        "group": name,
        "customers": int(row["customers"]),
        "share": int(row["customers"]) / total if total else 0.0,
        "mean_recency_days": float(row["mean_recency_days"]),
        "mean_frequency": float(row["mean_frequency"]),
        "mean_monetary": float(row["mean_monetary"]),
        "revenue": float(row["revenue"]),
    }


def plot_rfm(result: ReportResult) -> go.Figure:
    """Customers per group (bars) and their revenue (markers, right axis)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = result.table.to_pylist()
    groups = [r["group"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(name="customers", x=groups, y=[r["customers"] for r in rows]))
    fig.add_trace(
        go.Scatter(name="revenue", x=groups, y=[r["revenue"] for r in rows], mode="markers"),
        secondary_y=True,
    )
    fig.update_layout(title=result.title, xaxis_title="RFM group")
    fig.update_yaxes(title_text="customers", secondary_y=False)
    fig.update_yaxes(title_text="revenue", secondary_y=True)
    return fig


register(
    ReportSpec(
        name="rfm",
        title="RFM groups",
        description="Recency, frequency and monetary quintiles and the named groups (champions, "
        "loyal, potential loyalists, new, promising, need attention, about to sleep, at risk, "
        "can't lose, hibernating, lost)",
        run=run_rfm,
        plot=plot_rfm,
    )
)
