"""A customer's consent: the change in force for each channel and purpose, and the history."""

from __future__ import annotations

from sqlalchemy import Connection

from touchpoint.domain.consent import ConsentChange, current_consent
from touchpoint.services.customers import current_id
from touchpoint.store import consent as store


def history(conn: Connection, customer_id: str) -> list[ConsentChange]:
    """Every change, oldest first (a merged-away id answers with its survivor)."""
    return store.history(conn, current_id(conn, customer_id))


def in_force(conn: Connection, customer_id: str) -> list[ConsentChange]:
    """The change that holds for each (channel, purpose), in that order."""
    return [
        change for _scope, change in sorted(current_consent(history(conn, customer_id)).items())
    ]
