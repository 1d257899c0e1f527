"""Reading and writing the lifecycle projection: customer stages, stage transitions, model and clock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, literal, select

from touchpoint.domain.stage_engine import Event, StageState, Transition
from touchpoint.store.bulk import bulk_insert, in_set, set_param
from touchpoint.store.tables import (
    customer_stages,
    customers,
    interactions,
    lifecycle_meta,
    stage_transitions,
)

EVENT_COLUMNS = ("occurred_at", "id", "type", "channel", "direction", "revenue", "properties")


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


# --- model and clock --------------------------------------------------------------------------
def read_meta(conn: Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(select(lifecycle_meta))}


def write_meta(conn: Connection, values: dict[str, str]) -> None:
    conn.execute(delete(lifecycle_meta).where(lifecycle_meta.c.key.in_(list(values))))
    bulk_insert(conn, lifecycle_meta, [{"key": k, "value": v} for k, v in values.items()])


# --- per-customer state ---------------------------------------------------------------------
def load_states(conn: Connection, customer_ids: Collection[str]) -> dict[str, StageState]:
    if not customer_ids:
        return {}
    query = select(customer_stages.c.customer_id, customer_stages.c.state).where(
        in_set(customer_stages.c.customer_id, conn.dialect)
    )
    rows = conn.execute(query, set_param(customer_ids, conn.dialect))
    return {cid: StageState.from_json(state) for cid, state in rows}


def forget(conn: Connection, customer_ids: Collection[str], *, transitions: bool) -> None:
    """Delete the stage rows (and, if asked, the transitions) of these customers."""
    if not customer_ids:
        return
    params = set_param(customer_ids, conn.dialect)
    conn.execute(
        delete(customer_stages).where(in_set(customer_stages.c.customer_id, conn.dialect)), params
    )
    if transitions:
        conn.execute(
            delete(stage_transitions).where(in_set(stage_transitions.c.customer_id, conn.dialect)),
            params,
        )


def save(
    conn: Connection,
    states: dict[str, tuple[StageState, float | None]],
    transitions: list[tuple[str, Transition]],
    model_label: str,
) -> None:
    """Insert stage rows (state, next due time) for customers whose old rows are gone, and transitions."""
    rows = [
        {
            "customer_id": cid,
            "stage": state.stage,
            "since": from_epoch(state.since),
            "model": model_label,
            "last_at": from_epoch(state.last_at),
            "last_id": state.last_id,
            "state": state.to_json(),
            "due_at": from_epoch(due) if due is not None else None,
        }
        for cid, (state, due) in states.items()
        if state.stage is not None
    ]
    if rows:
        bulk_insert(conn, customer_stages, rows)
    if transitions:
        bulk_insert(
            conn,
            stage_transitions,
            [
                {
                    "customer_id": cid,
                    "from_stage": t.from_stage,
                    "to_stage": t.to_stage,
                    "at": from_epoch(t.at),
                    "interaction_id": t.interaction_id,
                    "reason": t.reason,
                }
                for cid, t in transitions
            ],
        )


def clear(conn: Connection) -> None:
    conn.execute(delete(stage_transitions))
    conn.execute(delete(customer_stages))


def due_customers(conn: Connection, now: datetime) -> list[str]:
    query = select(customer_stages.c.customer_id).where(customer_stages.c.due_at <= now)
    return list(conn.scalars(query))


# --- the log, as events for the engine ------------------------------------------------------
def event_from_row(row: Any) -> Event:
    occurred_at, id_, type_, channel, direction, revenue, properties = row
    return (occurred_at.timestamp(), id_, type_, channel, direction, revenue, properties)


def events_of(conn: Connection, customer_ids: Collection[str]) -> dict[str, list[Event]]:
    """Every interaction of these customers, each customer's in (occurred_at, id) order."""
    result: dict[str, list[Event]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return result
    query = (
        select(interactions.c.customer_id, *(interactions.c[name] for name in EVENT_COLUMNS))
        .where(in_set(interactions.c.customer_id, conn.dialect))
        .order_by(interactions.c.customer_id, interactions.c.occurred_at, interactions.c.id)
    )
    for row in conn.execute(query, set_param(customer_ids, conn.dialect)):
        result[row[0]].append(event_from_row(row[1:]))
    for events in result.values():  # by code point, as Python and Arrow order ids (not collation)
        events.sort(key=_fold_order)
    return result


def _fold_order(event: Event) -> tuple[float, str]:
    return event[0], event[1]


# --- reading the projection -----------------------------------------------------------------
def stage_counts(conn: Connection, at: datetime | None = None) -> dict[str, int]:
    """Customers per stage now, or as they stood at `at` (their last transition up to then)."""
    if at is None:
        query = select(customer_stages.c.stage, func.count()).group_by(customer_stages.c.stage)
        return {r[0]: r[1] for r in conn.execute(query)}
    return stage_counts_at(conn, [at])[0]


def stage_counts_at(conn: Connection, moments: Sequence[datetime]) -> list[dict[str, int]]:
    """Customers per stage as they stood at each of `moments`, in one pass: a customer's stage
    at a moment is their last transition up to it (by moment, then seq). Each transition moves
    one customer into its stage and out of the one before it (the customer's previous
    transition, `lag`), so the count of a stage at a moment is the sum of those moves up to it:
    the moves are counted per (stage left, stage entered) and per span between the moments (one
    CASE, no join of every transition with every moment), then added up span by span."""
    if not moments:
        return []
    order = sorted(range(len(moments)), key=lambda n: moments[n])
    t = stage_transitions
    ordered = (
        select(
            t.c.to_stage,
            t.c.at,
            func.lag(t.c.to_stage)
            .over(partition_by=t.c.customer_id, order_by=(t.c.at, t.c.seq))
            .label("before"),
        )
        .where(t.c.at <= max(moments))
        .subquery("ordered")
    )
    bucket = case(
        *((ordered.c.at <= literal(moments[n], t.c.at.type), k) for k, n in enumerate(order))
    ).label("bucket")
    # one pass over the ordered transitions: how many moved from each stage into each, per span
    query = select(bucket, ordered.c.before, ordered.c.to_stage, func.count()).group_by(
        bucket, ordered.c.before, ordered.c.to_stage
    )
    by_bucket: dict[int, dict[str, int]] = {}
    for k, before, stage, moved in conn.execute(query):
        deltas = by_bucket.setdefault(k, {})
        deltas[stage] = deltas.get(stage, 0) + moved
        if before is not None:
            deltas[before] = deltas.get(before, 0) - moved
    counts: list[dict[str, int]] = [{} for _ in moments]
    running: dict[str, int] = {}
    for k, n in enumerate(order):
        for stage, delta in by_bucket.get(k, {}).items():
            running[stage] = running.get(stage, 0) + delta
        counts[n] = {stage: c for stage, c in running.items() if c}
    return counts


def transition_count(conn: Connection) -> int:
    return conn.scalar(select(func.count()).select_from(stage_transitions)) or 0


def stage_of_each(conn: Connection) -> dict[str, str]:
    return {
        r[0]: r[1]
        for r in conn.execute(select(customer_stages.c.customer_id, customer_stages.c.stage))
    }


def current_stage(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    query = select(customer_stages.c.stage, customer_stages.c.since, customer_stages.c.model).where(
        customer_stages.c.customer_id == customer_id
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def history(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    """The customer's transitions, oldest first."""
    t = stage_transitions
    query = (
        select(t.c.from_stage, t.c.to_stage, t.c.at, t.c.interaction_id, t.c.reason)
        .where(and_(t.c.customer_id == customer_id))
        .order_by(t.c.at, t.c.seq)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


# --- for the projection contract -------------------------------------------------------------
def next_due_at(conn: Connection) -> datetime | None:
    """The earliest moment a time-based stage falls due (indexed)."""
    value: datetime | None = conn.scalar(select(func.min(customer_stages.c.due_at)))
    return value


def staged_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(customer_stages)) or 0)


def merged_away_with_stage(conn: Connection) -> list[str]:
    """Customers merged into another who still have a stage row (a deferred import merged them)."""
    query = select(customer_stages.c.customer_id).where(
        customer_stages.c.customer_id.in_(
            select(customers.c.id).where(customers.c.merged_into.is_not(None))
        )
    )
    return list(conn.scalars(query))


def transitions_after(conn: Connection, position: int, limit: int) -> list[dict[str, Any]]:
    """Stage transitions in the order they were written (by seq), after `position`."""
    t = stage_transitions
    query = (
        select(
            t.c.seq,
            t.c.customer_id,
            t.c.from_stage,
            t.c.to_stage,
            t.c.at,
            t.c.interaction_id,
            t.c.reason,
        )
        .where(t.c.seq > position)
        .order_by(t.c.seq)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]
