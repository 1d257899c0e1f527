"""The identity graph beyond lookups: what merge protection reads, conflicts it records, merge
records and undoing them (unmerges)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.sql import ColumnElement

from touchpoint.domain.resolution import Conflict, CustomerFacts
from touchpoint.store.bulk import in_set, insert_rows, set_param
from touchpoint.store.tables import (
    customers,
    identities,
    identity_conflicts,
    interactions,
    merges,
    unmerges,
)

# --- what merge protection reads --------------------------------------------------------------


def customer_facts(
    conn: Connection, customer_ids: Collection[str], kinds: Collection[str]
) -> dict[str, CustomerFacts]:
    """For each customer: its keys of the limited `kinds`, and who it was unmerged from."""
    if not customer_ids:
        return {}
    ids = list(customer_ids)
    limited: dict[str, set[str]] = {cid: set() for cid in ids}
    if kinds:
        query = select(identities.c.customer_id, identities.c.key).where(
            in_set(identities.c.customer_id, conn.dialect), identities.c.kind.in_(list(kinds))
        )
        for cid, key in conn.execute(query, set_param(ids, conn.dialect)):
            limited[cid].add(key)
    apart: dict[str, set[str]] = {cid: set() for cid in ids}
    for column, partner in (
        (unmerges.c.survivor_id, unmerges.c.merged_id),
        (unmerges.c.merged_id, unmerges.c.survivor_id),
    ):
        query = select(column, partner).where(in_set(column, conn.dialect))
        for cid, other in conn.execute(query, set_param(ids, conn.dialect)):
            apart[cid].add(other)
    return {cid: CustomerFacts(frozenset(limited[cid]), frozenset(apart[cid])) for cid in ids}


class StoredFacts(Mapping[str, CustomerFacts]):
    """`customer_facts`, fetched at once for the customers expected and one by one for others —
    resolution reads only those an event would merge."""

    def __init__(
        self, conn: Connection, kinds: Collection[str], expected: Collection[str] = ()
    ) -> None:
        self.conn = conn
        self.kinds = list(kinds)
        self.found = customer_facts(conn, expected, self.kinds)

    def __getitem__(self, cid: str) -> CustomerFacts:
        facts = self.found.get(cid)
        if facts is None:
            facts = self.found[cid] = customer_facts(self.conn, [cid], self.kinds)[cid]
        return facts

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)


# --- conflicts --------------------------------------------------------------------------------


def record_conflicts(
    conn: Connection, conflicts: Sequence[Conflict], interaction_ids: Sequence[str], now: datetime
) -> None:
    """Count each blocked merge on its (customer, other, key) row, adding the rows not seen yet;
    `interaction_ids[i]` is the event `conflicts[i]` blocked."""
    if not conflicts:
        return
    seen: dict[tuple[str, str, str], list[Any]] = {}  # triple -> [reason, first event, count]
    for conflict, iid in zip(conflicts, interaction_ids, strict=True):
        triple = (conflict.customer_id, conflict.other_id, conflict.key)
        if triple in seen:
            seen[triple][2] += 1
        else:
            seen[triple] = [conflict.reason, iid, 1]
    c = identity_conflicts.c
    stored = {
        tuple(row)
        for row in conn.execute(
            select(c.customer_id, c.other_id, c.key).where(
                tuple_(c.customer_id, c.other_id, c.key).in_(list(seen))
            )
        )
    }
    if stored:
        conn.execute(
            update(identity_conflicts)
            .where(
                c.customer_id == bindparam("c"),
                c.other_id == bindparam("o"),
                c.key == bindparam("k"),
            )
            .values(events=c.events + bindparam("n"), last_at=now),
            [{"c": t[0], "o": t[1], "k": t[2], "n": seen[t][2]} for t in stored],
        )
    rows = [(*t, r, iid, now, now, n) for t, (r, iid, n) in seen.items() if t not in stored]
    columns = ("customer_id", "other_id", "key", "reason", "interaction_id")
    insert_rows(conn, identity_conflicts, (*columns, "first_at", "last_at", "events"), rows)


def list_conflicts(
    conn: Connection, *, status: str, limit: int, offset: int, seq: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Conflicts (or the one numbered `seq`), most recently hit first, with both customers'
    current ids (`merged` once the two are one customer, however that came about; `dismissed`
    when someone kept them apart)."""
    mine, theirs = customers.alias("mine"), customers.alias("theirs")
    now_mine = func.coalesce(mine.c.merged_into, mine.c.id)
    now_theirs = func.coalesce(theirs.c.merged_into, theirs.c.id)
    c = identity_conflicts.c
    joined = identity_conflicts.join(mine, mine.c.id == c.customer_id).join(
        theirs, theirs.c.id == c.other_id
    )
    where = _status_filter(status, now_mine, now_theirs)
    if seq is not None:
        where = and_(where, c.seq == seq)
    total = conn.scalar(select(func.count()).select_from(joined).where(where)) or 0
    query = (
        select(
            identity_conflicts,
            now_mine.label("current_customer_id"),
            now_theirs.label("current_other_id"),
        )
        .select_from(joined)
        .where(where)
        .order_by(c.last_at.desc(), c.seq.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), [dict(row._mapping) for row in conn.execute(query)]


def _status_filter(
    status: str, now_mine: ColumnElement[Any], now_theirs: ColumnElement[Any]
) -> ColumnElement[bool]:
    dismissed = identity_conflicts.c.dismissed_at.is_not(None)
    if status == "merged":
        return now_mine == now_theirs
    if status == "dismissed":
        return and_(dismissed, now_mine != now_theirs)
    if status == "open":
        return and_(~dismissed, now_mine != now_theirs)
    return identity_conflicts.c.seq.is_not(None)


def get_conflict(conn: Connection, seq: int) -> dict[str, Any] | None:
    row = conn.execute(select(identity_conflicts).where(identity_conflicts.c.seq == seq)).first()
    return dict(row._mapping) if row else None


def dismiss_conflict(conn: Connection, seq: int, now: datetime) -> None:
    conn.execute(
        update(identity_conflicts).where(identity_conflicts.c.seq == seq).values(dismissed_at=now)
    )


# --- merge records ----------------------------------------------------------------------------


def get_merge(conn: Connection, seq: int) -> dict[str, Any] | None:
    row = conn.execute(select(merges).where(merges.c.seq == seq)).first()
    return dict(row._mapping) if row else None


def latest_merge_of(conn: Connection, merged_id: str) -> int:
    """The seq of the newest merge that took `merged_id` in."""
    return int(conn.scalar(select(func.max(merges.c.seq)).where(merges.c.merged_id == merged_id)))


def merges_of(
    conn: Connection, customer_ids: Collection[str], *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """Merge records naming any of these customers (as survivor or merged), newest first; every
    record when `customer_ids` is empty."""
    where: ColumnElement[bool] = merges.c.seq.is_not(None)
    if customer_ids:
        ids = list(customer_ids)
        where = or_(merges.c.survivor_id.in_(ids), merges.c.merged_id.in_(ids))
    total = conn.scalar(select(func.count()).select_from(merges).where(where)) or 0
    query = select(merges).where(where).order_by(merges.c.seq.desc()).limit(limit).offset(offset)
    return int(total), [dict(row._mapping) for row in conn.execute(query)]


# --- undoing a merge --------------------------------------------------------------------------


def keyed_interactions(conn: Connection, customer_id: str) -> list[tuple[int, list[str] | None]]:
    """(seq, identity keys) of every interaction of the customer, in log order."""
    query = (
        select(interactions.c.seq, interactions.c.identity_keys)
        .where(interactions.c.customer_id == customer_id)
        .order_by(interactions.c.seq)
    )
    return [(int(seq), keys) for seq, keys in conn.execute(query)]


def merged_below(conn: Connection, customer_id: str) -> list[str]:
    """The customers merged into this one by merges that still hold, and into those, and so on."""
    found: list[str] = []
    frontier = [customer_id]
    while frontier:
        query = select(merges.c.merged_id).where(
            merges.c.survivor_id.in_(frontier), merges.c.undone_at.is_(None)
        )
        frontier = [cid for cid in conn.scalars(query) if cid not in found]
        found.extend(frontier)
    return found


def move_back(
    conn: Connection,
    customer_id: str,
    keys: Collection[str],
    seqs: Sequence[int],
    restored: Sequence[str],
    now: datetime,
) -> None:
    """Give keys and interactions back to a merged-away customer, and make it (and `restored`,
    the customers merged into it) live again / point at it again."""
    if keys:
        conn.execute(
            update(identities)
            .where(identities.c.key == bindparam("k"))
            .values(customer_id=customer_id),
            [{"k": key} for key in keys],
        )
    if seqs:
        conn.execute(
            update(interactions)
            .where(interactions.c.seq == bindparam("s"))
            .values(customer_id=customer_id),
            [{"s": seq} for seq in seqs],
        )
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(merged_into=None, updated_at=now)
    )
    if restored:
        conn.execute(
            update(customers)
            .where(customers.c.id.in_(list(restored)))
            .values(merged_into=customer_id, updated_at=now)
        )


def record_unmerge(
    conn: Connection,
    merge: Mapping[str, Any],
    survivor_id: str,
    restored: Sequence[str],
    keys: Collection[str],
    moved_interactions: int,
    now: datetime,
) -> int:
    """Mark the merge undone and append the unmerge; returns the unmerge's seq."""
    conn.execute(update(merges).where(merges.c.seq == merge["seq"]).values(undone_at=now))
    columns = (
        "merge_seq",
        "survivor_id",
        "merged_id",
        "restored_ids",
        "moved_keys",
        "moved_interactions",
        "undone_at",
    )
    row = (
        merge["seq"],
        survivor_id,
        merge["merged_id"],
        [merge["merged_id"], *restored],
        sorted(keys),
        moved_interactions,
        now,
    )
    insert_rows(conn, unmerges, columns, [row])
    query = select(func.max(unmerges.c.seq)).where(unmerges.c.merge_seq == merge["seq"])
    return int(conn.scalar(query))


def unmerged_customers(conn: Connection, after: int) -> tuple[int, set[str]]:
    """For a reader that follows unmerges (the analytics copy): the newest unmerge seq, and every
    customer an unmerge after `after` changed — both sides and the customers restored under the
    merged one. Their interactions, profiles and transitions must be read again."""
    top = int(conn.scalar(select(func.max(unmerges.c.seq))) or 0)
    changed: set[str] = set()
    query = select(unmerges.c.survivor_id, unmerges.c.restored_ids).where(
        unmerges.c.seq > after, unmerges.c.seq <= top
    )
    for survivor, restored in conn.execute(query):
        changed.add(survivor)
        changed.update(restored)
    return top, changed
