"""The JSON shape of one interaction, as `POST /v1/interactions` and JSONL files take it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AllowInfNan,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from touchpoint.domain.moments import event_moment_error, is_number_text, number_moment_error
from touchpoint.domain.vocabulary import Channel, Direction, InteractionType
from touchpoint.ingest.values import id_error, json_value_error, text_error


def _refused(check: Any) -> Any:
    """A validator that passes a value on, or raises the error `check` finds (one line, named
    by pydantic with the field's path)."""

    def validate(value: Any) -> Any:
        why = check(value)
        if why:
            raise PydanticCustomError("refused", "{why}", {"why": why})
        return value

    return validate


def _moment_text_error(value: Any) -> str | None:
    """A moment arrives as text (or a datetime from Python code): a JSON number, or a text that
    is one, would be read as an epoch time by pydantic, so it is refused."""
    if isinstance(value, datetime) or (isinstance(value, str) and not is_number_text(value)):
        return None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return number_moment_error(value)
    return None  # another type: pydantic's own error says what is expected


_Bounded = StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
# Text stored as given: no NUL (PostgreSQL cannot store it), no lone surrogate (not UTF-8).
ShortText = Annotated[str, _Bounded, AfterValidator(_refused(text_error))]
# Ids and identity values: no control characters either (an invisible difference between ids).
IdText = Annotated[str, _Bounded, AfterValidator(_refused(id_error))]
# An event's moment: ISO 8601 text with a zone, in UTC years 1900-9999 (domain.moments).
EventMoment = Annotated[
    AwareDatetime,
    BeforeValidator(_refused(_moment_text_error)),
    AfterValidator(_refused(event_moment_error)),
]
# A number stored in a float column: finite (NaN and Infinity are no amount or duration), and
# not true or false, which pydantic would otherwise take for 1 and 0. A number's text is read
# (CSV cells are text).
Finite = AllowInfNan(False)


def _boolean_error(value: Any) -> str | None:
    return f"must be a number, not {value!r}" if isinstance(value, bool) else None


NotBoolean = BeforeValidator(_refused(_boolean_error))


class CustomerRef(BaseModel):
    """Who the interaction is with: any identities we know them by (at least one)."""

    model_config = ConfigDict(extra="forbid")

    email: IdText | None = Field(None, json_schema_extra={"format": "email"})
    phone: IdText | None = Field(
        None, description="Any format; without a +country prefix, read in the default region"
    )
    external_id: IdText | None = Field(
        None, description="Your own id for the customer (Segment userId)"
    )
    anonymous_id: IdText | None = Field(None, description="Device/cookie id (Segment anonymousId)")
    handles: dict[str, IdText] = Field(
        default_factory=dict, description='Social handles by network, e.g. {"twitter": "@ann"}'
    )

    @model_validator(mode="after")
    def _needs_an_identity(self) -> CustomerRef:
        if not (self.email or self.phone or self.external_id or self.anonymous_id or self.handles):
            raise ValueError(
                "customer needs at least one identity: email, phone, external_id, anonymous_id or handles"
            )
        return self


class Attribution(BaseModel):
    """Where the interaction came from (UTM parameters and ad details)."""

    model_config = ConfigDict(extra="forbid")

    source: ShortText | None = None
    medium: ShortText | None = None
    campaign: ShortText | None = None
    keyword: ShortText | None = Field(None, description="Search keyword (utm_term)")
    creative: ShortText | None = Field(None, description="Ad creative or content (utm_content)")


class InteractionIn(BaseModel):
    """One customer interaction on any channel. Timestamps must carry a time zone."""

    model_config = ConfigDict(extra="forbid")

    id: IdText | None = Field(
        None,
        description="Idempotency key. Omitted: derived from the content, so resending is still safe.",
    )
    type: InteractionType
    channel: Channel
    direction: Direction = Direction.INBOUND
    occurred_at: EventMoment = Field(
        description="When it happened: ISO 8601 text with a zone; numbers are refused"
    )
    customer: CustomerRef
    name: ShortText | None = Field(None, description="The source's own event name")
    traits: dict[str, Any] = Field(default_factory=dict, description="Profile traits to set")
    attribution: Attribution | None = None
    agent: ShortText | None = None
    queue: ShortText | None = None
    duration_s: Annotated[float, Finite, Field(ge=0, le=86_400 * 7), NotBoolean] | None = None
    outcome: ShortText | None = None
    revenue: Annotated[float, Finite, Field(ge=-1e12, le=1e12), NotBoolean] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("traits", "properties")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        why = json_value_error(value)
        if why:
            raise PydanticCustomError("refused", "{why}", {"why": why})
        return value


def content_id(raw: dict[str, Any]) -> str:
    """A stable id for an interaction sent without one: a hash of its content."""
    digest = hashlib.blake2b(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), digest_size=16)
    return "h_" + digest.hexdigest()
