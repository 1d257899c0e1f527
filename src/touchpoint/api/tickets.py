"""Tickets (cases) over HTTP: open one, list and read them with their SLA clocks, an agent's
public reply, a status change (solved, reopened, pending on the customer…), an assignment, and
the ticket-based first-contact resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses, read_moment
from touchpoint.domain.sla import CLOCK_STATES
from touchpoint.domain.tickets import DEFAULT_PRIORITY, PRIORITIES, STATUSES
from touchpoint.domain.vocabulary import CHANNELS
from touchpoint.errors import ValidationError
from touchpoint.ingest.schema import CustomerRef
from touchpoint.services import contact_center
from touchpoint.services import tickets as service
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("tickets.read")]
Writer = Annotated[Principal, allowed("tickets.write")]

router = APIRouter(
    prefix="/v1/tickets", tags=["tickets"], responses=error_responses(401, 403, 404, 409, 422)
)

TicketId = Annotated[str, Path(pattern=r"^tkt_[0-9a-f]{16}$", description="A ticket's id")]


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    queue: str = Field(max_length=40, description="A queue of the contact center's configuration")
    channel: str = Field(description=f"Where the issue came in; one of: {', '.join(CHANNELS)}")
    customer: CustomerRef
    priority: str = Field(DEFAULT_PRIORITY, description=f"One of: {', '.join(PRIORITIES)}")
    owner: str | None = Field(None, max_length=40, description="An agent of the configuration")
    external_ref: str | None = Field(
        None, max_length=200, description="Your own id for it; interactions may name it"
    )


class ClockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="first_response, next_response or resolution")
    cycle: int = Field(description="1, then a new cycle at each reopen (or agent reply)")
    state: str = Field(description=f"One of: {', '.join(CLOCK_STATES)}")
    target_s: float = Field(description="The target, in business seconds")
    elapsed_s: float = Field(description="Business seconds used")
    remaining_s: float = Field(description="Business seconds left (negative: overdue)")
    due_at: datetime | None = Field(description="When it breaches (none while paused or met)")
    started_at: datetime
    stopped_at: datetime | None


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    external_ref: str | None
    subject: str
    status: str = Field(description=f"One of: {', '.join(STATUSES)}")
    priority: str
    queue: str | None
    channel: str
    owner: str | None
    customer_id: str | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    replies: int
    breached: bool = Field(description="Whether a clock of the current cycle is breached")
    first_contact_resolution: bool | None = Field(
        description="Solved with no inbound contact on it within 7 days (null: not yet known)"
    )
    clocks: list[ClockOut]
    interactions: list[str] = Field(description="Ids of the log's interactions on this ticket")


class TicketList(BaseModel):
    total: int
    items: list[TicketOut]


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(max_length=40, description="The agent replying")
    status: str | None = Field(None, description="Then move it: pending, solved… (new → open)")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description=f"One of: {', '.join(STATUSES)}")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(max_length=40, description="An agent, or null for nobody")


class FcrOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    solved: int
    resolved_first_contact: int
    not_resolved_first_contact: int
    undecided: int
    window_s: float
    rate: float | None


def _out(view: service.TicketView) -> TicketOut:
    return TicketOut.model_validate(view)


@router.post("", response_model=TicketOut, status_code=201, summary="Open a ticket")
def open_ticket(tp: TouchpointDep, who: Writer, body: Annotated[TicketIn, Body()]) -> TicketOut:
    """A new ticket in a queue: its first-response and resolution clocks start (the SLA policy
    of its queue and priority, in the queue's business hours), and a `ticket_opened` interaction
    is written to the customer's timeline."""
    identity = body.customer.model_dump(exclude_none=True, exclude_defaults=True)
    return _out(
        service.open_ticket(
            tp,
            subject=body.subject,
            queue=body.queue,
            channel=body.channel,
            identity=identity,
            priority=body.priority,
            owner=body.owner,
            external_ref=body.external_ref,
            actor=who.actor,
        )
    )


@router.get("", response_model=TicketList, summary="Find tickets")
def list_tickets(
    tp: TouchpointDep,
    _who: Reader,
    status: Annotated[str | None, Query(description=f"One of: {', '.join(STATUSES)}")] = None,
    queue: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=40)] = None,
    breached: Annotated[bool | None, Query(description="A clock breached in this cycle")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketList:
    """Newest first, with their clocks."""
    total, views = service.find(
        tp, status=status, queue=queue, owner=owner, breached=breached, limit=limit, offset=offset
    )
    return TicketList(total=total, items=[_out(v) for v in views])


@router.get("/fcr", response_model=FcrOut, summary="First-contact resolution")
def fcr(
    tp: TouchpointDep,
    _who: Reader,
    from_: Annotated[str, Query(alias="from", description="A date or ISO date-time")],
    to: Annotated[str, Query(description="A date or ISO date-time (excluded)")],
    window: Annotated[str, Query(description="How long a solve must hold: 7d, 72h")] = "7d",
) -> FcrOut:
    """Of the tickets first solved in [from, to): how many had no inbound contact on them within
    `window` (resolved at first contact), how many did, and how many cannot tell yet."""
    start, end = read_moment(from_, "from"), read_moment(to, "to")
    if start is None or end is None:
        raise ValidationError("from and to: give both moments")
    summary = service.fcr_summary(
        tp, start=start, end=end, window_s=service.span_seconds(window, "window")
    )
    return FcrOut(rate=summary.rate, **summary.__dict__)


@router.get("/{ticket_id}", response_model=TicketOut, summary="A ticket and its clocks")
def get_ticket(tp: TouchpointDep, _who: Reader, ticket_id: TicketId) -> TicketOut:
    """The ticket, its SLA clocks (target, due, business seconds remaining, state) and the
    interactions linked to it."""
    return _out(service.get(tp, ticket_id))


@router.post("/{ticket_id}/reply", response_model=TicketOut, summary="An agent's public reply")
def reply(
    tp: TouchpointDep, who: Writer, ticket_id: TicketId, body: Annotated[ReplyIn, Body()]
) -> TicketOut:
    """Meets the first response, starts the next response's new cycle (the resolution clock runs
    on), and is written to the log as the agent's outbound message; then the ticket moves to
    `status` if given. An agent replies only as themselves."""
    contact_center.check_acting(tp, who, body.agent)
    return _out(service.reply(tp, ticket_id, agent=body.agent, status=body.status, actor=who.actor))


@router.post("/{ticket_id}/status", response_model=TicketOut, summary="Change its status")
def set_status(
    tp: TouchpointDep, who: Writer, ticket_id: TicketId, body: Annotated[StatusIn, Body()]
) -> TicketOut:
    """pending pauses the clocks, solved stops them, solved → open reopens (counted, the
    resolution clock restarts), closed is final (409 for a move the ticket cannot take)."""
    return _out(service.set_status(tp, ticket_id, body.status, actor=who.actor))


@router.post("/{ticket_id}/assign", response_model=TicketOut, summary="Give it to an agent")
def assign(
    tp: TouchpointDep, who: Writer, ticket_id: TicketId, body: Annotated[AssignIn, Body()]
) -> TicketOut:
    """The ticket's owner: an agent of the configuration, or null."""
    return _out(service.assign(tp, ticket_id, body.owner, actor=who.actor))
