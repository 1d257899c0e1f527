"""Consent history as stored: one row per change (projections/consent.py keeps it from the log)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from touchpoint.domain.consent import CONSENT_TYPES, ConsentChange, consent_change
from touchpoint.store.bulk import in_set, insert_rows, set_param
from touchpoint.store.tables import consent_history, interactions

COLUMNS = (
    "customer_id",
    "channel",
    "purpose",
    "status",
    "source",
    "occurred_at",
    "recorded_at",
)
_LOG_COLUMNS = (
    interactions.c.id,
    interactions.c.customer_id,
    interactions.c.type,
    interactions.c.channel,
    interactions.c.properties,
    interactions.c.occurred_at,
    interactions.c.received_at,
)
_CONSENT_TYPES = list(CONSENT_TYPES)


def add(conn: Connection, rows: Iterable[Mapping[Any, Any]]) -> int:
    """Record the consent changes the log rows make (rows of other types are skipped)."""
    found = (consent_change(dict(row)) for row in rows if row["type"] in CONSENT_TYPES)
    changes = [change for change in found if change is not None]
    insert_rows(conn, consent_history, COLUMNS, [_values(c) for c in changes])
    return len(changes)


def _values(change: ConsentChange) -> tuple[Any, ...]:
    return tuple(getattr(change, name) for name in COLUMNS)


def repoint(conn: Connection, survivor_of: Mapping[str, str]) -> None:
    """Customers merged away: their changes now belong to their survivors."""
    if not survivor_of:
        return
    conn.execute(
        update(consent_history)
        .where(consent_history.c.customer_id == bindparam("loser"))
        .values(customer_id=bindparam("survivor")),
        [{"loser": loser, "survivor": survivor} for loser, survivor in survivor_of.items()],
    )


def rebuild_range(conn: Connection, after: int, upto: int) -> int:
    """Re-derive the changes of the log positions (after, upto], then give every change its
    interaction's current customer (a deferred import may have merged customers since)."""
    in_range = (interactions.c.seq > after) & (interactions.c.seq <= upto)
    sources = select(interactions.c.id).where(in_range, interactions.c.type.in_(_CONSENT_TYPES))
    conn.execute(delete(consent_history).where(consent_history.c.source.in_(sources)))
    rows = conn.execute(
        select(*_LOG_COLUMNS).where(in_range, interactions.c.type.in_(_CONSENT_TYPES))
    ).mappings()
    added = add(conn, rows)
    owner = (
        select(interactions.c.customer_id)
        .where(interactions.c.id == consent_history.c.source)
        .scalar_subquery()
    )
    conn.execute(
        update(consent_history)
        .where(consent_history.c.customer_id != owner)
        .values(customer_id=owner)
    )
    return added


def rebuild_all(conn: Connection) -> int:
    conn.execute(delete(consent_history))
    rows = conn.execute(
        select(*_LOG_COLUMNS)
        .where(interactions.c.type.in_(_CONSENT_TYPES))
        .order_by(interactions.c.seq)
    ).mappings()
    return add(conn, rows)


def rebuild_customers(
    conn: Connection, customer_ids: Collection[str], removed: Collection[str]
) -> None:
    """Re-derive these customers' changes from their log; drop what `removed` had."""
    everyone = set(customer_ids) | set(removed)
    if not everyone:
        return
    conn.execute(
        delete(consent_history).where(in_set(consent_history.c.customer_id, conn.dialect)),
        set_param(everyone, conn.dialect),
    )
    if not customer_ids:
        return
    query = select(*_LOG_COLUMNS).where(
        in_set(interactions.c.customer_id, conn.dialect),
        interactions.c.type.in_(_CONSENT_TYPES),
    )
    rows = conn.execute(query, set_param(set(customer_ids), conn.dialect)).mappings()
    add(conn, rows)


def history(conn: Connection, customer_id: str) -> list[ConsentChange]:
    """A customer's consent changes, oldest first."""
    query = (
        select(consent_history.c.customer_id, *[consent_history.c[n] for n in COLUMNS[1:]])
        .where(consent_history.c.customer_id == customer_id)
        .order_by(consent_history.c.occurred_at, consent_history.c.seq)
    )
    return [ConsentChange(*row) for row in conn.execute(query)]
