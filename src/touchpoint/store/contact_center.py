"""The contact center's tables: configurations applied, agents' states, contacts (waiting,
reserved, assigned, ended) and an append-only event trail of every routing step. Every change
goes through `center_transaction`, which serialises the center (a PostgreSQL advisory lock of its
own, so routing never waits behind an ingest batch; SQLite's single writer), so no contact is
given to two agents and no agent gets more than their capacity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping

from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import cc_agents, cc_config, cc_contacts, cc_events, cc_queue_memory

CC_LOCK_ID = 0x70C5  # the advisory lock routing changes share in PostgreSQL (ingest has 0x70C4)


@contextmanager
def center_transaction(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CC_LOCK_ID})
            yield conn
    else:
        with write_transaction(engine) as conn:
            yield conn


# --- configuration ----------------------------------------------------------------------------


def latest_config_version(conn: Connection) -> int | None:
    """The version in force, without reading its document (a cache keyed on it is current)."""
    found = conn.execute(select(func.max(cc_config.c.version))).scalar()
    return None if found is None else int(found)


def config_document(conn: Connection, version: int) -> dict[str, Any]:
    row = conn.execute(select(cc_config.c.document).where(cc_config.c.version == version)).first()
    if row is None:
        raise LookupError(f"no configuration version {version}")
    return dict(row[0])


def latest_config(conn: Connection) -> tuple[int, dict[str, Any]] | None:
    row = conn.execute(
        select(cc_config.c.version, cc_config.c.document)
        .order_by(cc_config.c.version.desc())
        .limit(1)
    ).first()
    return (int(row[0]), dict(row[1])) if row else None


def add_config(conn: Connection, *, at: datetime, by: str, document: dict[str, Any]) -> int:
    result = conn.execute(insert(cc_config).values(applied_at=at, applied_by=by, document=document))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


# --- agents -----------------------------------------------------------------------------------


def agents(conn: Connection) -> dict[str, RowMapping]:
    return {row["id"]: row for row in conn.execute(select(cc_agents)).mappings()}


def agent(conn: Connection, agent_id: str) -> RowMapping | None:
    return conn.execute(select(cc_agents).where(cc_agents.c.id == agent_id)).mappings().first()


def agent_states(conn: Connection) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute(select(cc_agents.c.id, cc_agents.c.state))}


def agent_ids(conn: Connection) -> set[str]:
    return {row[0] for row in conn.execute(select(cc_agents.c.id))}


def add_agent(conn: Connection, agent_id: str, now: datetime) -> None:
    conn.execute(
        insert(cc_agents).values(id=agent_id, state="logged_out", state_since=now, idle_since=now)
    )


def set_agent(conn: Connection, agent_id: str, **values: Any) -> None:
    conn.execute(update(cc_agents).where(cc_agents.c.id == agent_id).values(values))


def wrapped_up(conn: Connection, now: datetime) -> list[str]:
    """Agents whose wrap-up has ended by `now` (they become ready)."""
    query = select(cc_agents.c.id).where(
        cc_agents.c.state == "wrap_up", cc_agents.c.wrap_until <= now
    )
    return [row[0] for row in conn.execute(query)]


# --- contacts ---------------------------------------------------------------------------------


def add_contact(conn: Connection, **values: Any) -> None:
    conn.execute(insert(cc_contacts).values(values))


def contact(conn: Connection, contact_id: str) -> RowMapping | None:
    return (
        conn.execute(select(cc_contacts).where(cc_contacts.c.id == contact_id)).mappings().first()
    )


def contact_by_ref(conn: Connection, external_ref: str) -> RowMapping | None:
    query = select(cc_contacts).where(cc_contacts.c.external_ref == external_ref)
    return conn.execute(query).mappings().first()


def set_contact(conn: Connection, contact_id: str, **values: Any) -> None:
    conn.execute(update(cc_contacts).where(cc_contacts.c.id == contact_id).values(values))


def contacts_in(conn: Connection, statuses: tuple[str, ...]) -> list[RowMapping]:
    query = select(cc_contacts).where(cc_contacts.c.status.in_(statuses))
    return list(conn.execute(query).mappings())


def loads(conn: Connection, statuses: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """agent -> channel -> how many of their contacts are in `statuses` (reserved, assigned)."""
    query = (
        select(cc_contacts.c.agent, cc_contacts.c.channel, func.count())
        .where(cc_contacts.c.status.in_(statuses), cc_contacts.c.agent.is_not(None))
        .group_by(cc_contacts.c.agent, cc_contacts.c.channel)
    )
    found: dict[str, dict[str, int]] = {}
    for agent, channel, count in conn.execute(query):
        found.setdefault(agent, {})[channel] = int(count)
    return found


def expired_reservations(conn: Connection, now: datetime) -> list[RowMapping]:
    query = select(cc_contacts).where(
        cc_contacts.c.status == "reserved", cc_contacts.c.lease_until <= now
    )
    return list(conn.execute(query).mappings())


def unlogged_ends(conn: Connection, limit: int = 500) -> list[RowMapping]:
    """Ended contacts whose interaction has not reached the log yet."""
    query = (
        select(cc_contacts)
        .where(
            cc_contacts.c.status.in_(("completed", "abandoned")), cc_contacts.c.logged_at.is_(None)
        )
        .order_by(cc_contacts.c.ended_at)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def mark_logged(conn: Connection, contact_ids: list[str], at: datetime) -> None:
    conn.execute(update(cc_contacts).where(cc_contacts.c.id.in_(contact_ids)).values(logged_at=at))


def last_agent(conn: Connection, customer_id: str) -> tuple[str, datetime] | None:
    """The agent who last completed a contact with this customer, and when."""
    row = conn.execute(
        select(cc_contacts.c.agent, cc_contacts.c.ended_at)
        .where(
            and_(
                cc_contacts.c.customer_id == customer_id,
                cc_contacts.c.status == "completed",
                cc_contacts.c.agent.is_not(None),
            )
        )
        .order_by(cc_contacts.c.ended_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def mean_handle_s(conn: Connection, queue: str, limit: int = 50) -> float | None:
    """Mean seconds from assignment to end of the queue's last `limit` completed contacts."""
    rows = conn.execute(
        select(cc_contacts.c.assigned_at, cc_contacts.c.ended_at)
        .where(
            cc_contacts.c.queue == queue,
            cc_contacts.c.status == "completed",
            cc_contacts.c.assigned_at.is_not(None),
        )
        .order_by(cc_contacts.c.ended_at.desc())
        .limit(limit)
    ).all()
    spans = [(end - start).total_seconds() for start, end in rows if start and end]
    return sum(spans) / len(spans) if spans else None


