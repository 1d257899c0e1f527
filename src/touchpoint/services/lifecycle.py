"""Lifecycle queries shared by the API and the CLI: stage counts now or at a date, the model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.stages import StageModel
from touchpoint.lifecycle.model import model_from_text
from touchpoint.lifecycle.projector import model_source
from touchpoint.store import lifecycle as store


def model_in_force(conn: Connection) -> StageModel:
    return model_from_text(model_source(store.read_meta(conn)))


def summary(conn: Connection, at: datetime | None = None) -> dict[str, Any]:
    """Customers per stage (in model order, zeros included), now or as they stood at `at`."""
    meta = store.read_meta(conn)
    model = model_from_text(model_source(meta))  # the model in force
    counts = store.stage_counts(conn, at)
    names = list(model.all_stages) + sorted(set(counts) - set(model.all_stages))
    return {
        "model": model.label,
        "at": at,
        "clock": meta.get("clock"),
        "total": sum(counts.values()),
        "stages": [{"stage": name, "customers": counts.get(name, 0)} for name in names],
    }
