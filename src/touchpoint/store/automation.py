"""Playbook runs and steps as stored (automation/runs.py drives them): runs created once by their
key, due steps claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one
writer), finished with their outcome and the interaction to log, and what a condition reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy.engine import RowMapping

from touchpoint.store.tables import (
    customer_stages,
    customers,
    identities,
    interactions,
    playbook_runs,
    playbook_states,
    playbook_steps,
    ticket_events,
)

PENDING, CLAIMED, DONE, STOPPED, FAILED = "pending", "claimed", "done", "stopped", "failed"
_CHUNK = 500  # values in one IN (…)
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


def existing_keys(conn: Connection, keys: Collection[str]) -> set[str]:
    """Which of these run keys are taken."""
    chosen, found = list(keys), set[str]()
    for i in range(0, len(chosen), _CHUNK):
        query = select(playbook_runs.c.key).where(playbook_runs.c.key.in_(chosen[i : i + _CHUNK]))
        found.update(conn.execute(query).scalars())
    return found


def merged_into(conn: Connection, customer_ids: Collection[str]) -> dict[str, str]:
    """{merged-away customer: the one of these it was merged into}. A run keeps the customer id
    its trigger named; after a merge it is the survivor's (merges are flattened: one hop), and
    an unmerge gives it back with the customer."""
    chosen = sorted(set(customer_ids))
    found: dict[str, str] = {}
    for i in range(0, len(chosen), _CHUNK):
        query = select(customers.c.id, customers.c.merged_into).where(
            customers.c.merged_into.in_(chosen[i : i + _CHUNK])
        )
        found.update({str(cid): str(into) for cid, into in conn.execute(query)})
    return found


def _runs_of(conn: Connection, customer_ids: Collection[str]) -> list[str]:
    """These customers and those merged into them: whose runs are theirs now."""
    return sorted({*customer_ids, *merged_into(conn, customer_ids)})


def current_customer() -> Any:
    """A run's customer now (join `customers` on the run's customer id, outer)."""
    return func.coalesce(customers.c.merged_into, playbook_runs.c.customer_id)


def starts_of(
    conn: Connection, playbook: str, customer_ids: Collection[str]
) -> dict[str, list[datetime]]:
    """{customer: the moments their runs of `playbook` started}, runs of the customers merged
    into them included."""
    chosen = sorted(customer_ids)
    found: dict[str, list[datetime]] = {}
    away = merged_into(conn, chosen)
    asked = chosen + sorted(away)
    for i in range(0, len(asked), _CHUNK):
        query = select(playbook_runs.c.customer_id, playbook_runs.c.started_at).where(
            playbook_runs.c.playbook == playbook,
            playbook_runs.c.customer_id.in_(asked[i : i + _CHUNK]),
        )
        for customer_id, started in conn.execute(query):
            found.setdefault(away.get(customer_id, customer_id), []).append(started)
    return found


def add_runs(conn: Connection, runs_: list[dict[str, Any]], steps: list[dict[str, Any]]) -> None:
    """Add new runs and their first steps, each list in one executemany."""
    if runs_:
        conn.execute(insert(playbook_runs), runs_)
    if steps:
        conn.execute(
            insert(playbook_steps), [{**s, "status": PENDING, "attempts": 0} for s in steps]
        )


def set_run(conn: Connection, run_id: str, *, status: str, reason: str | None = None) -> None:
    conn.execute(
        update(playbook_runs)
        .where(playbook_runs.c.id == run_id)
        .values(status=status, reason=reason)
    )


def earlier_starts(conn: Connection, playbook: str, customer_id: str) -> list[datetime]:
    query = select(playbook_runs.c.started_at).where(
        playbook_runs.c.playbook == playbook,
        playbook_runs.c.customer_id.in_(_runs_of(conn, [customer_id])),
    )
    return list(conn.execute(query).scalars())


def runs(
    conn: Connection,
    *,
    playbook: str | None,
    customer_id: str | None,
    limit: int,
    status: str | None = None,
) -> list[RowMapping]:
    """Runs, newest first, each with its customer now (`customer_id`: the survivor of a merge;
    `started_for`: the id its trigger named)."""
    now_of = current_customer().label("customer_id")
    query = (
        select(*(c for c in playbook_runs.c if c.name != "customer_id"), now_of)
        .add_columns(playbook_runs.c.customer_id.label("started_for"))
        .outerjoin(customers, customers.c.id == playbook_runs.c.customer_id)
        .order_by(playbook_runs.c.started_at.desc(), playbook_runs.c.id)
    )
    if status is not None:
        query = query.where(playbook_runs.c.status == status)
    if playbook is not None:
        query = query.where(playbook_runs.c.playbook == playbook)
    if customer_id is not None:
        query = query.where(playbook_runs.c.customer_id.in_(_runs_of(conn, [customer_id])))
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
    joined = (  # the run's customer now: a merge's survivor acts and is acted on
        select(playbook_steps, playbook_runs.c.playbook, current_customer().label("customer_id"))
        .add_columns(playbook_runs.c.trigger_at, playbook_runs.c.trigger_id)
        .add_columns(playbook_runs.c.status.label("run_status"))
        .join(playbook_runs, playbook_runs.c.id == playbook_steps.c.run_id)
        .outerjoin(customers, customers.c.id == playbook_runs.c.customer_id)
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


def held(conn: Connection, claims: Collection[tuple[int, int]]) -> set[int]:
    """Which of these (seq, attempt) claims this worker still holds (claimed, same attempt)."""
    wanted = dict(claims)
    found: set[int] = set()
    chosen = sorted(wanted)
    for i in range(0, len(chosen), _CHUNK):
        query = select(playbook_steps.c.seq, playbook_steps.c.attempts).where(
            playbook_steps.c.seq.in_(chosen[i : i + _CHUNK]), playbook_steps.c.status == CLAIMED
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found.update(seq for seq, attempts in conn.execute(query) if wanted[seq] == attempts)
    return found


def finish_steps(conn: Connection, finished: list[dict[str, Any]], now: datetime) -> None:
    """Record many held steps' ends in one executemany: each {seq, status, outcome, log_item}
    (call `held` first in the same transaction: this checks no claim)."""
    if not finished:
        return
    statement = (
        update(playbook_steps)
        .where(playbook_steps.c.seq == bindparam("b_seq"))
        .values(
            status=bindparam("b_status"),
            outcome=bindparam("b_outcome", type_=JSON(none_as_null=True)),
            log_item=bindparam("b_log", type_=JSON(none_as_null=True)),
            finished_at=now,
            claimed_until=None,
        )
    )
    conn.execute(
        statement,
        [
            {
                "b_seq": f["seq"],
                "b_status": f["status"],
                "b_outcome": f["outcome"],
                "b_log": f["log_item"],
            }
            for f in finished
        ],
    )


def set_runs(conn: Connection, ended: list[dict[str, Any]]) -> None:
    """End many runs in one executemany: each {id, status, reason}."""
    if ended:
        statement = (
            update(playbook_runs)
            .where(playbook_runs.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), reason=bindparam("b_reason"))
        )
        conn.execute(
            statement,
            [{"b_id": e["id"], "b_status": e["status"], "b_reason": e["reason"]} for e in ended],
        )


def add_steps(conn: Connection, steps: list[dict[str, Any]]) -> None:
    """Add many runs' next steps once each (a key already there is left as it is)."""
    keys = [s["key"] for s in steps]
    taken: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        query = select(playbook_steps.c.key).where(playbook_steps.c.key.in_(keys[i : i + _CHUNK]))
        taken.update(conn.execute(query).scalars())
    fresh = [s for s in steps if s["key"] not in taken]
    if fresh:
        conn.execute(
            insert(playbook_steps), [{**s, "status": PENDING, "attempts": 0} for s in fresh]
        )


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


