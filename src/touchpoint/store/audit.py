"""The audit trail as stored: append-only rows, read newest first with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from touchpoint.store.tables import audit_log


def append(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    detail: dict[str, Any] | None,
) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, subject=subject, detail=detail)
    )


def entries(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them newest first)."""
    where = []
    if action is not None:
        where.append(audit_log.c.action == action)
    if actor is not None:
        where.append(audit_log.c.actor == actor)
    if subject is not None:
        where.append(audit_log.c.subject == subject)
    if since is not None:
        where.append(audit_log.c.at >= since)
    total = conn.scalar(select(func.count()).select_from(audit_log).where(*where)) or 0
    rows = conn.execute(
        select(audit_log).where(*where).order_by(audit_log.c.seq.desc()).limit(limit).offset(offset)
    ).mappings()
    return int(total), [dict(row) for row in rows]
