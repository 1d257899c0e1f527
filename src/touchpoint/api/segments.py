"""Segments over HTTP: save a rule (the segment language or its JSON form), preview its count,
list and read segments, page through members (pseudonymised for callers who may not see contact
details, as the customer list is), and the members' count over time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.domain.segments import MAX_NAME_LENGTH, MAX_RULE_LENGTH
from touchpoint.services import segments as service
from touchpoint.services.access import Principal

Lister = Annotated[Principal, allowed("customers.list")]
Counter = Annotated[Principal, allowed("analytics.read")]
Writer = Annotated[Principal, allowed("segments.write")]

router = APIRouter(
    prefix="/v1/segments", tags=["segments"], responses=error_responses(401, 403, 404, 422)
)

SegmentKey = Annotated[
    str, Path(min_length=1, max_length=MAX_NAME_LENGTH, description="The segment's id or name")
]
RULE_HELP = (
    "The rule: a string in the segment language (`purchased >= 2 times in last 90 days and "
    "consent email`) or its JSON form, an object (see docs/segments.md)"
)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str | dict[str, Any] = Field(description=RULE_HELP)


class SegmentIn(RuleIn):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    rule: str | None = Field(description="As written in the language (null: given as JSON)")
    rule_json: dict[str, Any] = Field(description="The rule's JSON form")
    members: int
    created_at: datetime
    created_by: str | None
    evaluated_at: datetime | None = Field(description="Everyone's membership is as of this")
    next_due: datetime | None = Field(description="When a rolling window next moves members")


class SegmentList(BaseModel):
    items: list[SegmentOut]


class PreviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    rule_json: dict[str, Any]
    members: int = Field(description="Customers the rule holds for now (nothing is saved)")
    at: datetime


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    entered_at: datetime
    name: str | None = Field(None, description="Only for callers who may see contact details")
    email: str | None = None
    phone: str | None = None


class MemberPageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    segment_id: str
    total: int
    items: list[MemberOut]
    next_after: str | None = Field(description="Pass as `after` for the next page")


class CountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    entered: int
    left: int
    members: int = Field(description="Members at the end of the day (UTC)")


class CountsOut(BaseModel):
    segment_id: str
    items: list[CountOut]


def _rule_length(body: RuleIn) -> None:
    if isinstance(body.rule, str) and len(body.rule) > MAX_RULE_LENGTH:
        from touchpoint.errors import ValidationError

        raise ValidationError(f"rule: at most {MAX_RULE_LENGTH} characters")


@router.get("", response_model=SegmentList, summary="Every segment")
def list_segments(tp: TouchpointDep, who: Lister) -> SegmentList:
    """Saved segments by name, with their members now."""
    views = service.list_segments(tp)
    return SegmentList(items=[SegmentOut.model_validate(v) for v in views])


@router.post(
    "",
    response_model=SegmentOut,
    status_code=201,
    summary="Save a segment",
    responses=error_responses(409),
)
def create_segment(
    tp: TouchpointDep, who: Writer, body: Annotated[SegmentIn, Body()]
) -> SegmentOut:
    """Save a rule under a name; its members are evaluated at once and kept current as events
    arrive and as time passes. A rule that does not parse is refused (422) naming the line and
    column; a name in use is 409."""
    _rule_length(body)
    view = service.create_segment(tp, name=body.name, rule=body.rule, actor=who.actor)
    return SegmentOut.model_validate(view)


@router.post("/preview", response_model=PreviewOut, summary="Count a rule's members")
def preview_segment(tp: TouchpointDep, who: Lister, body: Annotated[RuleIn, Body()]) -> PreviewOut:
    """How many customers the rule holds for now, before saving it."""
    _rule_length(body)
    return PreviewOut.model_validate(service.preview(tp, rule=body.rule))


@router.get("/{segment}", response_model=SegmentOut, summary="One segment")
def get_segment(tp: TouchpointDep, who: Lister, segment: SegmentKey) -> SegmentOut:
    return SegmentOut.model_validate(service.get_segment(tp, segment))


@router.delete("/{segment}", response_model=SegmentOut, summary="Delete a segment")
def delete_segment(tp: TouchpointDep, who: Writer, segment: SegmentKey) -> SegmentOut:
    """Forget the segment, its members and its history."""
    return SegmentOut.model_validate(service.delete_segment(tp, segment, actor=who.actor))


@router.get("/{segment}/members", response_model=MemberPageOut, summary="A segment's members")
def segment_members(
    tp: TouchpointDep,
    who: Lister,
    segment: SegmentKey,
    after: Annotated[
        str | None, Query(max_length=40, description="The last customer id of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> MemberPageOut:
    """Members by customer id, a page at a time; names, emails and phones only for callers
    who may see contact details (an analyst gets pseudonymous ids)."""
    page = service.members(
        tp, segment, after=after, limit=limit, contact_details=who.sees_contact_details
    )
    return MemberPageOut.model_validate(page)


@router.get("/{segment}/counts", response_model=CountsOut, summary="Members over time")
def segment_counts(
    tp: TouchpointDep,
    who: Counter,
    segment: SegmentKey,
    days: Annotated[int | None, Query(ge=1, le=3660, description="Only the last N days")] = None,
) -> CountsOut:
    """Entries, exits and members at the end of each UTC day with a change."""
    view = service.get_segment(tp, segment)
    points = service.counts(tp, segment, days=days)
    return CountsOut(segment_id=view.id, items=[CountOut.model_validate(p) for p in points])
