"""Consent as history: which interactions grant or withdraw consent, for what, and what a
customer's consent is now (the latest change by when it happened).

A change is scoped by channel (the interaction's `channel` property when it names a channel — a
web form granting SMS — else the interaction's own: email, sms, phone…) and purpose (its
`purpose` or `list` property, else `marketing`): an email unsubscribe from the newsletter
withdraws (email, newsletter) and leaves (sms, marketing) as it was."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from touchpoint.domain.vocabulary import CHANNELS

GRANTED = "granted"
WITHDRAWN = "withdrawn"
CONSENT_STATUSES = (GRANTED, WITHDRAWN)
DEFAULT_PURPOSE = "marketing"
MAX_PURPOSE_LENGTH = 100

# The interaction types that change consent (domain.vocabulary.InteractionType), and to what.
CONSENT_TYPES: Mapping[str, str] = {
    "unsubscribe": WITHDRAWN,
    "consent_withdrawn": WITHDRAWN,
    "consent_granted": GRANTED,
}


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change of consent: for (channel, purpose), to `status`, when it happened (`occurred_at`)
    and was recorded (`recorded_at`), and what said so (`source`: the interaction's id)."""

    customer_id: str
    channel: str
    purpose: str
    status: str
    source: str
    occurred_at: datetime
    recorded_at: datetime


def consent_change(row: Mapping[str, Any]) -> ConsentChange | None:
    """The change an interaction (a log row: id, customer_id, type, channel, properties,
    occurred_at, received_at) makes, or None if its type does not change consent."""
    status = CONSENT_TYPES.get(row["type"])
    if status is None:
        return None
    properties = row.get("properties") or {}
    purpose = properties.get("purpose") or properties.get("list") or DEFAULT_PURPOSE
    named = properties.get("channel")
    return ConsentChange(
        customer_id=row["customer_id"],
        channel=named if named in CHANNELS else row["channel"],
        purpose=str(purpose)[:MAX_PURPOSE_LENGTH],
        status=status,
        source=row["id"],
        occurred_at=row["occurred_at"],
        recorded_at=row["received_at"],
    )


def current_consent(changes: Iterable[ConsentChange]) -> dict[tuple[str, str], ConsentChange]:
    """{(channel, purpose): the change in force}: the latest by occurred_at (ties: the one
    recorded later, then the source id), so a late-arriving older change never overrides."""
    now: dict[tuple[str, str], ConsentChange] = {}
    for change in changes:
        scope = (change.channel, change.purpose)
        held = now.get(scope)
        if held is None or _order(change) > _order(held):
            now[scope] = change
    return now


def _order(change: ConsentChange) -> tuple[datetime, datetime, str]:
    return change.occurred_at, change.recorded_at, change.source
