"""Customers and their identities: lookups, creation, trait updates and merges."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from touchpoint.domain.resolution import Merge
from touchpoint.store.bulk import fetch_map, in_set, insert_rows, set_param, update_rows
from touchpoint.store.tables import customer_stages, customers, identities, interactions
from touchpoint.store.tables import merges as merges_table


def owners_of_keys(conn: Connection, keys: Collection[str]) -> dict[str, str]:
    return fetch_map(conn, identities.c.key, identities.c.customer_id, keys)


def ranks(conn: Connection, customer_ids: Collection[str]) -> Mapping[str, tuple[str, int]]:
    """Age order of customers for choosing a merge survivor: the oldest survives."""
    created = customers.c.created_at
    if conn.dialect.name != "sqlite":  # SQLite already stores fixed-width UTC text
        created = func.to_char(func.timezone("UTC", created), "YYYY-MM-DD HH24:MI:SS.US")
    return _Ranks(fetch_map(conn, customers.c.id, created, customer_ids))


class _Ranks(Mapping[str, tuple[str, int]]):
    """{customer id: (created_at text, 0)}, read only when a merge needs it."""

    def __init__(self, created: dict[str, str]) -> None:
        self.created = created

    def __getitem__(self, cid: str) -> tuple[str, int]:
        return self.created[cid], 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.created)

    def __len__(self) -> int:
        return len(self.created)


def create(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    rows = [(cid, now, now, {}) for cid in ids]
    insert_rows(conn, customers, ("id", "created_at", "updated_at", "traits"), rows)


def add_identities(
    conn: Connection, owner_of_key: dict[str, str], first_seen: dict[str, datetime]
) -> None:
    rows = [(key, key.partition(":")[0], cid, first_seen[key]) for key, cid in owner_of_key.items()]
    insert_rows(conn, identities, ("key", "kind", "customer_id", "first_seen_at"), rows)


TimedTraits = tuple[dict[str, Any], dict[str, str]]  # (traits, {trait: when it was said})


def traits_of(conn: Connection, customer_ids: Collection[str]) -> dict[str, TimedTraits]:
    """Each customer's traits and when each was said (a missing time: before times were kept)."""
    traits: Any = customers.c.traits
    times: Any = customers.c.trait_times
    if conn.dialect.name == "sqlite":  # stored as text: embed it as JSON, not as a string
        traits, times = func.json(traits), func.json(times)
        pair = func.json_array(traits, times)
    else:
        pair = func.json_build_array(traits, times)
    found = fetch_map(conn, customers.c.id, pair, customer_ids)
    return {cid: (values or {}, at or {}) for cid, (values, at) in found.items()}


def set_traits(conn: Connection, new_traits: dict[str, TimedTraits], now: datetime) -> None:
    rows = [(cid, traits, times, now) for cid, (traits, times) in new_traits.items()]
    update_rows(conn, customers, ("id", "traits", "trait_times", "updated_at"), rows)


@dataclass(frozen=True, slots=True)
class MergeRow:
    """One merge to make: who survives, who merges in, what tied them."""

    survivor_id: str  # the final survivor (never itself merged away)
    merged_id: str
    interaction_id: str | None  # the event that tied them; None for a merge by hand
    linking_key: str | None
    cause: str  # "identity", "alias" or "manual"
    batch_keys: tuple[str, ...] = ()  # keys the merged customer got in this batch


def apply_merges(
    conn: Connection,
    merges: Sequence[Merge],
    survivor_of: Mapping[str, str],
    interaction_ids: Sequence[str],
    now: datetime,
) -> None:
    """The merges of an ingest batch; `interaction_ids[i]` is the event that caused `merges[i]`
    and `survivor_of` maps every merged-away id to its final survivor."""
    rows = [
        MergeRow(
            survivor_of[m.merged_id],
            m.merged_id,
            iid,
            m.linking_key,
            "alias" if m.explicit else "identity",
            m.batch_keys,
        )
        for m, iid in zip(merges, interaction_ids, strict=True)
    ]
    record_merges(conn, rows, now)


