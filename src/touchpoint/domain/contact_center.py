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
- Its **handle time** (AHT's part of it) is talk + hold + wrap-up of an answered live contact:
  `duration_s` (talk: from the agent's answer to the end, less any hold reported), the
  `hold_s` property (the front end's hold, where it reports one) and the `wrapup_s` property
  (the wrap-up the agent went into after it); a part not recorded counts as nothing, so an
  imported call whose duration includes its hold is still counted once.
- A **written message** (inbound email, social or SMS with a queue) is answered by the first
  outbound reply from an agent on the same channel to the same customer within seven days.
- **First-contact resolution** is the `first_contact_resolution` flag: the share flagged true
  among those flagged at all (unrecorded ones count neither way). Per ticket (`ticket_resolved`:
  was the issue solved at the first contact) for the KPIs; per answered live contact for service
  levels and agents.

Service level as Asterisk's app_queue reports it (`servicelevel` in queues.conf; see
docs/decisions.md), for the `contact-center` report:

- A contact is **within the threshold** when its wait is at most the queue's threshold: the
  seconds of its configured `target` ("80/20" -> 20 s), else `DEFAULT_THRESHOLD_S`.
- **SL** = answered within the threshold / answered.
- **SL2** = (answered within + abandoned within) / (answered + abandoned).
- A **short abandon** is an abandoned contact whose wait was under `SHORT_ABANDON_S`: counted
  apart, and still an abandon (Asterisk has no such notion, so it stays in SL2 as Asterisk
  counts it: abandoned within the threshold, in the numerator and the denominator).
- A **callback requested** is a live contact whose outcome is `callback_requested`; it is
  **kept** when the agent's outbound call back is in the log (its id is the contact's plus
  `CALLBACK_ID_SUFFIX`).
- **Transfers** are the `transfers` property of a contact: how often it was handed on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
TRANSFERS_PROPERTY: Final[str] = "transfers"
HOLD_PROPERTY: Final[str] = "hold_s"  # seconds on hold, where the front end reported them
WRAPUP_PROPERTY: Final[str] = "wrapup_s"  # seconds of wrap-up after the contact

# A routed contact's interaction in the log is CONTACT_ID_PREFIX + the router's contact id; a
# survey answer naming that contact (properties.contact_id) is credited to its agent and queue.
CONTACT_ID_PREFIX: Final[str] = "cc-"
CONTACT_PROPERTY: Final[str] = "contact_id"
CALLBACK_REQUESTED: Final[str] = "callback_requested"  # the outcome of a contact turned callback
CALLBACK_ID_SUFFIX: Final[str] = "-callback"  # the outbound call back's id: the contact's + this
DEFAULT_THRESHOLD_S: Final[float] = 20.0  # a queue without a configured target: the classic 80/20
SHORT_ABANDON_S: Final[float] = 5.0  # an abandon after a shorter wait is a short abandon


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


def is_callback_requested(outcome: str | None) -> bool:
    """A live contact the customer turned into a callback (neither answered nor abandoned)."""
    return outcome == CALLBACK_REQUESTED


def is_short_abandon(outcome: str | None, wait_s: float | None) -> bool:
    """An abandon after a wait under SHORT_ABANDON_S (still an abandon)."""
    return is_abandoned(outcome) and wait_s is not None and wait_s < SHORT_ABANDON_S


def is_within(wait_s: float | None, threshold_s: float) -> bool:
    """The wait is at most the threshold (Asterisk: `(now - qe->start) <= servicelevel`)."""
    return wait_s is not None and wait_s <= threshold_s


def service_level(answered_within: int, answered: int) -> float | None:
    """Asterisk's SL: answered within the threshold / answered (None when nothing was answered)."""
    return answered_within / answered if answered else None


def service_level_2(
    answered_within: int, abandoned_within: int, answered: int, abandoned: int
) -> float | None:
    """Asterisk's SL2: (answered within + abandoned within) / (answered + abandoned)."""
    whole = answered + abandoned
    return (answered_within + abandoned_within) / whole if whole else None


@dataclass(frozen=True)
class CenterTerms:
    """What the contact-center configuration says the reports need: each queue's service-level
    threshold (the seconds of its target) and each agent's team. Empty without a configuration."""

    thresholds: Mapping[str, float] = field(default_factory=dict)
    teams: Mapping[str, str | None] = field(default_factory=dict)

    def threshold(self, queue: str | None) -> float:
        """The queue's threshold, else DEFAULT_THRESHOLD_S."""
        return self.thresholds.get(queue or "", DEFAULT_THRESHOLD_S)


# --- occupancy ------------------------------------------------------------------------------------

LOGGED_OUT: Final[str] = "logged_out"
LOGGED_IN_STATES: Final[tuple[str, ...]] = ("ready", "not_ready", "wrap_up")
CONTACT_TAKEN: Final[tuple[str, ...]] = ("accepted",)  # the agent took it: busy from here
CONTACT_LEFT: Final[tuple[str, ...]] = ("completed", "transferred")  # no longer theirs
WRAP_UP: Final[str] = "wrap_up"


@dataclass(frozen=True)
class AgentEvent:
    """One step of an agent's day as the router's event trail records it: a state change
    (ready, not_ready, wrap_up with its seconds, logged_out), a contact taken (accepted) or left
    (completed, transferred). `order` breaks ties between steps at the same moment."""

    at: datetime
    order: int
    kind: str
    contact: str | None = None
    wrap_s: float | None = None


def agent_time(events: Sequence[AgentEvent], start: datetime, end: datetime) -> tuple[float, float]:
    """(logged-in seconds, busy seconds) of one agent in [start, end), from their steps in
    order (those before `start` say how the period began). **Logged in**: from a state change
    to ready, not ready or wrap-up until logging out. **Busy**: logged in with at least one
    contact taken and not yet left, or in wrap-up (its seconds, ended sooner by a change of
    state) — contacts at once (three chats) count once. **Occupancy** = busy / logged in
    (not-ready time counts as logged in: breaks lower it)."""
    totals = [0.0, 0.0]
    inside = False
    wrap_end: datetime | None = None
    holding: set[str] = set()
    moment = start
    for event in sorted(events, key=lambda e: (e.at, e.order)):
        if event.at >= end:
            break
        if event.at > moment:
            _count(totals, moment, event.at, start, inside, bool(holding), wrap_end)
            moment = event.at
        if event.kind in CONTACT_TAKEN and event.contact:
            holding.add(event.contact)
        elif event.kind in CONTACT_LEFT and event.contact:
            holding.discard(event.contact)
        elif event.kind == LOGGED_OUT:
            inside, wrap_end = False, None
        elif event.kind == WRAP_UP:
            # a second contact ended during a wrap-up: the longer of the two after-works
            inside = True
            ends = event.at + timedelta(seconds=event.wrap_s or 0.0)
            wrap_end = ends if wrap_end is None or wrap_end <= event.at else max(wrap_end, ends)
        elif event.kind in LOGGED_IN_STATES:
            inside, wrap_end = True, None
    _count(totals, moment, end, start, inside, bool(holding), wrap_end)
    return totals[0], totals[1]


def _count(
    totals: list[float],
    since: datetime,
    until: datetime,
    start: datetime,
    inside: bool,
    holding: bool,
    wrap_end: datetime | None,
) -> None:
    """Add the span [since, until), cut at `start`, to the logged-in and busy totals."""
    since = max(since, start)
    if not inside or until <= since:
        return
    totals[0] += (until - since).total_seconds()
    if holding:
        totals[1] += (until - since).total_seconds()
    elif wrap_end is not None and wrap_end > since:
        totals[1] += (min(until, wrap_end) - since).total_seconds()


def occupancy(logged_in_s: float, busy_s: float) -> float | None:
    """Busy time / logged-in time (None without logged-in time)."""
    return busy_s / logged_in_s if logged_in_s > 0 else None
