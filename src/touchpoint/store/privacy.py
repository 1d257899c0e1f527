"""Privacy in the system of record: the suppression list, and erasing one person's personal data
from every table that holds it (services/privacy.py says what is kept and why)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, delete, or_, select, update

from touchpoint.domain.identity import kind_of
from touchpoint.store.bulk import fetch_present, in_set, insert_rows, set_param, update_rows
from touchpoint.store.engine import writer_queue
from touchpoint.store.tables import (
    audit_log,
    customers,
    identities,
    identity_conflicts,
    interactions,
    merges,
    unmerges,
)
from touchpoint.store.tables import suppressed_identities as suppressed

# --- the suppression list -----------------------------------------------------------------------


def any_suppressed(conn: Connection) -> bool:
    """Whether anyone was ever erased (one look at the list), so ingest hashes nothing before."""
    return conn.scalar(select(suppressed.c.key_hash).limit(1)) is not None


def suppressed_among(conn: Connection, hashes: Collection[str]) -> set[str]:
    return fetch_present(conn, suppressed.c.key_hash, hashes)


def suppress(conn: Connection, hashed: Mapping[str, str], now: datetime) -> int:
    """Put identities on the list: {hash: key}; only the hash and the key's kind are stored."""
    new = set(hashed) - suppressed_among(conn, hashed)
    rows = [(h, kind_of(hashed[h]), now) for h in sorted(new)]
    insert_rows(conn, suppressed, ("key_hash", "kind", "suppressed_at"), rows)
    return len(rows)


# --- one person ---------------------------------------------------------------------------------


def person_ids(conn: Connection, customer_id: str) -> list[str]:
    """The customer and every customer merged into it (merged_into names the final survivor)."""
    merged = conn.scalars(
        select(customers.c.id)
        .where(customers.c.merged_into == customer_id)
        .order_by(customers.c.id)
    )
    return [customer_id, *merged]


def identity_keys_of(conn: Connection, ids: Collection[str]) -> list[str]:
    query = select(identities.c.key).where(in_set(identities.c.customer_id, conn.dialect))
    return sorted(conn.scalars(query, set_param(ids, conn.dialect)))


def interactions_of(conn: Connection, ids: Collection[str]) -> list[dict[str, Any]]:
    """Every log row of these customers, in the order they happened."""
    query = (
        select(interactions)
        .where(in_set(interactions.c.customer_id, conn.dialect))
        .order_by(interactions.c.occurred_at, interactions.c.seq)
    )
    return [dict(r) for r in conn.execute(query, set_param(ids, conn.dialect)).mappings()]


def merges_involving(conn: Connection, ids: Collection[str]) -> list[dict[str, Any]]:
    param = set_param(ids, conn.dialect)
    query = (
        select(merges)
        .where(
            or_(
                in_set(merges.c.survivor_id, conn.dialect), in_set(merges.c.merged_id, conn.dialect)
            )
        )
        .order_by(merges.c.seq)
    )
    return [dict(r) for r in conn.execute(query, param).mappings()]


def audit_about(conn: Connection, ids: Collection[str]) -> list[dict[str, Any]]:
    query = (
        select(audit_log).where(in_set(audit_log.c.subject, conn.dialect)).order_by(audit_log.c.seq)
    )
    return [dict(r) for r in conn.execute(query, set_param(ids, conn.dialect)).mappings()]


def forget_identities(conn: Connection, ids: Collection[str]) -> int:
    result = conn.execute(
        delete(identities).where(in_set(identities.c.customer_id, conn.dialect)),
        set_param(ids, conn.dialect),
    )
    return int(result.rowcount or 0)


def blank_profiles(conn: Connection, ids: Collection[str], now: datetime) -> None:
    conn.execute(
        update(customers)
        .where(in_set(customers.c.id, conn.dialect))
        .values(traits={}, trait_times={}, updated_at=now),
        set_param(ids, conn.dialect),
    )


def rewrite_interactions(conn: Connection, rows: Iterable[tuple[int, Any, Any]]) -> None:
    """(seq, properties, identity_keys) for each log row to rewrite in place."""
    update_rows(conn, interactions, ("seq", "properties", "identity_keys"), list(rows))


