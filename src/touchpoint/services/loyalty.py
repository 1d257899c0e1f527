"""A customer's loyalty balance and tier (domain/loyalty.py), read from the log."""

from __future__ import annotations

from touchpoint.domain.loyalty import Loyalty, fold
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import current_id
from touchpoint.store.engine import read_connection
from touchpoint.store.loyalty import loyalty_rows


def balance(tp: Touchpoint, customer_id: str) -> Loyalty:
    with read_connection(tp.engine) as conn:
        return fold(loyalty_rows(conn, current_id(conn, customer_id)))