def postpone_step(
    conn: Connection, seq: int, attempt: int, due_at: datetime, outcome: dict[str, Any]
) -> bool:
    """Give a claimed step back, due again at `due_at`, remembering `outcome` (a wait_for's
    deadline, a deferral's reason) — if this worker's claim still holds it."""
    result = conn.execute(
        update(playbook_steps)
        .where(
            playbook_steps.c.seq == seq,
            playbook_steps.c.status == CLAIMED,
            playbook_steps.c.attempts == attempt,
        )
        .values(status=PENDING, due_at=due_at, claimed_until=None, outcome=outcome)
    )
    return bool(result.rowcount)


def wake_waiting(conn: Connection, customer_ids: Collection[str], now: datetime) -> int:
    """Make the pending wait_for steps of these customers due now (an event they may wait for
    came; the step itself checks, and waits on to its deadline if it was not the one)."""
    chosen, woken = _runs_of(conn, customer_ids), 0
    for i in range(0, len(chosen), _CHUNK):
        of_customers = select(playbook_runs.c.id).where(
            playbook_runs.c.customer_id.in_(chosen[i : i + _CHUNK]),
            playbook_runs.c.status == "active",
        )
        result = conn.execute(
            update(playbook_steps)
            .where(
                playbook_steps.c.status == PENDING,
                playbook_steps.c.kind == "wait_for",
                playbook_steps.c.due_at > now,
                playbook_steps.c.run_id.in_(of_customers),
            )
            .values(due_at=now)
        )
        woken += result.rowcount
    return woken


def run_outcomes(conn: Connection, run_id: str) -> list[RowMapping]:
    """A run's finished steps (kind, outcome), in step order."""
    query = (
        select(playbook_steps.c.step, playbook_steps.c.kind, playbook_steps.c.outcome)
        .where(playbook_steps.c.run_id == run_id, playbook_steps.c.status == DONE)
        .order_by(playbook_steps.c.step)
    )
    return list(conn.execute(query).mappings())