def strip_keys(conn: Connection, customer_ids: Collection[str], keys: Collection[str]) -> int:
    """Remove `keys` from the identity keys of these (other) customers' log rows."""
    if not customer_ids:
        return 0
    erased = set(keys)
    query = select(interactions.c.seq, interactions.c.identity_keys).where(
        in_set(interactions.c.customer_id, conn.dialect)
    )
    rows = [
        (seq, [k for k in carried if k not in erased])
        for seq, carried in conn.execute(query, set_param(customer_ids, conn.dialect))
        if carried and erased.intersection(carried)
    ]
    update_rows(conn, interactions, ("seq", "identity_keys"), rows)
    return len(rows)


def rows_mentioning(
    conn: Connection, values: Collection[str], customer_ids: Collection[str]
) -> list[tuple[int, Any]]:
    """(seq, properties) of the log rows of customers other than `customer_ids` whose
    properties mention one of `values` (any case): a scan of the log, for an erasure only."""
    if not values:
        return []
    as_text = cast(interactions.c.properties, Text)
    mentions = [
        as_text.ilike(
            "%" + v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\"
        )
        for v in values
    ]
    query = select(interactions.c.seq, interactions.c.properties).where(
        or_(*mentions), ~in_set(interactions.c.customer_id, conn.dialect)
    )
    return [
        (seq, props) for seq, props in conn.execute(query, set_param(customer_ids, conn.dialect))
    ]


def rewrite_properties(conn: Connection, rows: Iterable[tuple[int, Any]]) -> None:
    update_rows(conn, interactions, ("seq", "properties"), list(rows))


def forget_conflicts(conn: Connection, ids: Collection[str], keys: Collection[str]) -> list[str]:
    """Drop the conflicts naming these customers or keys; return the other customers whose
    events carried one of the keys (merge protection landed them elsewhere), as they are now."""
    dialect = conn.dialect
    param = {**set_param(ids, dialect)}
    keyed = select(identity_conflicts.c.customer_id).where(
        identity_conflicts.c.key.in_(list(keys) or [""])
    )
    landed = set(conn.scalars(keyed)) - set(ids)
    survivors = conn.scalars(
        select(customers.c.merged_into).where(
            customers.c.id.in_(list(landed) or [""]), customers.c.merged_into.is_not(None)
        )
    )
    landed |= set(survivors)
    conn.execute(
        delete(identity_conflicts).where(
            or_(
                in_set(identity_conflicts.c.customer_id, dialect),
                in_set(identity_conflicts.c.other_id, dialect),
                identity_conflicts.c.key.in_(list(keys) or [""]),
            )
        ),
        param,
    )
    return sorted(landed - set(ids))


def blank_merges(conn: Connection, ids: Collection[str]) -> int:
    """Merge and unmerge records of these customers keep who and when, not the identities and
    profiles they copied (such a merge can no longer be undone)."""
    dialect = conn.dialect
    param = set_param(ids, dialect)
    involved = or_(in_set(merges.c.survivor_id, dialect), in_set(merges.c.merged_id, dialect))
    result = conn.execute(
        update(merges)
        .where(involved)
        .values(moved_keys=[], linking_key=None, survivor_traits=None, merged_traits=None),
        param,
    )
    conn.execute(
        update(unmerges)
        .where(or_(in_set(unmerges.c.survivor_id, dialect), in_set(unmerges.c.merged_id, dialect)))
        .values(moved_keys=[]),
        param,
    )
    return int(result.rowcount or 0)


# --- SQLite: leave no old copy of a page ----------------------------------------------------------


def secure_delete(conn: Connection, on: bool) -> None:
    """SQLite, outside a transaction: zero deleted and overwritten content in this connection's
    writes (on), or go back to SQLite's default (off)."""
    if conn.dialect.name == "sqlite":
        driver: Any = conn.connection.driver_connection
        driver.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")


def compact_sqlite(conn: Connection) -> bool:
    """SQLite, outside a transaction: write the WAL into the file and empty it, rebuild the file
    from its live rows (VACUUM: free pages and free space inside pages go) and empty the WAL
    again. False when a reader kept the WAL from being emptied (its old pages may remain)."""
    driver: Any = conn.connection.driver_connection
    truncated = True
    queue = writer_queue(conn.engine)  # VACUUM writes: it waits its turn like any writer
    with queue.turn() if queue else nullcontext():
        for statement in (
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "VACUUM",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ):
            row = driver.execute(statement).fetchone()
            if statement.startswith("PRAGMA") and row is not None and row[0] != 0:
                truncated = False  # (busy, WAL frames, frames checkpointed): 1 = a reader held it
    return truncated
