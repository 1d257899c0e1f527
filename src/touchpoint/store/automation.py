"""Playbook runs and steps as stored (automation/runs.py drives them): runs created once by their
key, due steps claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one
writer), finished with their outcome and the interaction to log, and what a condition reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, null, or_, select, update
from sqlalchemy.engine import RowMapping

from touchpoint.store.tables import (
    customer_stages,
    customers,
    identities,
    interactions,
    playbook_runs,
    playbook_states,
    playbook_steps,
)

PENDING, CLAIMED, DONE, STOPPED, FAILED = "pending", "claimed", "done", "stopped", "failed"
_LOG_COLUMNS = (
    interactions.c.seq,
    interactions.c.id,
    interactions.c.customer_id,
    interactions.c.occurred_at,
    interactions.c.type,
    interactions.c.channel,
    interactions.c.properties,
)


def log_after(
    conn: Connection, after: int, upto: int, types: Collection[str], limit: int
) -> list[RowMapping]:
    """The log's interactions of `types` in positions (after, upto], in log order."""
    query = (
        select(*_LOG_COLUMNS)
        .where(interactions.c.seq > after, interactions.c.seq <= upto)
        .where(interactions.c.type.in_(list(types)))
        .order_by(interactions.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# --- runs ----------------------------------------------------------------------------------------


def run_by_key(conn: Connection, key: str) -> RowMapping | None:
    return conn.execute(select(playbook_runs).where(playbook_runs.c.key == key)).mappings().first()


def run(conn: Connection, run_id: str) -> RowMapping | None:
    return (
        conn.execute(select(playbook_runs).where(playbook_runs.c.id == run_id)).mappings().first()
    )


def add_run(conn: Connection, **values: Any) -> None:
    conn.execute(insert(playbook_runs).values(values))


def set_run(conn: Connection, run_id: str, *, status: str, reason: str | None = None) -> None:
    conn.execute(
        update(playbook_runs)
        .where(playbook_runs.c.id == run_id)
        .values(status=status, reason=reason)
    )


def earlier_starts(conn: Connection, playbook: str, customer_id: str) -> list[datetime]:
    query = select(playbook_runs.c.started_at).where(
        playbook_runs.c.playbook == playbook, playbook_runs.c.customer_id == customer_id
    )
    return list(conn.execute(query).scalars())


def runs(
    conn: Connection, *, playbook: str | None, customer_id: str | None, limit: int
) -> list[RowMapping]:
    query = select(playbook_runs).order_by(playbook_runs.c.started_at.desc(), playbook_runs.c.id)
    if playbook is not None:
        query = query.where(playbook_runs.c.playbook == playbook)
    if customer_id is not None:
        query = query.where(playbook_runs.c.customer_id == customer_id)
    return list(conn.execute(query.limit(limit)).mappings())


def steps_of(conn: Connection, run_ids: Collection[str]) -> list[RowMapping]:
    if not run_ids:
        return []
    query = (
        select(playbook_steps)
        .where(playbook_steps.c.run_id.in_(list(run_ids)))
        .order_by(playbook_steps.c.run_id, playbook_steps.c.step)
    )
    return list(conn.execute(query).mappings())


def counts_by_status(conn: Connection) -> dict[tuple[str, str], int]:
    """{(playbook, run status): runs}."""
    query = select(playbook_runs.c.playbook, playbook_runs.c.status, func.count()).group_by(
        playbook_runs.c.playbook, playbook_runs.c.status
    )
    return {(p, s): n for p, s, n in conn.execute(query)}


# --- steps ---------------------------------------------------------------------------------------


def add_step(
    conn: Connection, *, key: str, run_id: str, step: int, kind: str, due_at: datetime
) -> bool:
    """Add a run's step once (its key names run and step); False if it was there."""
    found = conn.execute(select(playbook_steps.c.seq).where(playbook_steps.c.key == key)).first()
    if found is not None:
        return False
    conn.execute(
        insert(playbook_steps).values(
            key=key, run_id=run_id, step=step, kind=kind, due_at=due_at, status=PENDING, attempts=0
        )
    )
    return True


def _claimable(now: datetime) -> Any:
    return or_(
        and_(playbook_steps.c.status == PENDING, playbook_steps.c.due_at <= now),
        and_(playbook_steps.c.status == CLAIMED, playbook_steps.c.claimed_until < now),
    )


def claim_due(
    conn: Connection, now: datetime, lease: timedelta, limit: int, playbooks: Collection[str]
) -> list[RowMapping]:
    """Claim up to `limit` steps of these playbooks due by `now` (or whose lease passed) until
    `now + lease`: each claim counts an attempt, which the finishing worker must still hold (a
    fencing token)."""
    if not playbooks:
        return []
    of_playbooks = select(playbook_runs.c.id).where(playbook_runs.c.playbook.in_(list(playbooks)))
    query = (
        select(playbook_steps.c.seq)
        .where(_claimable(now), playbook_steps.c.run_id.in_(of_playbooks))
        .order_by(playbook_steps.c.due_at, playbook_steps.c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    seqs = list(conn.execute(query).scalars())
    if not seqs:
        return []
    conn.execute(
        update(playbook_steps)
        .where(playbook_steps.c.seq.in_(seqs))
        .values(status=CLAIMED, claimed_until=now + lease, attempts=playbook_steps.c.attempts + 1)
    )
    joined = (
        select(playbook_steps, playbook_runs.c.playbook, playbook_runs.c.customer_id)
        .add_columns(playbook_runs.c.trigger_at, playbook_runs.c.trigger_id)
        .add_columns(playbook_runs.c.status.label("run_status"))
        .join(playbook_runs, playbook_runs.c.id == playbook_steps.c.run_id)
        .where(playbook_steps.c.seq.in_(seqs))
        .order_by(playbook_steps.c.due_at, playbook_steps.c.seq)
    )
    return list(conn.execute(joined).mappings())


def finish_step(
    conn: Connection,
    seq: int,
    attempt: int,
    *,
    status: str,
    outcome: dict[str, Any],
    log_item: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Record a claimed step's end, if this worker's claim (`attempt`) still holds it."""
    result = conn.execute(
        update(playbook_steps)
        .where(
            playbook_steps.c.seq == seq,
            playbook_steps.c.status == CLAIMED,
            playbook_steps.c.attempts == attempt,
        )
        .values(
            status=status,
            outcome=outcome,
            log_item=null() if log_item is None else log_item,  # SQL NULL, not JSON null
            finished_at=now,
            claimed_until=None,
        )
    )
    return bool(result.rowcount)


def retry_step(conn: Connection, seq: int, attempt: int, due_at: datetime) -> bool:
    """Give a claimed step back, due again at `due_at` (its attempts are kept)."""
    result = conn.execute(
        update(playbook_steps)
        .where(
            playbook_steps.c.seq == seq,
            playbook_steps.c.status == CLAIMED,
            playbook_steps.c.attempts == attempt,
        )
        .values(status=PENDING, due_at=due_at, claimed_until=None)
    )
    return bool(result.rowcount)


def next_due(conn: Connection) -> datetime | None:
    pending = select(func.min(playbook_steps.c.due_at)).where(playbook_steps.c.status == PENDING)
    leased = select(func.min(playbook_steps.c.claimed_until)).where(
        playbook_steps.c.status == CLAIMED
    )
    found = [conn.execute(pending).scalar(), conn.execute(leased).scalar()]
    dues = [d for d in found if d is not None]
    return min(dues) if dues else None


def unlogged(conn: Connection, limit: int = 1_000) -> list[RowMapping]:
    query = (
        select(playbook_steps.c.seq, playbook_steps.c.log_item)
        .where(playbook_steps.c.log_item.is_not(None), playbook_steps.c.logged_at.is_(None))
        .order_by(playbook_steps.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def mark_logged(conn: Connection, seqs: Iterable[int], now: datetime) -> None:
    chosen = list(seqs)
    if chosen:
        conn.execute(
            update(playbook_steps).where(playbook_steps.c.seq.in_(chosen)).values(logged_at=now)
        )


# --- what a condition or a message reads ---------------------------------------------------------


def customer(conn: Connection, customer_id: str) -> RowMapping | None:
    return conn.execute(select(customers).where(customers.c.id == customer_id)).mappings().first()


def interaction(conn: Connection, interaction_id: str) -> RowMapping | None:
    query = select(
        interactions.c.type,
        interactions.c.properties,
        interactions.c.revenue,
        interactions.c.currency,
    ).where(interactions.c.id == interaction_id)
    return conn.execute(query).mappings().first()


def stage_of(conn: Connection, customer_id: str) -> str | None:
    query = select(customer_stages.c.stage).where(customer_stages.c.customer_id == customer_id)
    return conn.execute(query).scalar()


def identity_keys(conn: Connection, customer_id: str) -> list[str]:
    query = select(identities.c.key).where(identities.c.customer_id == customer_id)
    return sorted(conn.execute(query).scalars())


def type_counts(
    conn: Connection, customer_id: str, *, upto: datetime, after: datetime | None = None
) -> dict[str, int]:
    """{type: interactions of the customer} that occurred in (after, upto]."""
    query = (
        select(interactions.c.type, func.count())
        .where(interactions.c.customer_id == customer_id, interactions.c.occurred_at <= upto)
        .group_by(interactions.c.type)
    )
    if after is not None:
        query = query.where(interactions.c.occurred_at > after)
    return {str(t): int(n) for t, n in conn.execute(query).all()}


# --- which playbooks run ---------------------------------------------------------------------------


def states(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(select(playbook_states.c.name, playbook_states.c.state)).all())


def set_state(conn: Connection, name: str, state: str, now: datetime, actor: str | None) -> None:
    found = conn.execute(
        select(playbook_states.c.name).where(playbook_states.c.name == name)
    ).first()
    values = {"state": state, "changed_at": now, "changed_by": actor}
    if found is None:
        conn.execute(insert(playbook_states).values(name=name, **values))
    else:
        conn.execute(update(playbook_states).where(playbook_states.c.name == name).values(values))
