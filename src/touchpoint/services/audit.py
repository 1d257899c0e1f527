"""The audit trail: who read or changed what, and when — one append-only row per event, written
in the transaction of the change it records (a change and its record land together); a read's
entry rides on the next write transaction to commit, and the read answers once it has. Faces say who the actor is: `cli:<os user>` or an API key id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.domain.vocabulary import AUDIT_ACTIONS
from touchpoint.errors import ValidationError
from touchpoint.store import audit as store
from touchpoint.store.engine import ride


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    detail: dict[str, Any]


def record(
    conn: Connection, actor: str, action: str, subject: str | None = None, **detail: Any
) -> None:
    """Append an entry in the caller's write transaction."""
    _entry(actor, action, subject, detail, datetime.now(UTC))(conn)


def record_read(
    engine: Engine, actor: str, action: str, subject: str | None = None, **detail: Any
) -> None:
    """Append an entry for a read; it returns once the entry is committed. It rides on the next
    write transaction to commit (store.engine.ride): a read waits for the write in progress, not
    for a turn behind every ingest batch queued before it. Stamped when it was read, not when
    the entry boarded."""
    ride(engine, _entry(actor, action, subject, detail, datetime.now(UTC)))


def _entry(
    actor: str, action: str, subject: str | None, detail: dict[str, Any], at: datetime
) -> Callable[[Connection], None]:
    """The write of one entry, its action checked now."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")  # a programming error, not input

    def append(conn: Connection) -> None:
        store.append(
            conn, at=at, actor=actor, action=action, subject=subject, detail=detail or None
        )

    return append


def entries(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[AuditEntry]]:
    if action is not None and action not in AUDIT_ACTIONS:
        raise ValidationError(f"unknown action {action!r}; use one of {', '.join(AUDIT_ACTIONS)}")
    total, rows = store.entries(
        conn, action=action, actor=actor, subject=subject, since=since, limit=limit, offset=offset
    )
    return total, [
        AuditEntry(r["seq"], r["at"], r["actor"], r["action"], r["subject"], r["detail"] or {})
        for r in rows
    ]
