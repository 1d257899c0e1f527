"""Builders for test data: interactions in the API's JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

_ids = count(1)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def interaction(
    *,
    type: str = "page_view",
    channel: str = "web",
    at: datetime | int = 0,
    id: str | None = None,
    **customer_and_fields: Any,
) -> dict[str, Any]:
    """One interaction; identity kwargs (email, phone, external_id, anonymous_id, handles) go
    into `customer`, everything else onto the interaction. `at` may be minutes after T0."""
    identity_names = ("email", "phone", "external_id", "anonymous_id", "handles")
    customer = {k: customer_and_fields.pop(k) for k in identity_names if k in customer_and_fields}
    when = T0 + timedelta(minutes=at) if isinstance(at, int) else at
    return {
        "id": id or f"evt-{next(_ids)}",
        "type": type,
        "channel": channel,
        "occurred_at": when.isoformat(),
        "customer": customer or {"anonymous_id": f"anon-{next(_ids)}"},
        **customer_and_fields,
    }
