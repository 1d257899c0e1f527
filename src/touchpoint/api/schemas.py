"""Response models of the API, the documented errors, and moment parameters (request bodies live
with ingestion in touchpoint.ingest.schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field

from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.errors import ValidationError
from touchpoint.ingest.values import printable
from touchpoint.store.tables import MAX_SEQ

# Text an answer echoes from what a client sent (an id, a rejection's reason): made printable,
# so a lone surrogate in it cannot make the answer itself fail to render.
Echoed = Annotated[str, AfterValidator(printable)]

MAX_ID = MAX_SEQ  # what a 64-bit integer column (a seq, an offset SQL takes) holds
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many first")]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many")]


class ItemResultOut(BaseModel):
    index: int = Field(description="Position of the item in the request (from 0)")
    line: int | None = Field(None, description="NDJSON bodies: the item's line (from 1)")
    status: Literal["accepted", "duplicate", "conflict", "rejected"] = Field(
        description="accepted: stored; duplicate: its id is stored with the same content; "
        "conflict: its id is stored with other content (nothing stored); rejected: invalid"
    )
    id: Echoed | None = Field(None, description="Interaction id (idempotency key)")
    customer_id: str | None = Field(
        None,
        description="The customer it was recorded for; null for a caller who may not see "
        "customers (an ingest key writes and learns nothing back)",
    )
    reason: Echoed | None = Field(
        None, description="Why it was rejected or is a conflict, or that it was already stored"
    )
    differs: list[str] | None = Field(
        None, description="A conflict: the fields whose stored value is not the one sent"
    )
    warnings: list[Echoed] | None = Field(
        None,
        description="Stored, but something of it was left out: an identity that is a "
        "placeholder (undefined, null, test@test.com…) does not find or link a customer",
    )


class BatchResultOut(BaseModel):
    accepted: int
    duplicates: int = Field(description="Items already stored with the same content")
    conflicts: int = Field(description="Items whose id is stored with other content")
    rejected: int
    results: list[ItemResultOut]


class InteractionOut(BaseModel):
    seq: int
    id: str
    customer_id: str
    occurred_at: datetime
    received_at: datetime
    channel: str
    direction: str
    type: str
    name: str | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    keyword: str | None = None
    creative: str | None = None
    agent: str | None = None
    queue: str | None = None
    duration_s: float | None = None
    outcome: str | None = None
    revenue: float | None = None
    currency: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class CustomerSummaryOut(BaseModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    created_at: datetime
    updated_at: datetime
    traits: dict[str, Any]
    stage: str | None = Field(default=None, description="Current lifecycle stage")
    interaction_count: int
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    revenue: float


class IdentityOut(BaseModel):
    kind: str
    value: str
    first_seen_at: datetime


class MergeOut(BaseModel):
    merge_id: int = Field(description="The merge's id (to undo it: POST /v1/merges/{id}/unmerge)")
    customer_id: str = Field(description="The customer merged into this one")
    merged_at: datetime
    cause: str = Field(description="What merged them: identity (a shared key), alias, or manual")
    linking_key: str | None = Field(
        description="The identity that showed they were the same person (null for a merge by hand)"
    )


class StageTransitionOut(BaseModel):
    from_stage: str | None = Field(description="Stage before (null for the first stage)")
    to_stage: str
    at: datetime
    interaction_id: str | None = Field(
        description="The interaction that caused it; null if time did"
    )
    reason: str


class LifecycleOut(BaseModel):
    stage: str | None = Field(description="Current lifecycle stage")
    since: datetime | None
    model: str | None = Field(description="Stage model (name@version) that placed the customer")
    history: list[StageTransitionOut] = Field(description="Every stage change, oldest first")


class CustomerViewOut(CustomerSummaryOut):
    lifecycle: LifecycleOut
    requested_id: str = Field(description="The id asked for; differs from id after a merge")
    identities: list[IdentityOut]
    merged_from: list[MergeOut]
    timeline: list[InteractionOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next, older page")


class CustomerListOut(BaseModel):
    total: int
    items: list[CustomerSummaryOut]


class ErrorOut(BaseModel):
    detail: str = Field(description="What is wrong, in one line")


class FieldErrorOut(BaseModel):
    loc: list[str | int] = Field(description="Where: the path to the field")
    msg: str
    type: str


class RequestErrorOut(BaseModel):
    detail: list[FieldErrorOut] = Field(description="Every field the request's shape got wrong")


_ERROR_TEXT = {
    400: "The body could not be read as JSON text (not UTF-8, or cut off)",
    401: "No credentials, or an unknown, expired or revoked API key, or a wrong user name or "
    "password (`Authorization: Bearer <key>`, or Basic auth)",
    403: "The caller's role does not allow this (the operation's description names who may)",
    404: "Nothing is known by that id",
    409: "The state forbids it: e.g. the merge was already undone, or cannot be undone",
    413: "The request body is larger than the server accepts; send smaller batches",
    415: "The body's Content-Type is not one the operation reads",
    422: "Invalid input: a list of field errors when the request's shape is wrong, or one line "
    "naming the field when a value breaks a rule (an unknown channel, a bad email, a bad date)",
    503: "An engine behind the request failed (the analytics refresh, the isolated worker, "
    "DuckDB); the request was valid, so retry later",
}
_ERROR_MODEL: dict[int, Any] = {422: RequestErrorOut | ErrorOut}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the errors an endpoint can answer with."""
    return {
        code: {"model": _ERROR_MODEL.get(code, ErrorOut), "description": _ERROR_TEXT[code]}
        for code in codes
    }


MOMENT_RULE = (
    "an ISO 8601 date (`2026-03-01`, its midnight UTC) or date-time (`2026-03-01T12:00:00Z`, "
    "`2026-03-01T14:00:00+02:00`); without a zone it is UTC; numbers (epoch times) are refused"
)


def moment_query(description: str, *, alias: str | None = None) -> Any:
    """A query parameter holding a moment: plain text in the schema, read by the one rule of
    `domain.moments` (`read_moment`), so a bad value is a one-line 422 naming the parameter."""
    return Query(
        alias=alias,
        description=f"{description}: {MOMENT_RULE}",
        examples=["2026-03-01", "2026-03-01T12:00:00Z"],
    )


def read_moment(text: str | None, parameter: str) -> datetime | None:
    try:
        return parse_moment(text, parameter)
    except MomentError as exc:
        raise ValidationError(str(exc)) from None
