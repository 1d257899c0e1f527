"""A help desk for the tickets' tests: a contact-center configuration with SLA policies (one
queue on Paris office hours with a lunch break and French holidays, one open 24/7), applied to a
fresh Touchpoint, and helpers to open tickets and send the customer's messages at set moments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from touchpoint.runtime import Touchpoint
from touchpoint.services import tickets
from touchpoint.services.contact_center import apply_config

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a Monday

CONFIG = """
[queues.support]
channels = ["phone", "chat", "email"]
calendar = "office"

[queues.sales]
channels = ["phone", "email"]

[agents.ana]
user = "ana"
queues = ["support", "sales"]
capacity = { phone = 1, email = 5 }

[agents.bo]
queues = ["support", "sales"]
capacity = { phone = 1, email = 5 }

[calendars.office]
time_zone = "Europe/Paris"
hours.weekdays = ["09:00-12:00", "13:00-17:00"]
holidays_country = "FR"

[[sla]]
queue = "support"
priority = ["high", "urgent"]
first_response = "1h"
next_response = "2h"
resolution = "8h"
warn_at = 0.5

[[sla]]
queue = "support"
priority = ["low", "normal"]
first_response = "4h"
resolution = "2d"

[[sla]]
queue = "sales"
first_response = "1h"
next_response = "30m"
resolution = "1d"
warn_at = 0.8
"""


class Desk:
    def __init__(self, tp: Touchpoint, text: str = CONFIG) -> None:
        self.tp = tp
        apply_config(tp, text=text, actor="test")
        self.people = 0

    def open(
        self, at: datetime, queue: str = "sales", priority: str = "normal", **kw: Any
    ) -> tickets.TicketView:
        self.people += 1
        return tickets.open_ticket(
            self.tp,
            subject="my order never came",
            queue=queue,
            channel="email",
            identity={"email": f"person{self.people}@example.com"},
            priority=priority,
            actor="test",
            now=at,
            **kw,
        )

    def customer_writes(self, ticket: tickets.TicketView, at: datetime, n: int = 1) -> None:
        """The customer's inbound email on the ticket, through the log."""
        email = ticket_email(self.tp, ticket.id)
        report = self.tp.ingestor.ingest(
            [
                (
                    0,
                    {
                        "id": f"mail-{ticket.id}-{n}",
                        "type": "email_received",
                        "channel": "email",
                        "direction": "inbound",
                        "occurred_at": at.isoformat(),
                        "customer": {"email": email},
                        "queue": ticket.queue,
                        "properties": {"ticket_id": ticket.id},
                    },
                )
            ]
        )
        assert report.accepted == 1, report.results

    def clocks(self, ticket_id: str, at: datetime) -> dict[str, Any]:
        view = tickets.get(self.tp, ticket_id, now=at)
        return {c.name: c for c in view.clocks}


def ticket_email(tp: Touchpoint, ticket_id: str) -> str:
    from touchpoint.store import tickets as store
    from touchpoint.store.engine import read_connection

    with read_connection(tp.engine) as conn:
        row = store.ticket(conn, ticket_id)
    assert row is not None
    return str(row["identity"]["email"])
