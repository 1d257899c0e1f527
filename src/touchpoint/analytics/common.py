"""Building blocks the reports share: period filters, per-customer breakdown keys, nearest-rank
percentiles, period arithmetic and the contact-center terms of `domain.contact_center` — each one
Ibis expression that compiles the same on every engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics import compiled
from touchpoint.analytics.catalog import INTERVALS
from touchpoint.analytics.reports import ReportRequest, Sources
from touchpoint.domain import contact_center as cc
from touchpoint.domain.reach import CHANNEL_GROUPS
from touchpoint.domain.reach import DIRECT as DIRECT_CHANNEL
from touchpoint.errors import ValidationError

NONE_LABEL = "(none)"
DAY_S = 86_400.0


def naive(moment: datetime) -> datetime:
    """The naive-UTC form every engine's timestamps are compared in."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def in_period(column: ir.TimestampColumn, request: ReportRequest) -> ir.BooleanColumn:
    """column in [start, end), with end defaulting to the request's "now"."""
    cond = column < ibis.literal(naive(request.end or request.at))
    if request.start is not None:
        cond &= column >= ibis.literal(naive(request.start))
    return cond


def until_now(column: ir.TimestampColumn, request: ReportRequest) -> ir.BooleanColumn:
    return column < ibis.literal(naive(request.at))


def in_windows(column: ir.TimestampColumn, edges: list[datetime]) -> ir.BooleanColumn:
    """column in [edges[0], edges[-1]): in one of the windows the ascending `edges` bound."""
    return (column >= ibis.literal(naive(edges[0]))) & (column < ibis.literal(naive(edges[-1])))


def window_index(column: ir.TimestampColumn, edges: list[datetime]) -> ir.IntegerValue:
    """Of a moment in_windows: i for the window [edges[i], edges[i + 1]), by comparisons with
    the edges (as in_period bounds a report's period: start included, end not), so each window
    counts what a report over that window as its period counts."""
    index: ir.IntegerValue = ibis.literal(0, "int64")
    for edge in edges[1:-1]:
        index += (column >= ibis.literal(naive(edge))).ifelse(1, 0)
    return index


def stage_names(stages: Any) -> list[str]:
    return [s if isinstance(s, str) else s.name for s in stages]


def progression(sources: Sources) -> list[str]:
    return stage_names(sources.model.stages)


def all_stages(sources: Sources) -> list[str]:
    return stage_names(sources.model.all_stages)


def active(interactions: ir.Table) -> ir.Table:
    """Interactions the customer did (inbound): what counts as activity for churn and composition."""
    return interactions.filter(interactions.direction == "inbound")


# --- contact-center terms (domain/contact_center.py) as predicates over interactions -----------
def live_contact(t: ir.Table) -> ir.BooleanColumn:
    """An inbound call or chat."""
    return t.type.isin(cc.LIVE_TYPES) & (t.direction == cc.INBOUND)


def answered(t: ir.Table) -> ir.BooleanColumn:
    """Of a live contact: an agent took it (whatever its outcome)."""
    return t.agent.notnull()


def abandoned(t: ir.Table) -> ir.BooleanColumn:
    """Of a live contact: the customer gave up waiting."""
    return t.outcome.isin(cc.ABANDONED_OUTCOMES).fill_null(False)


def written_message(t: ir.Table) -> ir.BooleanColumn:
    """An inbound email, social message or SMS that reached a queue."""
    return t.channel.isin(cc.WRITTEN_CHANNELS) & (t.direction == cc.INBOUND) & t.queue.notnull()


def agent_reply(t: ir.Table) -> ir.BooleanColumn:
    """An agent's outbound message on a written channel."""
    return t.channel.isin(cc.WRITTEN_CHANNELS) & (t.direction == cc.OUTBOUND) & t.agent.notnull()


def wait(t: ir.Table) -> ir.FloatingColumn:
    """Seconds the customer waited (the `wait_s` property)."""
    return t[cc.WAIT_PROPERTY]


def handle_time(t: ir.Table) -> ir.NumericColumn:
    """Seconds an agent spent on the contact; meant for answered live contacts."""
    return t[cc.HANDLE_TIME_COLUMN]


def fcr_flag(t: ir.Table) -> ir.FloatingColumn:
    """1.0 / 0.0 where first-contact resolution was recorded, else NULL: sum over count is the rate."""
    return t[cc.FCR_PROPERTY]


