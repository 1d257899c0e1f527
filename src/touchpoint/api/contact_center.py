"""The contact center over HTTP, for a telephony or chat front end (Asterisk, FreeSWITCH, a web
chat widget) and agents' desktops: the configuration, offering contacts, agents' states,
accepting, declining, completing and abandoning contacts, and the live picture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.contact_center.router import AGENT_COMMANDS, Offered
from touchpoint.domain.vocabulary import CHANNELS
from touchpoint.ingest.schema import CustomerRef
from touchpoint.services import contact_center as service
from touchpoint.services.access import Principal

Router = Annotated[Principal, allowed("cc.route")]
Reader = Annotated[Principal, allowed("cc.read")]
Configurer = Annotated[Principal, allowed("cc.config")]

router = APIRouter(
    prefix="/v1/cc",
    tags=["contact center"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)

ContactId = Annotated[str, Path(pattern=r"^con_[0-9a-f]{16}$", description="A contact's id")]
AgentId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="An agent's id")]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str = Field(max_length=40, description="The queue it is for")
    channel: str = Field(description=f"One of: {', '.join(CHANNELS)}")
    customer: CustomerRef
    language: str | None = Field(None, max_length=20, description="e.g. en, pt")
    external_ref: str | None = Field(
        None,
        max_length=200,
        description="The front end's id for it (a call's uniqueid): offering it again answers "
        "the same contact",
    )


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str = Field(description="waiting, reserved (offered to `agent`), assigned, …")
    queue: str
    agent: str | None = Field(description="The agent it is offered or assigned to")
    lease_until: datetime | None = Field(description="An offer not accepted by then goes back")
    position: int | None = Field(description="Place in line while waiting (1 = next)")
    estimated_wait_s: float | None
    rules: list[str] = Field(description="Routing rules that applied (retention team, VIP …)")
    decision: dict[str, Any] | None = Field(
        description="Why it went where it went: strategy, candidates, reason"
    )


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(max_length=40, description="The agent acting")


class CompleteIn(AgentIn):
    outcome: str | None = Field(None, max_length=40, description="e.g. resolved, sale, escalated")
    hold_s: float | None = Field(
        None,
        ge=0,
        le=86_400,
        description="Seconds the customer spent on hold, if the front end knows (part of the "
        "handle time; at most the time with the agent)",
    )


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str = Field(description=f"One of: {', '.join(AGENT_COMMANDS)}")
    reason: str | None = Field(None, max_length=200, description="Why not ready: break, lunch …")


class StateOut(BaseModel):
    agent: str
    state: str


class AppliedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    queues: int
    agents: int
    rules: int


def _out(offered: Offered) -> ContactOut:
    return ContactOut.model_validate(offered)


@router.put("/config", response_model=AppliedOut, summary="Apply a configuration")
def put_config(
    tp: TouchpointDep, who: Configurer, document: Annotated[dict[str, Any], Body()]
) -> AppliedOut:
    """The whole configuration (queues, agents, rules) as JSON — the same document as the TOML
    file `touchpoint cc config apply` reads. Validated as a whole: every problem is listed and
    nothing changes, or it is in force from the next request on."""
    return AppliedOut.model_validate(service.apply_config(tp, document=document, actor=who.actor))


@router.get("/config", summary="The configuration in force")
def get_config(tp: TouchpointDep, _who: Reader) -> dict[str, Any]:
    """The configuration in force and its version."""
    return service.config_document(tp)


@router.post("/contacts", response_model=ContactOut, status_code=201, summary="Offer a contact")
def offer_contact(tp: TouchpointDep, who: Router, body: Annotated[ContactIn, Body()]) -> ContactOut:
    """A call, chat or message arrives: it is offered to an agent at once (status `reserved`,
    with `agent` and `lease_until`: the agent accepts before then or it goes back to the head
    of the line) or waits (status `waiting`, with its `position` and an estimated wait).
    Routing knows the customer: their lifecycle stage, traits and last agent feed the rules."""
    service.check_acting(tp, who, None)
    identity = body.customer.model_dump(exclude_none=True, exclude_defaults=True)
    return _out(
        service.offer(
            tp,
            queue=body.queue,
            channel=body.channel,
            identity=identity,
            language=body.language,
            external_ref=body.external_ref,
        )
    )


@router.get("/contacts/{contact_id}", response_model=ContactOut, summary="A contact now")
def get_contact(tp: TouchpointDep, _who: Router, contact_id: ContactId) -> ContactOut:
    """Where the contact stands: waiting (position, estimated wait), offered, assigned, ended."""
    return _out(service.contact(tp, contact_id))


@router.post("/contacts/{contact_id}/accept", response_model=ContactOut, summary="Accept an offer")
def accept(
    tp: TouchpointDep, who: Router, contact_id: ContactId, body: Annotated[AgentIn, Body()]
) -> ContactOut:
    """The agent takes the contact offered to them (409 if the offer expired or is not theirs)."""
    service.check_acting(tp, who, body.agent)
    return _out(service.accept(tp, contact_id, body.agent))


@router.post("/contacts/{contact_id}/decline", response_model=ContactOut, summary="Decline")
def decline(
    tp: TouchpointDep, who: Router, contact_id: ContactId, body: Annotated[AgentIn, Body()]
) -> ContactOut:
    """The agent turns the offer down: it goes back to its place, the agent to not ready."""
    service.check_acting(tp, who, body.agent)
    return _out(service.decline(tp, contact_id, body.agent))


@router.post("/contacts/{contact_id}/complete", response_model=ContactOut, summary="End it")
def complete(
    tp: TouchpointDep, who: Router, contact_id: ContactId, body: Annotated[CompleteIn, Body()]
) -> ContactOut:
    """The agent ends the contact; wrap-up starts (no offer from any queue until it ends). The
    contact is written to the interaction log with its wait, talk, hold and wrap-up seconds and
    agent."""
    service.check_acting(tp, who, body.agent)
    return _out(service.complete(tp, contact_id, body.agent, body.outcome, hold_s=body.hold_s))


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(
        None,
        description="Not before this moment (inside the queue's business hours); omitted: "
        "when the customer's turn comes",
    )


class TransferIn(AgentIn):
    to_queue: str | None = Field(None, max_length=40, description="Another queue")
    to_agent: str | None = Field(
        None, max_length=40, description="An agent, who gets it first for a minute"
    )


@router.post("/contacts/{contact_id}/callback", response_model=ContactOut, summary="Call back")
def callback(
    tp: TouchpointDep, who: Router, contact_id: ContactId, body: Annotated[CallbackIn, Body()]
) -> ContactOut:
    """The waiting customer asks to be called back and hangs up: they keep their place in line
    (never ahead of those waiting before them) and are offered to an agent when their turn
    comes, or not before `at`."""
    service.check_acting(tp, who, None)
    return _out(service.callback(tp, contact_id, body.at))


@router.post("/contacts/{contact_id}/transfer", response_model=ContactOut, summary="Transfer")
def transfer(
    tp: TouchpointDep, who: Router, contact_id: ContactId, body: Annotated[TransferIn, Body()]
) -> ContactOut:
    """Hand the contact on to another queue or agent, keeping its place in line and its
    history; the agent goes into wrap-up as after any contact."""
    service.check_acting(tp, who, body.agent)
    return _out(
        service.transfer(tp, contact_id, body.agent, to_queue=body.to_queue, to_agent=body.to_agent)
    )


@router.post("/contacts/{contact_id}/abandon", response_model=ContactOut, summary="Abandoned")
def abandon(tp: TouchpointDep, who: Router, contact_id: ContactId) -> ContactOut:
    """The customer hung up while waiting (or while it was being offered)."""
    service.check_acting(tp, who, None)
    return _out(service.abandon(tp, contact_id))


@router.post("/agents/{agent_id}/state", response_model=StateOut, summary="An agent's state")
def agent_state(
    tp: TouchpointDep, who: Router, agent_id: AgentId, body: Annotated[StateIn, Body()]
) -> StateOut:
    """login (then not ready), ready, not_ready (with a reason), logout. Going ready offers the
    agent the longest-waiting, highest-priority contact they may take."""
    service.check_acting(tp, who, agent_id)
    return StateOut(
        agent=agent_id, state=service.agent_state(tp, agent_id, body.state, body.reason)
    )


@router.get("/live", summary="Queues and agents now")
def live(tp: TouchpointDep, _who: Reader) -> dict[str, Any]:
    """Each queue's waiting contacts, longest wait, contacts in progress, agents by state and
    figures `today` (offered, answered, abandoned, short abandons, SL, SL2, abandonment); each
    agent's state, team and load; `sla_breaches` per queue (`open`: tickets not solved with a
    breached clock; `today`: breaches whose deadline fell today, UTC); `seq`, the event
    trail's position. The same picture the stream sends."""
    return service.wallboard(tp)