# --- round-robin memory and the event trail ---------------------------------------------------


def last_chosen(conn: Connection) -> dict[str, str | None]:
    query = select(cc_queue_memory.c.queue, cc_queue_memory.c.last_chosen)
    return {row[0]: row[1] for row in conn.execute(query)}


def remember_chosen(conn: Connection, queue: str, agent: str, known: bool) -> None:
    if known:
        conn.execute(
            update(cc_queue_memory)
            .where(cc_queue_memory.c.queue == queue)
            .values(last_chosen=agent)
        )
    else:
        conn.execute(insert(cc_queue_memory).values(queue=queue, last_chosen=agent))


def add_event(
    conn: Connection,
    *,
    at: datetime,
    kind: str,
    contact_id: str | None = None,
    agent_id: str | None = None,
    queue: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(cc_events).values(
            at=at, kind=kind, contact_id=contact_id, agent_id=agent_id, queue=queue, detail=detail
        )
    )


def events(conn: Connection, contact_id: str) -> list[RowMapping]:
    query = select(cc_events).where(cc_events.c.contact_id == contact_id).order_by(cc_events.c.seq)
    return list(conn.execute(query).mappings())


def next_deadline(conn: Connection) -> datetime | None:
    """The earliest moment time changes something: an offer's lease ends, a wrap-up ends, a
    callback falls due, a contact held for a team or an agent may go to anyone."""
    waiting = cc_contacts.c.status.in_(("waiting", "callback"))
    candidates = [
        select(func.min(cc_contacts.c.lease_until)).where(cc_contacts.c.status == "reserved"),
        select(func.min(cc_agents.c.wrap_until)).where(cc_agents.c.state == "wrap_up"),
        select(func.min(cc_contacts.c.not_before)).where(waiting),
        select(func.min(cc_contacts.c.team_until)).where(waiting),
        select(func.min(cc_contacts.c.prefer_until)).where(waiting),
    ]
    found = [conn.execute(query).scalar() for query in candidates]
    moments = [m for m in found if m is not None]
    return min(moments) if moments else None


