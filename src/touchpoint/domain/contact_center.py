"""Contact-center terms, defined once: what a live contact is, when it counts as offered,
answered or abandoned, its wait and handle time, and first-contact resolution. Every report
(KPIs, service levels, agents) builds its counts from these; see docs/decisions.md.

- A **live contact** is an inbound call or chat: the customer is waiting on the line.
- Every live contact is **offered** to the center.
- A live contact is **answered** when an agent took it (it names an agent), whatever its outcome
  says afterwards (answered, saved, cancelled…).
- It is **abandoned** when its outcome says the customer gave up waiting. A requested callback is
  neither answered nor abandoned.
- Its **wait** is the `wait_s` property: seconds until an agent took it (or until the customer
  gave up).
- Its **handle time** is `duration_s` of an answered live contact.
- A **written message** (inbound email, social or SMS with a queue) is answered by the first
  outbound reply from an agent on the same channel to the same customer within seven days.
- **First-contact resolution** is the `first_contact_resolution` flag: the share flagged true
  among those flagged at all (unrecorded ones count neither way). Per ticket (`ticket_resolved`:
  was the issue solved at the first contact) for the KPIs; per answered live contact for service
  levels and agents.
"""

from __future__ import annotations

from typing import Final

from touchpoint.domain.vocabulary import Channel, Direction, InteractionType

INBOUND: Final[str] = Direction.INBOUND.value
OUTBOUND: Final[str] = Direction.OUTBOUND.value

LIVE_TYPES: Final[tuple[str, ...]] = (InteractionType.CALL.value, InteractionType.CHAT.value)
ABANDONED_OUTCOMES: Final[tuple[str, ...]] = ("abandoned",)

WRITTEN_CHANNELS: Final[tuple[str, ...]] = (
    Channel.EMAIL.value,
    Channel.SOCIAL.value,
    Channel.SMS.value,
)
REPLY_WINDOW_S: Final[float] = 7 * 86_400.0  # a reply later than this is not the answer

# Where the measures are recorded: properties of the interaction (the analytics copy keeps the
# wait and the flag as columns of the same names) and its duration.
WAIT_PROPERTY: Final[str] = "wait_s"
FCR_PROPERTY: Final[str] = "first_contact_resolution"
HANDLE_TIME_COLUMN: Final[str] = "duration_s"
FCR_TICKET_TYPE: Final[str] = InteractionType.TICKET_RESOLVED.value  # the KPIs' per-ticket flag


def is_live_contact(type_: str, direction: str) -> bool:
    """An inbound call or chat."""
    return type_ in LIVE_TYPES and direction == INBOUND


def is_answered(agent: str | None) -> bool:
    """A live contact is answered when an agent took it."""
    return agent is not None


def is_abandoned(outcome: str | None) -> bool:
    """A live contact is abandoned when its outcome says the customer gave up waiting."""
    return outcome in ABANDONED_OUTCOMES


def is_written_message(channel: str, direction: str, queue: str | None) -> bool:
    """An inbound email, social message or SMS that reached a queue."""
    return channel in WRITTEN_CHANNELS and direction == INBOUND and queue is not None


def is_reply(channel: str, direction: str, agent: str | None) -> bool:
    """An agent's outbound message on a written channel."""
    return channel in WRITTEN_CHANNELS and direction == OUTBOUND and agent is not None