HEARTBEAT_S = 15  # a comment line this often keeps proxies from closing a quiet stream


@router.get(
    "/live/stream",
    response_class=EventSourceResponse,
    summary="Queues and agents as they change (Server-Sent Events)",
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream"}},
)
async def live_stream(
    request: Request,
    tp: TouchpointDep,
    _who: Reader,
    interval_ms: Annotated[
        int, Query(ge=200, le=60_000, description="How often the server looks (milliseconds)")
    ] = 1000,
) -> EventSourceResponse:
    """A wallboard's stream (`text/event-stream`): a `snapshot` event at once, then an `update`
    event whenever the picture changes — each the whole picture as JSON: `GET /v1/cc/live`'s
    queues (waiting, longest wait, in progress, agents by state) and agents, each queue's
    figures `today` (offered, answered, abandoned, short abandons, SL, SL2, abandonment),
    `seq` (the event trail's position, also the event's id) and `sla_breaches` (per queue:
    open tickets breached now, breaches today). The server
    looks every `interval_ms` without holding a database connection in between; a comment
    line every 15 s keeps proxies open. The stream ends when the client goes."""
    first = await anyio.to_thread.run_sync(service.wallboard, tp)  # a 409 before any stream
    pause = interval_ms / 1000

    async def events() -> AsyncIterator[ServerSentEvent]:
        shown = first
        yield _event("snapshot", first)
        while not await request.is_disconnected():
            await anyio.sleep(pause)
            picture = await anyio.to_thread.run_sync(service.wallboard, tp)
            if service.wallboard_changed(shown, picture):
                shown = picture
                yield _event("update", picture)

    return EventSourceResponse(events(), ping=HEARTBEAT_S)


def _event(kind: str, picture: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=orjson.dumps(picture).decode(), event=kind, id=str(picture["seq"]))
