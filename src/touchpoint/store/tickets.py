"""The tickets' tables: tickets, their SLA clocks (one row per clock, its current cycle), the log's
interactions linked to them, and their change events (the `tickets` event stream). Changes go
through `ticket_transaction`, which serialises them (a PostgreSQL advisory lock of their own;
SQLite's single writer), so two changes to one ticket never interleave."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping

from touchpoint.domain.sla import Clock
from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import (
    interactions,
    ticket_clocks,
    ticket_events,
    ticket_links,
    tickets,
)

TICKETS_LOCK_ID = 0x70C6  # ingest has 0x70C4, the contact center 0x70C5
_CLOCK_FIELDS = (
    "cycle",
    "target_s",
    "warn_at",
    "started_at",
    "consumed_s",
    "running_since",
    "stopped_at",
    "warned_at",
    "breached_at",
)


@contextmanager
def ticket_transaction(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": TICKETS_LOCK_ID})
            yield conn
    else:
        with write_transaction(engine) as conn:
            yield conn


# --- tickets ------------------------------------------------------------------------------------


def add_ticket(conn: Connection, **values: Any) -> None:
    conn.execute(insert(tickets).values(values))


def ticket(conn: Connection, ticket_id: str) -> RowMapping | None:
    return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()


def ticket_by_ref(conn: Connection, ref: str) -> RowMapping | None:
    """The ticket a source's ticket id names: a Touchpoint id, or a source's own reference."""
    query = select(tickets).where(or_(tickets.c.id == ref, tickets.c.external_ref == ref))
    return conn.execute(query.limit(1)).mappings().first()


def set_ticket(conn: Connection, ticket_id: str, **values: Any) -> None:
    conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))


def find_tickets(
    conn: Connection,
    *,
    status: str | None = None,
    queue: str | None = None,
    owner: str | None = None,
    customer_id: str | None = None,
    breached: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[RowMapping]]:
    """Tickets matching every filter given, newest first; `breached`: whether a clock of the
    current cycle fired its breach."""
    conditions = []
    for column, value in (
        (tickets.c.status, status),
        (tickets.c.queue, queue),
        (tickets.c.owner, owner),
        (tickets.c.customer_id, customer_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if breached is not None:
        any_breach = exists().where(
            ticket_clocks.c.ticket_id == tickets.c.id, ticket_clocks.c.breached_at.is_not(None)
        )
        conditions.append(any_breach if breached else ~any_breach)
    total = conn.execute(select(func.count()).select_from(tickets).where(*conditions)).scalar()
    query = (
        select(tickets)
        .where(*conditions)
        .order_by(tickets.c.created_at.desc(), tickets.c.id)
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), list(conn.execute(query).mappings())


def open_ticket_owner(conn: Connection, customer_id: str, statuses: tuple[str, ...]) -> str | None:
    """The owner of the customer's most recently changed ticket in `statuses` that has one."""
    query = (
        select(tickets.c.owner)
        .where(
            tickets.c.customer_id == customer_id,
            tickets.c.status.in_(statuses),
            tickets.c.owner.is_not(None),
        )
        .order_by(tickets.c.updated_at.desc(), tickets.c.id)
        .limit(1)
    )
    found: str | None = conn.execute(query).scalar()
    return found


def solved_between(conn: Connection, start: datetime, end: datetime) -> list[RowMapping]:
    """Tickets first solved in [start, end)."""
    query = select(tickets).where(
        tickets.c.first_solved_at >= start, tickets.c.first_solved_at < end
    )
    return list(conn.execute(query).mappings())


# --- clocks -------------------------------------------------------------------------------------


def clocks(conn: Connection, ticket_id: str) -> dict[str, Clock]:
    query = select(ticket_clocks).where(ticket_clocks.c.ticket_id == ticket_id)
    return {
        row["clock"]: Clock(name=row["clock"], **{f: row[f] for f in _CLOCK_FIELDS})
        for row in conn.execute(query).mappings()
    }


