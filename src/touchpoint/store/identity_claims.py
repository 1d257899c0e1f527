"""Who may claim an external id from a web page: the ids known to Touchpoint and, among them,
the ones a browser key claimed unsigned (`browser_claims`), with the customer they went to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select

from touchpoint.store.tables import browser_claims, identities


def owned_elsewhere(conn: Connection, keys: Collection[str]) -> set[str]:
    """The `keys` an unsigned browser identify may not claim: known identities that did not come
    from an unsigned browser claim still holding (same customer as when it was claimed)."""
    if not keys:
        return set()
    query = (
        select(identities.c.key)
        .outerjoin(
            browser_claims,
            and_(
                browser_claims.c.key == identities.c.key,
                browser_claims.c.customer_id == identities.c.customer_id,
            ),
        )
        .where(identities.c.key.in_(list(keys)), browser_claims.c.key.is_(None))
    )
    return set(conn.execute(query).scalars())


def known(conn: Connection, keys: Collection[str]) -> set[str]:
    if not keys:
        return set()
    query = select(identities.c.key).where(identities.c.key.in_(list(keys)))
    return set(conn.execute(query).scalars())


def note_browser_claims(conn: Connection, keys: Collection[str], at: datetime) -> None:
    """Mark `keys` (just created by unsigned browser identifies) as browser-claimed, with the
    customer each now belongs to; a key already marked keeps its mark."""
    if not keys:
        return
    taken = claimed(conn, keys)
    rows = conn.execute(
        select(identities.c.key, identities.c.customer_id).where(
            identities.c.key.in_([k for k in keys if k not in taken])
        )
    ).all()
    if rows:
        conn.execute(
            browser_claims.insert(),
            [{"key": k, "customer_id": c, "claimed_at": at} for k, c in rows],
        )


def release(conn: Connection, keys: Collection[str]) -> None:
    """A server key identified these: from now on only a signed browser identify claims them."""
    if keys:
        conn.execute(delete(browser_claims).where(browser_claims.c.key.in_(list(keys))))


def claimed(conn: Connection, keys: Collection[str]) -> set[str]:
    """The `keys` marked browser-claimed."""
    if not keys:
        return set()
    query = select(browser_claims.c.key).where(browser_claims.c.key.in_(list(keys)))
    return set(conn.execute(query).scalars())
