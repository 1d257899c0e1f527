"""Users as stored: a unique name, a role, an argon2id password hash, who made them, when the
password last changed, the last sign-in and when (if ever) they were disabled."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from touchpoint.store.tables import users


class StoredUser(NamedTuple):
    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str | None
    password_changed_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


_COLUMNS = [users.c[name] for name in StoredUser._fields]


def add(
    conn: Connection,
    *,
    user_id: str,
    name: str,
    role: str,
    password_hash: str,
    created_at: datetime,
    created_by: str | None,
) -> None:
    conn.execute(
        insert(users).values(
            id=user_id,
            name=name,
            role=role,
            password_hash=password_hash,
            created_at=created_at,
            created_by=created_by,
            password_changed_at=created_at,
        )
    )


def by_name(conn: Connection, name: str) -> tuple[StoredUser, str] | None:
    """The user called `name` and their password hash (the caller checks the password)."""
    row = conn.execute(select(*_COLUMNS, users.c.password_hash).where(users.c.name == name)).first()
    return (StoredUser(*row[:-1]), row[-1]) if row else None


def get(conn: Connection, user_id: str) -> StoredUser | None:
    row = conn.execute(select(*_COLUMNS).where(users.c.id == user_id)).first()
    return StoredUser(*row) if row else None


def listed(conn: Connection, *, include_disabled: bool) -> list[StoredUser]:
    """Users by name."""
    query = select(*_COLUMNS).order_by(users.c.name)
    if not include_disabled:
        query = query.where(users.c.disabled_at.is_(None))
    return [StoredUser(*row) for row in conn.execute(query)]


def change(conn: Connection, user_id: str, **values: Any) -> bool:
    """Set columns of a user not disabled (role, password_hash, password_changed_at,
    disabled_at); False when there is none such."""
    done = conn.execute(
        update(users).where(users.c.id == user_id, users.c.disabled_at.is_(None)).values(values)
    )
    return bool(done.rowcount)


def mark_login(conn: Connection, user_id: str, at: datetime) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .where(users.c.last_login_at.is_(None) | (users.c.last_login_at < at))
        .values(last_login_at=at)
    )
