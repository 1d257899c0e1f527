"""API keys as stored: an id, the SHA-256 hash of the secret, a scope, a label, revocation."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, insert, select

from touchpoint.store.tables import api_keys


class StoredKey(NamedTuple):
    id: str
    scope: str
    name: str | None


def add(
    conn: Connection,
    *,
    key_id: str,
    key_hash: str,
    scope: str,
    name: str | None,
    created_at: datetime,
) -> None:
    conn.execute(
        insert(api_keys).values(
            id=key_id, key_hash=key_hash, scope=scope, name=name, created_at=created_at
        )
    )


def active_by_hash(conn: Connection, key_hash: str) -> StoredKey | None:
    """The key with this hash, unless it was revoked."""
    row = conn.execute(
        select(api_keys.c.id, api_keys.c.scope, api_keys.c.name).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
    ).first()
    return StoredKey(row.id, row.scope, row.name) if row else None