def messages_sent(
    conn: Connection, customer_id: str, playbooks: Collection[str], since: datetime
) -> list[RowMapping]:
    """The customer's message steps finished since `since` (finished_at, outcome): what a
    frequency cap counts (the outcome says channel, whether it was sent, and marketing)."""
    of_customer = select(playbook_runs.c.id).where(
        playbook_runs.c.playbook.in_(list(playbooks)),
        playbook_runs.c.customer_id.in_(_runs_of(conn, [customer_id])),
    )
    query = select(playbook_steps.c.finished_at, playbook_steps.c.outcome).where(
        playbook_steps.c.run_id.in_(of_customer),
        playbook_steps.c.status == DONE,
        playbook_steps.c.finished_at > since,
        playbook_steps.c.kind.in_(["send_email", "webhook", "send_survey"]),
    )
    return list(conn.execute(query).mappings())


def ticket_change(conn: Connection, key: str) -> dict[str, Any]:
    """A ticket change's detail ({"from": …, "to": …} for a status change), by its key."""
    query = select(ticket_events.c.detail).where(ticket_events.c.key == key)
    found = conn.execute(query).scalar()
    return dict(found) if isinstance(found, dict) else {}


# --- what a schedule reads -------------------------------------------------------------------------


def traits_of_all(
    conn: Connection, trait: str | None = None, month_days: Collection[str] = ()
) -> list[RowMapping]:
    """(id, traits) of every customer not merged away — with `trait` set, if named, and then
    only those whose trait (a date, `YYYY-MM-DD…`) falls on one of `month_days` (`MM-DD`), if
    given: the database filters, so a birthday look reads the day's few, not every customer."""
    query = select(customers.c.id, customers.c.traits).where(customers.c.merged_into.is_(None))
    if trait is not None:
        value = customers.c.traits[trait].as_string()
        query = query.where(value.is_not(None))
        if month_days:
            query = query.where(or_(*(value.like(f"____-{day}%") for day in sorted(month_days))))
    return list(conn.execute(query).mappings())


def first_of_type(
    conn: Connection, type_: str, after: datetime, upto: datetime
) -> list[tuple[str, datetime]]:
    """(customer, their first interaction of `type_`) whose first one is in (after, upto]."""
    first = func.min(interactions.c.occurred_at)
    query = (
        select(interactions.c.customer_id, first)
        .where(interactions.c.type == type_)
        .group_by(interactions.c.customer_id)
        .having(first > after, first <= upto)
    )
    return [(str(c), at) for c, at in conn.execute(query)]


def last_inbound(conn: Connection, after: datetime, upto: datetime) -> list[tuple[str, datetime]]:
    """(customer, their last inbound interaction) whose last one is in (after, upto]."""
    last = func.max(interactions.c.occurred_at)
    query = (
        select(interactions.c.customer_id, last)
        .where(interactions.c.direction == "inbound")
        .group_by(interactions.c.customer_id)
        .having(last > after, last <= upto)
    )
    return [(str(c), at) for c, at in conn.execute(query)]


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


def profiles(conn: Connection, customer_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """{customer: {"traits", "stage", "identity_keys"}} for many customers in a few queries."""
    chosen = sorted(set(customer_ids))
    found: dict[str, dict[str, Any]] = {
        c: {"traits": {}, "stage": None, "identity_keys": []} for c in chosen
    }
    for i in range(0, len(chosen), _CHUNK):
        part = chosen[i : i + _CHUNK]
        query = select(customers.c.id, customers.c.traits).where(customers.c.id.in_(part))
        for customer_id, traits in conn.execute(query):
            found[customer_id]["traits"] = dict(traits or {})
        query = select(customer_stages.c.customer_id, customer_stages.c.stage).where(
            customer_stages.c.customer_id.in_(part)
        )
        for customer_id, stage in conn.execute(query):
            found[customer_id]["stage"] = stage
        query = select(identities.c.customer_id, identities.c.key).where(
            identities.c.customer_id.in_(part)
        )
        for customer_id, key in conn.execute(query):
            found[customer_id]["identity_keys"].append(key)
    for profile in found.values():
        profile["identity_keys"].sort()
    return found


def interactions_by_id(conn: Connection, ids: Collection[str]) -> dict[str, RowMapping]:
    """{id: (type, properties, revenue, currency)} of these interactions (the ones that exist)."""
    chosen, found = sorted(set(ids)), {}
    for i in range(0, len(chosen), _CHUNK):
        query = select(
            interactions.c.id,
            interactions.c.type,
            interactions.c.properties,
            interactions.c.revenue,
            interactions.c.currency,
        ).where(interactions.c.id.in_(chosen[i : i + _CHUNK]))
        found.update({row["id"]: row for row in conn.execute(query).mappings()})
    return found


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