def save_clocks(
    conn: Connection,
    ticket_id: str,
    found: Mapping[str, Clock],
    fire_at: Mapping[str, datetime | None],
) -> None:
    """Replace a ticket's clocks (each with the next moment it fires)."""
    conn.execute(delete(ticket_clocks).where(ticket_clocks.c.ticket_id == ticket_id))
    if found:
        conn.execute(
            insert(ticket_clocks),
            [
                {
                    "ticket_id": ticket_id,
                    "clock": name,
                    "fire_at": fire_at.get(name),
                    **{f: getattr(clock, f) for f in _CLOCK_FIELDS},
                }
                for name, clock in found.items()
            ],
        )


def due_tickets(conn: Connection, now: datetime, limit: int = 500) -> list[str]:
    """Tickets with a clock that warns or breaches by `now`, soonest first."""
    query = (
        select(ticket_clocks.c.ticket_id, func.min(ticket_clocks.c.fire_at))
        .where(ticket_clocks.c.fire_at <= now)
        .group_by(ticket_clocks.c.ticket_id)
        .order_by(func.min(ticket_clocks.c.fire_at))
        .limit(limit)
    )
    return [row[0] for row in conn.execute(query)]


def next_fire(conn: Connection) -> datetime | None:
    found: datetime | None = conn.execute(select(func.min(ticket_clocks.c.fire_at))).scalar()
    return found


def breached_clocks(conn: Connection, ticket_ids: list[str]) -> set[str]:
    """Which of these tickets have a breached clock in its current cycle."""
    if not ticket_ids:
        return set()
    query = select(ticket_clocks.c.ticket_id).where(
        ticket_clocks.c.ticket_id.in_(ticket_ids), ticket_clocks.c.breached_at.is_not(None)
    )
    return set(conn.scalars(query))


def breached_open_by_queue(conn: Connection, statuses: tuple[str, ...]) -> dict[str | None, int]:
    """Per queue, the tickets in `statuses` with a clock whose current cycle fired its breach."""
    any_breach = exists().where(
        ticket_clocks.c.ticket_id == tickets.c.id, ticket_clocks.c.breached_at.is_not(None)
    )
    query = (
        select(tickets.c.queue, func.count())
        .where(tickets.c.status.in_(statuses), any_breach)
        .group_by(tickets.c.queue)
    )
    return {queue: int(n) for queue, n in conn.execute(query)}


def breaches_since_by_queue(conn: Connection, since: datetime, kind: str) -> dict[str | None, int]:
    """Per queue of their ticket, the breaches (`kind` events) whose deadline is at or after
    `since`."""
    query = (
        select(tickets.c.queue, func.count())
        .select_from(ticket_events.join(tickets, tickets.c.id == ticket_events.c.ticket_id))
        .where(ticket_events.c.kind == kind, ticket_events.c.at >= since)
        .group_by(tickets.c.queue)
    )
    return {queue: int(n) for queue, n in conn.execute(query)}


def clocks_opened_between(
    conn: Connection, start: datetime | None, end: datetime, breached_kind: str
) -> list[dict[str, Any]]:
    """The clocks of the tickets opened in [start, end) with their ticket's queue, owner and
    channel, each with the cycles whose breach fired (`breached`, from the `breached_kind`
    events)."""
    opened = tickets.c.created_at < end
    if start is not None:
        opened = opened & (tickets.c.created_at >= start)
    query = (
        select(
            ticket_clocks.c.ticket_id,
            ticket_clocks.c.clock,
            ticket_clocks.c.cycle,
            ticket_clocks.c.stopped_at,
            tickets.c.queue,
            tickets.c.owner,
            tickets.c.channel,
        )
        .select_from(ticket_clocks.join(tickets, tickets.c.id == ticket_clocks.c.ticket_id))
        .where(opened)
    )
    found = [dict(row) | {"breached": []} for row in conn.execute(query).mappings()]
    late = (
        select(ticket_events.c.ticket_id, ticket_events.c.clock, ticket_events.c.cycle)
        .select_from(ticket_events.join(tickets, tickets.c.id == ticket_events.c.ticket_id))
        .where(opened, ticket_events.c.kind == breached_kind)
    )
    index = {(row["ticket_id"], row["clock"]): row for row in found}
    for ticket_id, clock, cycle in conn.execute(late):
        if (ticket_id, clock) in index and cycle is not None:
            index[(ticket_id, clock)]["breached"].append(int(cycle))
    return found