def first_per_customer(table: ir.Table, time_col: str, tie_col: str) -> ir.Table:
    """Each customer's earliest row (ties broken by `tie_col`): a deterministic first touch."""
    rank = ibis.row_number().over(
        group_by=table.customer_id, order_by=[table[time_col], table[tie_col]]
    )
    return table.mutate(_rank=rank).filter(lambda t: t._rank == 0).drop("_rank")


def breakdown(sources: Sources, by: str | None) -> ir.Table | None:
    """customer_id -> `key` for a breakdown: first touch's reach channel, first campaign touched, the
    first creative,
    segment trait (else country), or current stage. None when no breakdown is asked."""
    if by is None:
        return None
    inter = sources.interactions
    if by == "channel":
        return first_touch_channel(sources)
    if by == "campaign":
        touched = inter.filter(inter.campaign.notnull())
        first = first_per_customer(touched, "occurred_at", "seq")
        return first.select(first.customer_id, key=first.campaign)
    if by == "creative":  # utm_content, or the social post a referrer named (issue 16)
        touched = inter.filter(inter.creative.notnull())
        first = first_per_customer(touched, "occurred_at", "seq")
        return first.select(first.customer_id, key=first.creative)
    if by == "segment":
        people = sources.customers
        return people.select(customer_id=people.id, key=people.segment)
    if by == "stage":
        return current_stage(sources, sources.transitions)
    raise ValidationError(f"unknown breakdown {by!r}")


@ibis.udf.agg.builtin
def arg_max(arg: str, key: dt.Struct({"at": dt.timestamp, "seq": dt.int64})) -> str:  # type: ignore[empty-body,valid-type]
    """DuckDB's arg_max: `arg` of the row with the greatest key (structs compare field by field)."""


def reach_channel(medium: ir.StringValue) -> ir.StringValue:
    """`domain.reach.channel_group` as an expression: the channel group (GA4's names) of an
    attribution medium, Direct without one."""
    folded = medium.strip().lower()
    return ibis.cases(
        (medium.isnull() | (folded == ""), DIRECT_CHANNEL),
        *[(folded == m, group) for m, group in CHANNEL_GROUPS.items()],
        (
            folded.isin(["ppc", "paidsearch"]) | folded.startswith("paid"),
            CHANNEL_GROUPS["cpc"],
        ),
        else_="Other",
    )


def first_touch_channel(sources: Sources) -> ir.Table:
    """customer_id -> `key`, the reach channel of the customer's first inbound touch carrying a
    source or medium (UTM tags, or worked out from the referrer at ingest); Direct for a
    customer with none."""
    inter = sources.interactions
    touched = inter.filter(
        (inter.direction == "inbound") & (inter.source.notnull() | inter.medium.notnull())
    )
    first = first_per_customer(touched, "occurred_at", "seq").select("customer_id", "medium")
    people = inter.select("customer_id").distinct()  # shallower than `customers` (SQLite's parser)
    j = people.left_join(first, people.customer_id == first.customer_id)
    return j.select(customer_id=people.customer_id, key=reach_channel(j.medium))


def current_stage(sources: Sources, moves: ir.Table) -> ir.Table:
    """customer_id -> `key`, the stage of each customer's latest transition (latest `at`, then
    highest seq). DuckDB has arg_max over (at, seq), one aggregation (half the time of the
    portable form); elsewhere two aggregations and joins, cheaper than a window."""
    if sources.backend.name == "duckdb":
        latest_key = ibis.struct({"at": moves.at, "seq": moves.seq})
        return moves.group_by("customer_id").aggregate(key=arg_max(moves.to_stage, latest_key))
    last = moves.group_by("customer_id").aggregate(last_at=moves.at.max())
    at_last = moves.join(last, "customer_id").filter(lambda t: t.at == t.last_at)
    top = at_last.group_by("customer_id").aggregate(top_seq=at_last.seq.max())
    latest = moves.join(top, [moves.customer_id == top.customer_id, moves.seq == top.top_seq])
    return latest.select(customer_id=moves.customer_id, key=moves.to_stage)