def record_merges(conn: Connection, rows: Sequence[MergeRow], now: datetime) -> None:
    """Move everything of each merged-away customer to its survivor and record what moved, with
    what an unmerge needs (the log position, both profiles, legacy interactions).

    Each survivor is never itself merged away, so the moves commute and run as one executemany
    per table.
    """
    if not rows:
        return
    losers = [row.merged_id for row in rows]
    moved: dict[str, list[str]] = {row.merged_id: list(row.batch_keys) for row in rows}
    query = select(identities.c.customer_id, identities.c.key).where(
        in_set(identities.c.customer_id, conn.dialect)
    )
    for cid, key in conn.execute(query, set_param(losers, conn.dialect)):
        moved[cid].append(key)
    profiles = traits_of(conn, set(losers) | {row.survivor_id for row in rows})
    legacy = _legacy_interactions(conn, losers)
    position = int(conn.scalar(select(func.max(interactions.c.seq))) or 0)
    _move(conn, [{"loser": row.merged_id, "survivor": row.survivor_id} for row in rows], now)
    records = [
        (
            row.survivor_id,
            row.merged_id,
            now,
            row.interaction_id,
            row.linking_key,
            sorted(moved[row.merged_id]),
            row.cause,
            position,
            list(profiles.get(row.survivor_id, ({}, {}))),
            list(profiles.get(row.merged_id, ({}, {}))),
            legacy.get(row.merged_id, []),
        )
        for row in rows
    ]
    insert_rows(conn, merges_table, MERGE_COLUMNS, records)


MERGE_COLUMNS = (
    "survivor_id",
    "merged_id",
    "merged_at",
    "interaction_id",
    "linking_key",
    "moved_keys",
    "cause",
    "log_position",
    "survivor_traits",
    "merged_traits",
    "legacy_moved",
)


def _move(conn: Connection, moves: list[dict[str, str]], now: datetime) -> None:
    loser = bindparam("loser")
    conn.execute(
        update(identities)
        .where(identities.c.customer_id == loser)
        .values(customer_id=bindparam("survivor")),
        moves,
    )
    conn.execute(
        update(interactions)
        .where(interactions.c.customer_id == loser)
        .values(customer_id=bindparam("survivor")),
        moves,
    )
    conn.execute(
        update(customers)
        .where((customers.c.id == loser) | (customers.c.merged_into == loser))
        .values(merged_into=bindparam("survivor"), updated_at=now),
        moves,
    )


def _legacy_interactions(conn: Connection, customer_ids: Sequence[str]) -> dict[str, list[int]]:
    """The customers' interactions stored without their identity keys (before migration 0006):
    an unmerge cannot tell where they came from, so the merge lists them."""
    query = select(interactions.c.customer_id, interactions.c.seq).where(
        in_set(interactions.c.customer_id, conn.dialect), interactions.c.identity_keys.is_(None)
    )
    found: dict[str, list[int]] = {}
    for cid, seq in conn.execute(query, set_param(customer_ids, conn.dialect)):
        found.setdefault(cid, []).append(int(seq))
    return found


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
    """The merges that hold into this customer, oldest first (undone ones no longer do)."""
    query = (
        select(merges_table)
        .where(merges_table.c.survivor_id == customer_id, merges_table.c.undone_at.is_(None))
        .order_by(merges_table.c.seq)
    )
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


def ids_in_stage(conn: Connection, stage: str, *, limit: int, offset: int) -> tuple[int, list[str]]:
    """Customers now in `stage`, those who entered it most recently first (merged-away customers
    have no stage row)."""
    in_stage = customer_stages.c.stage == stage
    total = conn.scalar(select(func.count()).select_from(customer_stages).where(in_stage)) or 0
    ids = conn.scalars(
        select(customer_stages.c.customer_id)
        .where(in_stage)
        .order_by(customer_stages.c.since.desc(), customer_stages.c.customer_id)
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(ids)


def count(conn: Connection) -> int:
    query = select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
    return int(conn.scalar(query) or 0)


def ids_named(conn: Connection, name: str, *, limit: int) -> list[str]:
    """Live customers whose `name` trait, or `first_name last_name`, is `name` (any case),
    oldest first. A scan of the customers table: a lookup for people, not for a hot path."""
    wanted = name.strip().lower()
    traits = customers.c.traits
    full = func.trim(
        func.coalesce(traits["first_name"].as_string(), "")
        + " "
        + func.coalesce(traits["last_name"].as_string(), "")
    )
    query = (
        select(customers.c.id)
        .where(customers.c.merged_into.is_(None))
        .where((func.lower(traits["name"].as_string()) == wanted) | (func.lower(full) == wanted))
        .order_by(customers.c.created_at, customers.c.id)
        .limit(limit)
    )
    return list(conn.scalars(query))
