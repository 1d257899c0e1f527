"""Outbound campaigns over HTTP, for a dialer front end (Asterisk, FreeSWITCH) and agents'
desktops: create a campaign and its list, read campaigns, ask for the next records to dial
(checked right then), put an answered progressive/predictive call through to an agent, give
each call's VICIdial disposition, pause and resume."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.domain.outbound import DISPOSITIONS, PACINGS
from touchpoint.services import contact_center as center
from touchpoint.services import outbound as service
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("cc.read")]
Dialler = Annotated[Principal, allowed("cc.route")]
Writer = Annotated[Principal, allowed("campaigns.write")]

router = APIRouter(
    prefix="/v1/cc/campaigns",
    tags=["contact center"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)

CampaignRef = Annotated[
    str,
    Path(pattern=r"^[^\x00-\x1f]{1,200}$", description="A campaign's id (cmp_…) or name"),
]
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
AttemptId = Annotated[str, Path(pattern=r"^att_[0-9a-f]{16}$", description="An attempt's id")]


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["stage", "abandoned_carts", "customers"] = Field(
        description="Customers in a lifecycle stage, those who abandoned a cart in the last "
        "`hours` without buying since, or customers by id"
    )
    stage: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,40}$", description="For kind=stage, e.g. at_risk"
    )
    hours: float | None = Field(None, gt=0, le=24 * 90, description="For abandoned_carts (24)")
    customer_ids: list[CustomerId] | None = Field(None, max_length=100_000)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[^\x00-\x1f]{1,200}$", description="Unique")
    queue: str = Field(max_length=40, description="The queue whose agents make the calls")
    audience: AudienceIn | None = Field(None, description="Where the list comes from …")
    csv: str | None = Field(
        None, max_length=20_000_000, description="… or a CSV text with a phone column"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description=f"pacing ({', '.join(PACINGS)}; default preview), window ([start, end] "
        "local time, default 09:00-20:00), consent (opt_in, opt_out), purpose (marketing), "
        "retry ({outcome: {max_attempts, spacing_s}}), drop_cap (<= 0.03), max_ratio",
    )


class NextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(
        None, max_length=40, description="A preview campaign: the agent asking (required)"
    )


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: str = Field(max_length=10, description=f"One of: {', '.join(DISPOSITIONS)}")
    agent: str | None = Field(None, max_length=40, description="Who spoke to the person")
    duration_s: float | None = Field(None, ge=0, le=86_400, description="Talk time")
    callback_at: AwareDatetime | None = Field(None, description="CALLBK: when to call back")


class ConnectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(
        min_length=1, max_length=40, description="The free agent of the campaign's queue"
    )


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    queue: str
    status: str
    pacing: str
    settings: dict[str, Any]
    source: dict[str, Any]
    created_at: datetime
    created_by: str
    records: dict[str, int] = Field(description="open, and closed by reason")
    attempts: dict[str, int] = Field(description="dialling, ended, refused:<reason>")
    dialled_30d: int
    human_30d: int = Field(description="Calls answered by a person in the last 30 days")
    drops_30d: int
    answer_rate: float | None
    drop_rate: float | None = Field(description="drops / answered by a person, 30 days")


class SkippedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int
    reason: str


class CreatedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    campaign: CampaignOut
    added: int
    skipped: list[SkippedOut]


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str
    name: str | None
    customer_id: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_disposition: str | None
    last_outcome: str | None
    closed_reason: str | None


class DetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    campaign: CampaignOut
    records: list[RecordOut]


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: str
    record_id: int
    phone: str
    name: str | None
    customer_id: str | None
    agent: str | None
    attempt: int


class RefusalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: str
    record_id: int
    phone: str
    reason: str
    retry_at: datetime | None


class PacingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lines: int
    reason: str
    answer_rate: float | None
    drop_rate: float | None
    projected_drop_rate: float | None


class HandoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    campaign_id: str
    pacing: PacingOut
    free_agents: int
    dialling: int
    calls: list[CallOut]
    refused: list[RefusalOut] = Field(description="Records not dialled, each with its reason")


class OutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: str
    disposition: str
    outcome: str
    agent: str | None
    retry_at: datetime | None
    closed_reason: str | None
    repeated: bool = Field(description="The same outcome was given before: nothing changed")


@router.post("", response_model=CreatedOut, status_code=201, summary="Create a campaign")
def create_campaign(
    tp: TouchpointDep, who: Writer, body: Annotated[CampaignIn, Body()]
) -> CreatedOut:
    """A campaign and its dialer list, from an audience or a CSV (give one). Customers without a
    phone and CSV lines without a usable number are skipped, each named in `skipped`."""
    audience = body.audience.model_dump(exclude_none=True) if body.audience else None
    created = service.create_campaign(
        tp,
        name=body.name,
        queue=body.queue,
        settings=body.settings,
        source=audience,
        csv_text=body.csv,
        actor=who.actor,
    )
    return CreatedOut.model_validate(created)


@router.get("", response_model=list[CampaignOut], summary="Campaigns")
def list_campaigns(tp: TouchpointDep, _who: Reader) -> list[CampaignOut]:
    """Every campaign with its records by state, attempts, and 30-day answer and drop rates."""
    return [CampaignOut.model_validate(c) for c in service.campaigns(tp)]


@router.get("/{campaign}", response_model=DetailOut, summary="A campaign")
def get_campaign(tp: TouchpointDep, _who: Reader, campaign: CampaignRef) -> DetailOut:
    """A campaign and its first records."""
    return DetailOut.model_validate(service.campaign(tp, campaign))


@router.post("/{campaign}/next", response_model=HandoutOut, summary="The next records to dial")
def next_records(
    tp: TouchpointDep,
    who: Dialler,
    campaign: CampaignRef,
    body: Annotated[NextIn | None, Body()] = None,
) -> HandoutOut:
    """Preview: one record for the agent asking. Progressive: one per free agent of the queue;
    predictive: as many as the answer rate allows under the 3 % drop cap — less the calls still
    ringing. Each record is checked now (attempts, spacing, suppression, do-not-call, consent
    for calls, the callee's local hours): a refused one is in `refused` with its reason."""
    agent = body.agent if body else None
    found = service.campaign_id(tp, campaign)
    center.check_acting(tp, who, agent)  # an agent asks only for themselves, in preview
    return HandoutOut.model_validate(service.next_calls(tp, found, agent=agent))


@router.post(
    "/{campaign}/attempts/{attempt_id}/outcome",
    response_model=OutcomeOut,
    summary="How a call ended",
)
def outcome(
    tp: TouchpointDep,
    who: Dialler,
    campaign: CampaignRef,
    attempt_id: AttemptId,
    body: Annotated[OutcomeIn, Body()],
) -> OutcomeOut:
    """A VICIdial disposition for the call: the record is retried (per the outcome's rule) or
    closed, and the call is written to the interaction log once. Sending the same outcome
    again changes nothing (`repeated`); another one is 409."""
    center.check_acting(tp, who, body.agent)
    done = service.record_outcome(
        tp,
        attempt_id,
        disposition=body.disposition,
        agent=body.agent,
        duration_s=body.duration_s,
        callback_at=body.callback_at,
        campaign_ref=campaign,
    )
    return OutcomeOut.model_validate(done)


@router.post(
    "/{campaign}/attempts/{attempt_id}/connect",
    response_model=CallOut,
    summary="Put an answered call through to an agent",
)
def connect(
    tp: TouchpointDep,
    who: Dialler,
    campaign: CampaignRef,
    attempt_id: AttemptId,
    body: Annotated[ConnectIn, Body()],
) -> CallOut:
    """Progressive and predictive: a call a person answered goes to `agent`, who must be ready
    with room for a call in the campaign's queue (409 otherwise); they hold it (no inbound
    offer) until its outcome. The same call put through to the same agent again is answered
    the same; to another agent it is 409. An unknown attempt is 404, an unknown agent 422."""
    center.check_acting(tp, who, body.agent)
    put = service.connect_call(tp, attempt_id, body.agent, campaign_ref=campaign)
    return CallOut.model_validate(put)


@router.post("/{campaign}/pause", response_model=CampaignOut, summary="Pause a campaign")
def pause(tp: TouchpointDep, _who: Writer, campaign: CampaignRef) -> CampaignOut:
    """Nothing more is handed out; calls in progress still take their outcome."""
    return CampaignOut.model_validate(service.set_status(tp, campaign, "paused"))


@router.post("/{campaign}/resume", response_model=CampaignOut, summary="Resume a campaign")
def resume(tp: TouchpointDep, _who: Writer, campaign: CampaignRef) -> CampaignOut:
    """Records are handed out again."""
    return CampaignOut.model_validate(service.set_status(tp, campaign, "active"))
