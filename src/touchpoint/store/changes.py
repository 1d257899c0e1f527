"""What the columnar copy mirrors, summed up in one string: when it is the same as at the copy's
last refresh, nothing the copy holds has changed and the refresh is skipped (a report on
unchanged data does not start the refresh worker)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, func, select

from touchpoint.store.tables import (
    campaign_spend,
    interactions,
    lifecycle_meta,
    merges,
    stage_transitions,
    unmerges,
)


def copy_marks(conn: Connection) -> str:
    """The log's, merges' and unmerges' high-water marks, the transitions' count, seq sum and
    high-water mark (the lifecycle engine rewrites a history, and SQLite may hand a deleted seq
    out again), the lifecycle generation, and a digest of the campaign spend (edited in place).
    Read in one transaction, before the copy reads anything, so a change committed meanwhile
    shows as a difference next time."""
    tops = [
        conn.execute(select(func.max(table.c.seq))).scalar() or 0
        for table in (interactions, merges, unmerges)
    ]
    moves = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(stage_transitions.c.seq), 0),
            func.max(stage_transitions.c.seq),
        )
    ).one()
    generation = conn.execute(
        select(lifecycle_meta.c.value).where(lifecycle_meta.c.key == "generation")
    ).scalar()
    spend = hashlib.sha256()
    for row in conn.execute(select(campaign_spend).order_by(*campaign_spend.primary_key.columns)):
        spend.update(repr(tuple(row)).encode())
    return "|".join(map(str, [*tops, *moves, generation, spend.hexdigest()[:16]]))