# --- links to the log ----------------------------------------------------------------------------


def add_link(
    conn: Connection,
    *,
    ticket_id: str,
    interaction_id: str,
    direction: str,
    occurred_at: datetime,
    seq: int | None = None,
) -> bool:
    """Link an interaction to a ticket; False if it already was (its seq filled in if known)."""
    key = (ticket_links.c.ticket_id == ticket_id) & (
        ticket_links.c.interaction_id == interaction_id
    )
    if conn.execute(select(ticket_links.c.seq).where(key)).first() is not None:
        if seq is not None:
            conn.execute(update(ticket_links).where(key).values(seq=seq))
        return False
    conn.execute(
        insert(ticket_links).values(
            ticket_id=ticket_id,
            interaction_id=interaction_id,
            seq=seq,
            direction=direction,
            occurred_at=occurred_at,
        )
    )
    return True


def links(conn: Connection, ticket_id: str) -> list[RowMapping]:
    query = (
        select(ticket_links)
        .where(ticket_links.c.ticket_id == ticket_id)
        .order_by(ticket_links.c.occurred_at, ticket_links.c.interaction_id)
    )
    return list(conn.execute(query).mappings())


def inbound_times(conn: Connection, ticket_ids: list[str]) -> dict[str, list[datetime]]:
    """When each ticket's linked inbound interactions occurred."""
    found: dict[str, list[datetime]] = {t: [] for t in ticket_ids}
    if not ticket_ids:
        return found
    query = select(ticket_links.c.ticket_id, ticket_links.c.occurred_at).where(
        ticket_links.c.ticket_id.in_(ticket_ids), ticket_links.c.direction == "inbound"
    )
    for ticket_id, at in conn.execute(query):
        found[ticket_id].append(at)
    return found


def log_after(
    conn: Connection, after: int, upto: int, limit: int, opened_type: str
) -> list[RowMapping]:
    """Interactions of the log in positions (after, upto] that name a ticket (a ticket_id
    property) or open one (`opened_type`), in log order."""
    named = interactions.c.properties["ticket_id"].as_string()
    query = (
        select(
            interactions.c.seq,
            interactions.c.id,
            interactions.c.customer_id,
            interactions.c.occurred_at,
            interactions.c.channel,
            interactions.c.direction,
            interactions.c.type,
            interactions.c.queue,
            interactions.c.identity_keys,
            interactions.c.properties,
        )
        .where(
            interactions.c.seq > after,
            interactions.c.seq <= upto,
            or_(named.is_not(None), interactions.c.type == opened_type),
        )
        .order_by(interactions.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# --- events ---------------------------------------------------------------------------------------


def add_event(conn: Connection, **values: Any) -> bool:
    """Record a change once: False (nothing written) if its key is already there."""
    if conn.execute(
        select(ticket_events.c.seq).where(ticket_events.c.key == values["key"])
    ).first():
        return False
    conn.execute(insert(ticket_events).values(values))
    return True


def events(conn: Connection, ticket_id: str) -> list[RowMapping]:
    query = (
        select(ticket_events)
        .where(ticket_events.c.ticket_id == ticket_id)
        .order_by(ticket_events.c.seq)
    )
    return list(conn.execute(query).mappings())


def events_after(conn: Connection, after: int, limit: int) -> list[RowMapping]:
    query = select(ticket_events).where(ticket_events.c.seq > after).order_by(ticket_events.c.seq)
    return list(conn.execute(query.limit(limit)).mappings())


def unlogged(conn: Connection, limit: int = 500) -> list[RowMapping]:
    """Changes whose interaction has not reached the log yet."""
    query = (
        select(ticket_events.c.seq, ticket_events.c.log_item)
        .where(ticket_events.c.log_item.is_not(None), ticket_events.c.logged_at.is_(None))
        .order_by(ticket_events.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def mark_logged(conn: Connection, seqs: list[int], at: datetime) -> None:
    conn.execute(update(ticket_events).where(ticket_events.c.seq.in_(seqs)).values(logged_at=at))
