"""API keys as stored: an id, the SHA-256 hash of the secret, a scope, a label, who made it,
when it expires, when it was last used, revocation, the key a rotation put in its place and, for
a browser key, the web origins it may be used from and its identity secret (the HMAC key that
signs identifies, kept as is since checking a signature needs it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from touchpoint.store.tables import api_keys


class StoredKey(NamedTuple):
    id: str
    scope: str
    name: str | None
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None
    origins: list[str] | None


_COLUMNS = [api_keys.c[name] for name in StoredKey._fields]


def add(
    conn: Connection,
    *,
    key_id: str,
    key_hash: str,
    scope: str,
    name: str | None,
    created_at: datetime,
    created_by: str | None = None,
    expires_at: datetime | None = None,
    origins: list[str] | None = None,
    identity_secret: str | None = None,
) -> None:
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            key_hash=key_hash,
            scope=scope,
            name=name,
            created_at=created_at,
            created_by=created_by,
            expires_at=expires_at,
            origins=origins,
            identity_secret=identity_secret,
        )
    )


def by_hash(conn: Connection, key_hash: str) -> StoredKey | None:
    """The key with this hash, revoked or not (the caller says why it is refused)."""
    row = conn.execute(select(*_COLUMNS).where(api_keys.c.key_hash == key_hash)).first()
    return StoredKey(*row) if row else None


def get(conn: Connection, key_id: str) -> StoredKey | None:
    row = conn.execute(select(*_COLUMNS).where(api_keys.c.id == key_id)).first()
    return StoredKey(*row) if row else None


def listed(conn: Connection, *, include_revoked: bool) -> list[StoredKey]:
    """Keys, newest first."""
    query = select(*_COLUMNS).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    return [StoredKey(*row) for row in conn.execute(query)]


def live_origins(conn: Connection, scope: str, now: datetime) -> list[list[str]]:
    """The origin lists of the keys of `scope` neither revoked nor expired at `now`."""
    query = select(api_keys.c.origins).where(
        api_keys.c.scope == scope,
        api_keys.c.revoked_at.is_(None),
        api_keys.c.expires_at.is_(None) | (api_keys.c.expires_at > now),
    )
    return [list(origins) for (origins,) in conn.execute(query) if origins]


def identity_secret(conn: Connection, key_id: str) -> str | None:
    """A browser key's secret for signed identifies (None for a server key or no such key)."""
    query = select(api_keys.c.identity_secret).where(api_keys.c.id == key_id)
    return conn.execute(query).scalar()


def set_identity_secret(conn: Connection, key_id: str, secret: str) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(identity_secret=secret))


def revoke(conn: Connection, key_id: str, at: datetime, *, replaced_by: str | None = None) -> bool:
    """Revoke a key not yet revoked; False when there is none such."""
    values: dict[str, Any] = {"revoked_at": at}
    if replaced_by is not None:
        values["replaced_by"] = replaced_by
    done = conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(values)
    )
    return bool(done.rowcount)


def mark_used(conn: Connection, key_id: str, at: datetime) -> None:
    """Record a use at `at` (never moving last_used_at back)."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id)
        .where(api_keys.c.last_used_at.is_(None) | (api_keys.c.last_used_at < at))
        .values(last_used_at=at)
    )
