"""Checkpoints of projections and event consumers, and the log positions they are measured against."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select, update

from touchpoint.store.bulk import in_set, insert_rows, set_param
from touchpoint.store.tables import checkpoints, interactions


@dataclass(frozen=True, slots=True)
class Checkpoint:
    name: str
    source: str  # "log", or the event stream a consumer reads
    position: int  # the last seq of the source applied; 0 = nothing yet
    version: int
    updated_at: datetime


def read_checkpoints(conn: Connection) -> dict[str, Checkpoint]:
    return {row.name: Checkpoint(*row) for row in conn.execute(select(checkpoints))}


def read_checkpoint(conn: Connection, name: str) -> Checkpoint | None:
    row = conn.execute(select(checkpoints).where(checkpoints.c.name == name)).first()
    return Checkpoint(*row) if row else None


def write_checkpoint(
    conn: Connection, name: str, *, source: str, position: int, version: int, now: datetime
) -> None:
    conn.execute(delete(checkpoints).where(checkpoints.c.name == name))
    insert_rows(
        conn,
        checkpoints,
        ("name", "source", "position", "version", "updated_at"),
        [(name, source, position, version, now)],
    )


def advance_checkpoints(
    conn: Connection, names: Collection[str], *, position: int, now: datetime
) -> None:
    """Move these checkpoints (source and version unchanged) to `position`, in one statement:
    an ingest batch advances every projection's mark."""
    if not names:
        return
    statement = (
        update(checkpoints)
        .where(in_set(checkpoints.c.name, conn.dialect))
        .values(position=bindparam("position"), updated_at=bindparam("now"))
    )
    conn.execute(statement, {**set_param(names, conn.dialect), "position": position, "now": now})


def customers_after(conn: Connection, position: int, upto: int) -> set[str]:
    """The customers with an interaction in the log positions (position, upto]."""
    query = (
        select(interactions.c.customer_id)
        .where(interactions.c.seq > position, interactions.c.seq <= upto)
        .distinct()
    )
    return set(conn.scalars(query))


def events_between(conn: Connection, position: int, upto: int) -> int:
    query = select(func.count()).where(interactions.c.seq > position, interactions.c.seq <= upto)
    return int(conn.scalar(query) or 0)
