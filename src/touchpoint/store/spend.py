"""Campaign spend rows: replacing them by their key (date, campaign, source, medium)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, tuple_

from touchpoint.store.engine import write_transaction
from touchpoint.store.tables import campaign_spend

KEY = ("date", "campaign", "source", "medium")
DELETE_CHUNK = 200  # keys per IN (...) list


def replace_spend(engine: Engine, rows: Sequence[Mapping[str, Any]], imported_at: datetime) -> int:
    """Store `rows` (date, campaign, source, medium, channel, amount, currency), each replacing
    the stored row with its key, in one transaction; returns how many stored rows were replaced."""
    key_cols = tuple_(*(campaign_spend.c[name] for name in KEY))
    keys = [tuple(row[name] for name in KEY) for row in rows]
    replaced = 0
    with write_transaction(engine) as conn:
        for chunk in _chunks(keys, DELETE_CHUNK):
            replaced += conn.execute(
                select(func.count()).select_from(campaign_spend).where(key_cols.in_(chunk))
            ).scalar_one()
            conn.execute(delete(campaign_spend).where(key_cols.in_(chunk)))
        if rows:
            conn.execute(
                campaign_spend.insert(), [{**row, "imported_at": imported_at} for row in rows]
            )
    return replaced


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
