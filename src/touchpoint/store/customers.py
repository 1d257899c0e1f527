"""Customers and their identities: lookups, creation, trait updates and merges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from touchpoint.domain.resolution import Merge
from touchpoint.store.bulk import bulk_insert
from touchpoint.store.log import chunks
from touchpoint.store.tables import customers, identities, interactions, merges


def owners_of_keys(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in chunks(keys):
        query = select(identities.c.key, identities.c.customer_id).where(identities.c.key.in_(part))
        found.update((k, v) for k, v in conn.execute(query).all())
    return found


def ranks(conn: Connection, customer_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Age order of customers for choosing a merge survivor: the oldest survives."""
    found: dict[str, tuple[str, int]] = {}
    for part in chunks(customer_ids):
        query = select(customers.c.id, customers.c.created_at).where(customers.c.id.in_(part))
        for cid, created_at in conn.execute(query).all():
            found[cid] = (created_at.isoformat(), 0)
    return found


def create(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    if ids:
        rows = [{"id": cid, "created_at": now, "updated_at": now, "traits": {}} for cid in ids]
        bulk_insert(conn, customers, rows)


def add_identities(
    conn: Connection, owner_of_key: dict[str, str], first_seen: dict[str, datetime]
) -> None:
    rows = [
        {
            "key": key,
            "kind": key.partition(":")[0],
            "customer_id": cid,
            "first_seen_at": first_seen[key],
        }
        for key, cid in owner_of_key.items()
    ]
    bulk_insert(conn, identities, rows)


def traits_of(conn: Connection, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(customer_ids):
        query = select(customers.c.id, customers.c.traits).where(customers.c.id.in_(part))
        found.update((k, v) for k, v in conn.execute(query).all())
    return found


def set_traits(conn: Connection, new_traits: dict[str, dict[str, Any]], now: datetime) -> None:
    if not new_traits:
        return
    statement = (
        update(customers)
        .where(customers.c.id == bindparam("cid"))
        .values(traits=bindparam("new_traits"), updated_at=now)
    )
    conn.execute(statement, [{"cid": c, "new_traits": t} for c, t in new_traits.items()])


def apply_merge(
    conn: Connection, merge: Merge, survivor_id: str, interaction_id: str, now: datetime
) -> None:
    """Move everything of `merge.merged_id` to its final survivor and record what moved."""
    loser = merge.merged_id
    moved = list(conn.scalars(select(identities.c.key).where(identities.c.customer_id == loser)))
    conn.execute(
        update(identities).where(identities.c.customer_id == loser).values(customer_id=survivor_id)
    )
    conn.execute(
        update(interactions)
        .where(interactions.c.customer_id == loser)
        .values(customer_id=survivor_id)
    )
    conn.execute(
        update(customers)
        .where((customers.c.id == loser) | (customers.c.merged_into == loser))
        .values(merged_into=survivor_id, updated_at=now)
    )
    conn.execute(
        insert(merges).values(
            survivor_id=survivor_id,
            merged_id=loser,
            merged_at=now,
            interaction_id=interaction_id,
            linking_key=merge.linking_key,
            moved_keys=moved,
        )
    )


def get(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
    return dict(row._mapping) if row else None


def identities_of(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    query = (
        select(identities.c.key, identities.c.kind, identities.c.first_seen_at)
        .where(identities.c.customer_id == customer_id)
        .order_by(identities.c.first_seen_at, identities.c.key)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def merges_into(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    query = select(merges).where(merges.c.survivor_id == customer_id).order_by(merges.c.seq)
    return [dict(r._mapping) for r in conn.execute(query)]


def find_by_key(conn: Connection, key: str) -> str | None:
    return conn.scalar(select(identities.c.customer_id).where(identities.c.key == key))


def list_ids(conn: Connection, *, limit: int, offset: int) -> tuple[int, list[str]]:
    live = customers.c.merged_into.is_(None)
    total = conn.scalar(select(func.count()).select_from(customers).where(live)) or 0
    ids = conn.scalars(
        select(customers.c.id)
        .where(live)
        .order_by(customers.c.created_at, customers.c.id)
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(ids)


def count(conn: Connection) -> int:
    query = select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
    return int(conn.scalar(query) or 0)
