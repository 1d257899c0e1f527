"""Builders of engine events for lifecycle tests: `ev("purchase", day=3, revenue=40)`."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from touchpoint.domain.stage_engine import Event

DAY = 86_400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
_ids = count(1)


def ev(
    type_: str,
    day: float = 0,
    *,
    revenue: float | None = None,
    direction: str = "inbound",
    channel: str = "web",
    id: str | None = None,
    **properties: Any,
) -> Event:
    return (
        T0 + day * DAY,
        id or f"e{next(_ids):06d}",
        type_,
        channel,
        direction,
        revenue,
        properties or None,
    )
