"""Identity by hand: the conflicts merge protection recorded, merge records, and merging or
unmerging customers (each in one write transaction that also refolds their projections)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.resolution import TimedTraits, fold_profiles, split_merge, unmerge_traits
from touchpoint.domain.vocabulary import CONFLICT_STATUSES
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.services.customers import current_id
from touchpoint.store import customers
from touchpoint.store import identity as store
from touchpoint.store.engine import write_transaction


@dataclass(frozen=True)
class IdentityConflict:
    """An implicit merge merge protection blocked: events that named `customer_id` also carried
    `key`, which stays with `other_id`."""

    id: int
    customer_id: str  # where the events landed (its current id, after any merge since)
    other_id: str  # who keeps the contested key (current id)
    kind: str  # the contested key's kind and value
    value: str
    reason: str  # "limit:<kind>" (both hold keys of a limited kind) or "unmerged"
    interaction_id: str  # the first event it blocked
    first_at: datetime
    last_at: datetime
    events: int  # how many events it blocked
    status: str  # open, merged (the two are one customer now) or dismissed (kept apart)


@dataclass(frozen=True)
class MergeRecord:
    id: int
    survivor_id: str
    merged_id: str
    cause: str  # identity (a shared key), alias, or manual (by hand)
    merged_at: datetime
    linking_key: str | None  # the key that tied them (None for a merge by hand)
    interaction_id: str | None  # the event that did
    moved_keys: tuple[str, ...]
    undone_at: datetime | None
    undoable: bool  # holds, and was recorded with what undoing it needs (since migration 0006)


@dataclass(frozen=True)
class Unmerge:
    merge_id: int
    survivor_id: str  # kept the rest
    restored_id: str  # answers with itself again
    keys: tuple[str, ...]  # identities that went back to it
    interactions: int  # interactions that went back to it
    undone_at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- conflicts --------------------------------------------------------------------------------


def list_conflicts(
    conn: Connection, *, status: str = "open", limit: int = 50, offset: int = 0
) -> tuple[int, list[IdentityConflict]]:
    """Conflicts in `status` (open, merged, dismissed or all), most recently hit first."""
    if status not in CONFLICT_STATUSES:
        raise ValidationError(
            f"unknown status {status!r}; use one of {', '.join(CONFLICT_STATUSES)}"
        )
    total, rows = store.list_conflicts(conn, status=status, limit=limit, offset=offset)
    return total, [_conflict(row) for row in rows]


def dismiss_conflict(
    tp: Touchpoint, conflict_id: int, *, actor: str = "system"
) -> IdentityConflict:
    """Mark a conflict reviewed: the two are different people (its events keep counting)."""
    with write_transaction(tp.engine) as conn:
        if store.get_conflict(conn, conflict_id) is None:
            raise NotFound(f"no identity conflict {conflict_id}")
        store.dismiss_conflict(conn, conflict_id, utcnow())
        audit.record(conn, actor, "conflict.dismiss", str(conflict_id))
        return _find_conflict(conn, conflict_id)


def _find_conflict(conn: Connection, conflict_id: int) -> IdentityConflict:
    _total, rows = store.list_conflicts(conn, status="all", limit=1, offset=0, seq=conflict_id)
    return _conflict(rows[0])


def _conflict(row: Mapping[str, Any]) -> IdentityConflict:
    mine, theirs = row["current_customer_id"], row["current_other_id"]
    status = "merged" if mine == theirs else "dismissed" if row["dismissed_at"] else "open"
    kind, _, value = row["key"].partition(":")
    return IdentityConflict(
        id=row["seq"],
        customer_id=mine,
        other_id=theirs,
        kind=kind,
        value=value,
        reason=row["reason"],
        interaction_id=row["interaction_id"],
        first_at=row["first_at"],
        last_at=row["last_at"],
        events=row["events"],
        status=status,
    )


# --- merges -----------------------------------------------------------------------------------


def list_merges(
    conn: Connection, customer_id: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[MergeRecord]]:
    """Merge records, newest first: all, or those naming the customer (by the id given or the
    id it answers with now)."""
    ids: set[str] = set()
    if customer_id is not None:
        ids = {customer_id, current_id(conn, customer_id)}
    total, rows = store.merges_of(conn, ids, limit=limit, offset=offset)
    return total, [_merge_record(row) for row in rows]


def merge_customers(
    tp: Touchpoint, customer_id: str, other_id: str, *, actor: str = "system"
) -> MergeRecord:
    """Merge two customers by hand (an explicit merge: merge protection does not apply). The one
    created first survives, as in every merge; the other's identities and interactions move to
    it, their profiles fold (newest value of each trait), and its projections are refolded."""
    now = utcnow()
    with write_transaction(tp.engine) as conn:
        first, second = current_id(conn, customer_id), current_id(conn, other_id)
        if first == second:
            same = "itself" if customer_id == other_id else f"itself: both are {first}"
            raise ValidationError(f"cannot merge customer {customer_id} into {same}")
        age = customers.ranks(conn, {first, second})
        survivor, merged = sorted((first, second), key=lambda cid: (age[cid], cid))
        customers.record_merges(
            conn, [customers.MergeRow(survivor, merged, None, None, "manual")], now
        )
        profiles = customers.traits_of(conn, {survivor, merged})
        empty: TimedTraits = ({}, {})
        folded = fold_profiles([profiles.get(merged, empty), profiles.get(survivor, empty)])
        customers.set_traits(conn, {survivor: folded}, now)
        tp.projections.refold(conn, [survivor], [merged])
        record = store.get_merge(conn, store.latest_merge_of(conn, merged))
        assert record is not None
        audit.record(conn, actor, "customer.merge", survivor, merged=merged, merge=record["seq"])
        return _merge_record(record)


def unmerge(tp: Touchpoint, merge_id: int, *, actor: str = "system") -> Unmerge:
    """Undo a merge: the merged customer answers with itself again, with the identities it
    brought (and those it gained since, when only its interactions carried them), every
    interaction that came from it (by the identity keys each carried), and its profile as it was;
    the survivor gets back the traits the merge overwrote. Both are refolded in every projection.
    Afterwards an implicit link between the two is a conflict, not a merge."""
    now = utcnow()
    with write_transaction(tp.engine) as conn:
        merge = _undoable(conn, merge_id)
        merged = merge["merged_id"]
        survivor = current_id(conn, merge["survivor_id"])
        if (customers.get(conn, merged) or {}).get("merged_into") != survivor:
            raise Conflict(f"merge {merge_id}: {merged} is no longer merged into {survivor}")
        held = {identity["key"] for identity in customers.identities_of(conn, survivor)}
        split = split_merge(
            store.keyed_interactions(conn, survivor),
            held,
            merge["moved_keys"],
            merge["log_position"],
            merge["legacy_moved"] or (),
        )
        restored = store.merged_below(conn, merged)
        store.move_back(conn, merged, split.keys_back, split.interactions_back, restored, now)
        _restore_profiles(conn, merge, survivor, now)
        store.record_unmerge(
            conn, merge, survivor, restored, split.keys_back, len(split.interactions_back), now
        )
        tp.projections.refold(conn, [survivor, merged], [])
        audit.record(conn, actor, "customer.unmerge", merged, survivor=survivor, merge=merge_id)
    return Unmerge(
        merge_id=merge_id,
        survivor_id=survivor,
        restored_id=merged,
        keys=tuple(sorted(split.keys_back)),
        interactions=len(split.interactions_back),
        undone_at=now,
    )


def _undoable(conn: Connection, merge_id: int) -> Mapping[str, Any]:
    merge = store.get_merge(conn, merge_id)
    if merge is None:
        raise NotFound(f"no merge {merge_id}")
    if merge["undone_at"] is not None:
        raise Conflict(f"merge {merge_id} was already undone")
    if merge["log_position"] is None:
        raise Conflict(
            f"merge {merge_id} was made before Touchpoint kept what undoing a merge needs "
            "(migration 0006); it cannot be undone exactly"
        )
    return merge


def _restore_profiles(
    conn: Connection, merge: Mapping[str, Any], survivor: str, now: datetime
) -> None:
    survivor_then, merged_then = _timed(merge["survivor_traits"]), _timed(merge["merged_traits"])
    current = customers.traits_of(conn, {survivor}).get(survivor, ({}, {}))
    customers.set_traits(
        conn,
        {
            survivor: unmerge_traits(current, survivor_then, merged_then),
            merge["merged_id"]: merged_then,
        },
        now,
    )


def _timed(stored: Sequence[Any] | None) -> TimedTraits:
    traits, times = stored or ({}, {})
    return dict(traits or {}), dict(times or {})


def _merge_record(row: Mapping[str, Any]) -> MergeRecord:
    return MergeRecord(
        id=row["seq"],
        survivor_id=row["survivor_id"],
        merged_id=row["merged_id"],
        cause=row["cause"],
        merged_at=row["merged_at"],
        linking_key=row["linking_key"],
        interaction_id=row["interaction_id"],
        moved_keys=tuple(row["moved_keys"] or ()),
        undone_at=row["undone_at"],
        undoable=row["undone_at"] is None and row["log_position"] is not None,
    )
