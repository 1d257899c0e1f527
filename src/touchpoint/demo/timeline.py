"""One person's interactions as they are simulated: the clock, the identities each channel
reveals, and the final shaping into `InteractionIn` dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random
from typing import Any

from touchpoint.demo.people import Person

MINUTE = 60
HOUR = 3_600
DAY = 86_400


class Timeline:
    """Collects a person's events; events at or after `end` are silently dropped."""

    def __init__(self, person: Person, rng: Random, end: float) -> None:
        self.person = person
        self.rng = rng
        self.end = end
        self.events: list[dict[str, Any]] = []
        self.known = False  # signed up: their web sessions now carry their external_id
        self.serials: dict[str, int] = {}

    def emit(
        self,
        ts: float,
        type_: str,
        channel: str,
        customer: dict[str, Any],
        *,
        direction: str = "inbound",
        **fields: Any,
    ) -> bool:
        if ts >= self.end:
            return False
        event: dict[str, Any] = {
            "id": "",
            "type": type_,
            "channel": channel,
            "direction": direction,
            "occurred_at": int(ts),
            "customer": dict(customer),
        }
        for name, value in fields.items():
            if value is not None:  # copied, so no two events share a mutable dict
                event[name] = dict(value) if type(value) is dict else value
        self.events.append(event)
        return True

    def finish(self) -> list[dict[str, Any]]:
        """The events in time order, with their ids and ISO 8601 UTC timestamps."""
        self.events.sort(key=_occurred_at)
        prefix = f"demo-{self.person.index}-"
        for n, event in enumerate(self.events, 1):
            event["id"] = f"{prefix}{n}"
            event["occurred_at"] = datetime.fromtimestamp(event["occurred_at"], UTC).isoformat()
        return self.events

    # --- identities each channel reveals -------------------------------------------------
    def web(self, device: int = 0) -> dict[str, Any]:
        ids = self.person.anonymous_ids
        who: dict[str, Any] = {"anonymous_id": ids[device % len(ids)]}
        if self.known:
            who["external_id"] = self.person.external_id
        return who

    def by_email(self) -> dict[str, Any]:
        return {"email": self.person.email}

    def by_account(self) -> dict[str, Any]:
        return {"external_id": self.person.external_id, "email": self.person.email}

    def by_phone(self) -> dict[str, Any]:
        """Callers are known by their number; once known, the agent's CRM adds the account."""
        who: dict[str, Any] = {"phone": self.person.phone}
        if self.known:
            who["external_id"] = self.person.external_id
        return who

    def by_handle(self) -> dict[str, Any]:
        return {"handles": dict(self.person.handles)}

    # --- clock ---------------------------------------------------------------------------
    def later(self, ts: float, low: float, high: float) -> float:
        return ts + self.rng.uniform(low, high)

    def open_hours(self, ts: float, first: int = 8, last: int = 20) -> float:
        """`ts` or the next moment after it within the person's local opening hours."""
        local_hour = ((ts - self.person.utc_offset * HOUR) % DAY) / HOUR
        if first <= local_hour < last:
            return ts
        wait = (first - local_hour) % 24
        return ts + wait * HOUR + self.rng.uniform(0, 3 * HOUR)

    def serial(self, kind: str) -> str:
        n = self.serials.get(kind, 0) + 1
        self.serials[kind] = n
        return f"{kind}-{self.person.index}-{n}"


def _occurred_at(event: dict[str, Any]) -> int:
    return int(event["occurred_at"])
