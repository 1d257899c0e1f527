"""Tickets (cases), defined once: their statuses and the moves between them, their priorities,
what each change does to the SLA clocks (domain/sla.py), and the ticket-based first-contact
resolution. Pure; services/tickets.py keeps the state.

- Statuses: new (nobody answered yet), open, pending (waiting on the customer: the SLA clocks
  pause), on_hold (waiting on someone else: the clocks run), solved, closed (final).
- Moves: any active status (new, open, pending, on_hold) to another active one or to solved;
  solved to open (a **reopen**, counted) or to closed; nothing from closed, nor back to new.
- The clocks: a ticket opens with its first-response and resolution clocks (of the SLA policy of
  its queue and priority). An agent's public reply meets the first response and starts a new
  cycle of the next response (the next reply is due within its target); it never touches the
  resolution clock. Pending pauses every running clock, leaving pending resumes them. Solving
  stops every clock (met, or breached if overdue). A reopen starts new cycles of the resolution
  and the next response; the first response, once met, stays met.
- **First-contact resolution (ticket-based)**: a ticket is FCR when it was solved and no inbound
  contact linked to it came within FCR_WINDOW_S (7 days; callers may pass another window) after
  its first solve; undecided (None) until the window has passed, not FCR if it was never solved.
  The flag-based terms in domain/contact_center.py (the `first_contact_resolution` property of
  `ticket_resolved` interactions and answered live contacts) are what the analytics reports
  (kpis, service-levels, agents) count; this definition is what the tickets' own summary counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

from touchpoint.domain.calendar import BusinessCalendar
from touchpoint.domain.sla import (
    CLOCKS,
    NEXT_RESPONSE,
    RESOLUTION,
    Clock,
    SlaPolicy,
    pause,
    resume,
    start,
    stop,
)

NEW: Final = "new"
OPEN: Final = "open"
PENDING: Final = "pending"
ON_HOLD: Final = "on_hold"
SOLVED: Final = "solved"
CLOSED: Final = "closed"
STATUSES: Final[tuple[str, ...]] = (NEW, OPEN, PENDING, ON_HOLD, SOLVED, CLOSED)
ACTIVE_STATUSES: Final[tuple[str, ...]] = (NEW, OPEN, PENDING, ON_HOLD)
PAUSED_STATUSES: Final[tuple[str, ...]] = (PENDING,)  # pending on the customer

PRIORITIES: Final[tuple[str, ...]] = ("low", "normal", "high", "urgent")
DEFAULT_PRIORITY: Final = "normal"

FCR_WINDOW_S: Final[float] = 7 * 86_400.0
TICKET_ID_PROPERTY: Final = "ticket_id"  # an interaction's property naming its ticket

Clocks = Mapping[str, Clock]


class TicketError(ValueError):
    """A change a ticket cannot take; the message says why."""


def allowed_moves(status: str) -> tuple[str, ...]:
    """The statuses a ticket in `status` may move to."""
    if status in ACTIVE_STATUSES:
        return tuple(s for s in (OPEN, PENDING, ON_HOLD, SOLVED) if s != status)
    if status == SOLVED:
        return (OPEN, CLOSED)
    return ()


def check_move(old: str, new: str) -> None:
    """TicketError unless a ticket in `old` may move to `new`."""
    if new not in STATUSES:
        raise TicketError(f"status: unknown status {new!r}; allowed: {', '.join(STATUSES)}")
    if new not in allowed_moves(old):
        moves = allowed_moves(old)
        raise TicketError(
            f"status: a {old} ticket cannot become {new}"
            + (f" (it may become {', '.join(moves)})" if moves else f" ({old} is final)")
        )


def is_reopen(old: str, new: str) -> bool:
    return old == SOLVED and new in ACTIVE_STATUSES


def check_priority(priority: str) -> None:
    if priority not in PRIORITIES:
        raise TicketError(
            f"priority: unknown priority {priority!r}; allowed: {', '.join(PRIORITIES)}"
        )


# -- what changes do to the clocks -----------------------------------------------------------------


def opened_clocks(policy: SlaPolicy | None, status: str, at: datetime) -> dict[str, Clock]:
    """The clocks a ticket opens with: first response and resolution, if the policy has them."""
    if policy is None:
        return {}
    running = status not in PAUSED_STATUSES
    clocks = {}
    for name in CLOCKS:
        target = policy.target(name)
        if name != NEXT_RESPONSE and target is not None:
            clocks[name] = start(name, 1, target, policy.warn_at, at, running=running)
    return clocks


def after_reply(
    clocks: Clocks,
    policy: SlaPolicy | None,
    status: str,
    at: datetime,
    calendar: BusinessCalendar,
) -> dict[str, Clock]:
    """An agent's public reply at `at`, the ticket in `status`: the first response and the
    current next response end, a new next-response cycle starts; resolution runs on."""
    changed = dict(clocks)
    for name, clock in clocks.items():
        if name != RESOLUTION:
            changed[name] = stop(clock, at, calendar)
    target = policy.target(NEXT_RESPONSE) if policy else None
    if policy is not None and target is not None and status in ACTIVE_STATUSES:
        previous = clocks.get(NEXT_RESPONSE)
        cycle = previous.cycle + 1 if previous else 1
        changed[NEXT_RESPONSE] = start(
            NEXT_RESPONSE, cycle, target, policy.warn_at, at, running=status not in PAUSED_STATUSES
        )
    return changed


def after_move(
    clocks: Clocks,
    policy: SlaPolicy | None,
    old: str,
    new: str,
    at: datetime,
    calendar: BusinessCalendar,
) -> dict[str, Clock]:
    """A move from `old` to `new` at `at` (check_move passed)."""
    if new in (SOLVED, CLOSED):
        return {name: stop(clock, at, calendar) for name, clock in clocks.items()}
    if is_reopen(old, new):
        return _reopened(clocks, policy, new, at)
    if new in PAUSED_STATUSES:
        return {name: pause(clock, at, calendar) for name, clock in clocks.items()}
    return {name: resume(clock, at) for name, clock in clocks.items()}


def _reopened(clocks: Clocks, policy: SlaPolicy | None, new: str, at: datetime) -> dict[str, Clock]:
    changed = dict(clocks)
    if policy is None:
        return changed
    running = new not in PAUSED_STATUSES
    for name in (RESOLUTION, NEXT_RESPONSE):
        target = policy.target(name)
        if target is None:
            continue
        previous = clocks.get(name)
        cycle = previous.cycle + 1 if previous else 1
        changed[name] = start(name, cycle, target, policy.warn_at, at, running=running)
    return changed


# -- first-contact resolution ----------------------------------------------------------------------


def first_contact_resolution(
    first_solved_at: datetime | None,
    inbound_at: Iterable[datetime],
    now: datetime,
    window_s: float = FCR_WINDOW_S,
) -> bool | None:
    """Whether a ticket was resolved at first contact: solved, with no inbound contact linked to
    it within `window_s` after its first solve. None while undecided (the window still open at
    `now` and nothing came by then) or if it was never solved."""
    if first_solved_at is None:
        return None
    end = first_solved_at + timedelta(seconds=window_s)
    seen = min(end, now)  # as things stood at `now`: a later contact is not known yet
    if any(first_solved_at < at <= seen for at in inbound_at):
        return False
    return True if now >= end else None
