"""The audit trail: who read or changed what, and when — one append-only row per event, written
in the transaction of the change it records (a change and its record land together), or in a
transaction of its own for a read. Faces say who the actor is: `cli:<os user>` or an API key id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.domain.vocabulary import AUDIT_ACTIONS
from touchpoint.errors import ValidationError
from touchpoint.store import audit as store
from touchpoint.store.engine import write_transaction


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
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")  # a programming error, not input
    store.append(
        conn,
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        subject=subject,
        detail=detail or None,
    )


def record_read(
    engine: Engine, actor: str, action: str, subject: str | None = None, **detail: Any
) -> None:
    """Append an entry for a read, in a write transaction of its own."""
    with write_transaction(engine) as conn:
        record(conn, actor, action, subject, **detail)


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