def with_key(table: ir.Table, keys: ir.Table | None) -> ir.Table:
    """Attach the breakdown key (customers without one get "(none)"). Without a breakdown the
    table is left alone: grouping by a constant column costs a third more in DuckDB, so
    `aggregate_by` groups without it and adds "(none)" to the (small) result."""
    if keys is None:
        return table
    joined = table.left_join(keys, table.customer_id == keys.customer_id).drop("customer_id_right")
    return joined.mutate(key=joined.key.fill_null(NONE_LABEL))


def key_columns(table: ir.Table) -> list[str]:
    """["key"] when `table` carries a breakdown key (see with_key), else []."""
    return ["key"] if "key" in table.columns else []


def keyed(table: ir.Table) -> ir.Table:
    """An aggregate's result with its breakdown key: "(none)" when there was no breakdown."""
    return table if "key" in table.columns else table.mutate(key=ibis.literal(NONE_LABEL))


def aggregate_by(table: ir.Table, groups: list[str], **aggs: Any) -> ir.Table:
    """`table` aggregated per breakdown key (when there is one) and `groups`; the result always
    has a `key` column."""
    columns = [*key_columns(table), *groups]
    out = table.group_by(columns).aggregate(**aggs) if columns else table.aggregate(**aggs)
    return keyed(out)


def public_ids(sources: Sources, table: ir.Table) -> ir.Table:
    """`table` with customer_id as the system of record's customer id: reports that list
    customers call this last (the columnar copy keys customers by integer)."""
    keys = sources.customer_keys
    if keys is None:
        return table
    keys = keys.select(_key=keys.key, _public_id=keys.id)
    joined = table.left_join(keys, table.customer_id == keys._key)
    return joined.mutate(customer_id=joined._public_id).drop("_key", "_public_id")


@ibis.udf.agg.builtin
def quantile_disc(arg: float, q: float) -> float:  # type: ignore[empty-body]
    """DuckDB's discrete quantile: the nearest-rank percentile (checked in the tests)."""


def nearest_rank(
    sources: Sources, table: ir.Table, value: str, groups: list[str], ps: dict[str, float]
) -> ir.Table:
    """Nearest-rank percentiles of `value` per group: the smallest value with at least p of the
    group at or below it. DuckDB has it built in (quantile_disc); elsewhere window functions
    compute the same, so SQLite and PostgreSQL agree to the last digit."""
    if sources.backend.name == "duckdb":
        table = table.filter(table[value].notnull())
        aggs = {name: quantile_disc(table[value], p) for name, p in ps.items()}
        return table.group_by(groups).aggregate(**aggs) if groups else table.aggregate(**aggs)
    rank = ibis.row_number().over(group_by=[table[g] for g in groups], order_by=table[value])
    size = table.count().over(group_by=[table[g] for g in groups]) if groups else table.count()
    ranked = table.mutate(_r=rank + 1, _n=size)
    aggs = {
        name: ranked[value].max(where=ranked._r <= (ranked._n * p).ceil()) for name, p in ps.items()
    }
    return ranked.group_by(groups).aggregate(**aggs) if groups else ranked.aggregate(**aggs)


def period_index(column: ir.TimestampColumn, interval: str) -> ir.IntegerColumn:
    """An integer per day / ISO week (Monday start) / month, consecutive across boundaries."""
    if interval == "month":
        return column.year() * 12 + column.month() - 1
    days = (column.epoch_seconds() / DAY_S).floor()
    if interval == "day":
        return days.cast("int64")
    if interval == "week":
        return ((days + 3) / 7).floor().cast("int64")  # 1970-01-01 was a Thursday
    raise ValidationError(f"unknown interval {interval!r}; use one of {', '.join(INTERVALS)}")


def period_start(index: int, interval: str) -> date:
    if interval == "month":
        return date(index // 12, index % 12 + 1, 1)
    if interval == "week":
        return date(1970, 1, 1) + timedelta(days=index * 7 - 3)
    return date(1970, 1, 1) + timedelta(days=index)


def ratio(part: Any, whole: Any) -> float | None:
    """part / whole as a float; None when either is missing or the whole is 0. Rates are
    computed here, from counts, so integer division never differs between engines."""
    return float(part) / float(whole) if part is not None and whole else None


def to_arrow(sources: Sources, expr: ir.Table) -> pa.Table:
    return compiled.to_arrow(sources.backend, expr)


def scalar(sources: Sources, expr: ir.Scalar) -> Any:
    """One value, through Arrow (not pandas: same types on every engine)."""
    return compiled.to_arrow(sources.backend, expr).as_py()