def line(
    conn: Connection, queue: str, statuses: tuple[str, ...], page: int = 64
) -> Iterator[RowMapping]:
    """A queue's waiting contacts in its order of service (rules' priority first, then place in
    line, then id), read a page at a time as the caller goes on (keyset pages: rows changed by the
    caller behind the current position are not read again)."""
    order = (cc_contacts.c.priority.desc(), cc_contacts.c.joined_at, cc_contacts.c.id)
    last: RowMapping | None = None
    while True:
        query = (
            select(cc_contacts)
            .where(cc_contacts.c.queue == queue, cc_contacts.c.status.in_(statuses))
            .order_by(*order)
            .limit(page)
        )
        if last is not None:
            p, j, i = last["priority"], last["joined_at"], last["id"]
            query = query.where(
                or_(
                    cc_contacts.c.priority < p,
                    and_(cc_contacts.c.priority == p, cc_contacts.c.joined_at > j),
                    and_(
                        cc_contacts.c.priority == p,
                        cc_contacts.c.joined_at == j,
                        cc_contacts.c.id > i,
                    ),
                )
            )
        rows = list(conn.execute(query).mappings())
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1]


def ahead_of(conn: Connection, row: RowMapping, statuses: tuple[str, ...]) -> int:
    """How many contacts of its queue are before this one in the order of service."""
    p, j, i = row["priority"], row["joined_at"], row["id"]
    query = select(func.count()).where(
        cc_contacts.c.queue == row["queue"],
        cc_contacts.c.status.in_(statuses),
        or_(
            cc_contacts.c.priority > p,
            and_(cc_contacts.c.priority == p, cc_contacts.c.joined_at < j),
            and_(cc_contacts.c.priority == p, cc_contacts.c.joined_at == j, cc_contacts.c.id < i),
        ),
    )
    return int(conn.execute(query).scalar_one())


# --- the wallboard ------------------------------------------------------------------------------


def last_event_seq(conn: Connection) -> int:
    """The newest entry of the event trail (0 before any): every routing step writes one, so a
    wallboard that sees it unchanged knows the center's contacts and agents are unchanged."""
    return int(conn.execute(select(func.coalesce(func.max(cc_events.c.seq), 0))).scalar_one())


def ended_since(conn: Connection, since: datetime) -> list[RowMapping]:
    """Contacts that ended (completed or abandoned) at or after `since`."""
    query = select(cc_contacts).where(
        cc_contacts.c.status.in_(("completed", "abandoned")), cc_contacts.c.ended_at >= since
    )
    return list(conn.execute(query).mappings())


# --- the reports --------------------------------------------------------------------------------


def agent_steps(
    conn: Connection, kinds: tuple[str, ...], since: datetime | None, until: datetime
) -> list[RowMapping]:
    """The event trail's steps of agents (`kinds`: state changes, contacts taken and left) in
    [since, until), in order: agent_id, at, seq, kind, contact_id, detail."""
    query = (
        select(
            cc_events.c.agent_id,
            cc_events.c.at,
            cc_events.c.seq,
            cc_events.c.kind,
            cc_events.c.contact_id,
            cc_events.c.detail,
        )
        .where(
            cc_events.c.agent_id.is_not(None),
            cc_events.c.kind.in_(kinds),
            cc_events.c.at < until,
        )
        .order_by(cc_events.c.seq)
    )
    if since is not None:
        query = query.where(cc_events.c.at >= since)
    return list(conn.execute(query).mappings())


# --- steps from another system -------------------------------------------------------------------


def add_imported_steps(conn: Connection, steps: list[dict[str, Any]], key: str) -> int:
    """Trail entries read from another system (an Asterisk queue_log's agent sessions), each
    naming its source line in `detail[key]`: those already in the trail (an import run again)
    are left alone. Answers how many were added."""
    if not steps:
        return 0
    low, high = min(s["at"] for s in steps), max(s["at"] for s in steps)
    query = select(cc_events.c.detail).where(cc_events.c.at >= low, cc_events.c.at <= high)
    known = {d.get(key) for d in conn.execute(query).scalars() if isinstance(d, dict)}
    fresh: list[dict[str, Any]] = []
    for step in steps:
        name = step["detail"][key]
        if name not in known:
            known.add(name)
            fresh.append(step)
    if fresh:
        conn.execute(insert(cc_events), fresh)
    return len(fresh)
