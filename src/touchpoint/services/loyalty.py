"""A customer's loyalty balance and tier (domain/loyalty.py), read from the log."""

from __future__ import annotations

from sqlalchemy import Connection

from touchpoint.domain.loyalty import Loyalty, fold
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import current_id
from touchpoint.store.engine import read_connection
from touchpoint.store.loyalty import loyalty_rows


def loyalty_of(conn: Connection, customer_id: str) -> Loyalty:
    """The balance (awards minus redemptions), both sums and the last tier set."""
    return fold(loyalty_rows(conn, current_id(conn, customer_id)))


def balance(tp: Touchpoint, customer_id: str) -> Loyalty:
    with read_connection(tp.engine) as conn:
        return loyalty_of(conn, customer_id)


def describe(found: Loyalty) -> str | None:
    """One line for a customer's page (None: no loyalty activity)."""
    if not (found.earned or found.redeemed or found.tier):
        return None
    tier = f", tier {found.tier}" if found.tier else ""
    return (
        f"Loyalty: {found.balance} points ({found.earned} earned, {found.redeemed} redeemed){tier}"
    )
