"""The JSON shape of one interaction, as `POST /v1/interactions` and JSONL files take it."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from touchpoint.domain.vocabulary import Channel, Direction, InteractionType

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
IdText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CustomerRef(BaseModel):
    """Who the interaction is with: any identities we know them by (at least one)."""

    model_config = ConfigDict(extra="forbid")

    email: ShortText | None = Field(None, json_schema_extra={"format": "email"})
    phone: ShortText | None = Field(
        None, description="Any format; without a +country prefix, read in the default region"
    )
    external_id: IdText | None = Field(
        None, description="Your own id for the customer (Segment userId)"
    )
    anonymous_id: IdText | None = Field(None, description="Device/cookie id (Segment anonymousId)")
    handles: dict[str, ShortText] = Field(
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
    occurred_at: AwareDatetime
    customer: CustomerRef
    name: ShortText | None = Field(None, description="The source's own event name")
    traits: dict[str, Any] = Field(default_factory=dict, description="Profile traits to set")
    attribution: Attribution | None = None
    agent: ShortText | None = None
    queue: ShortText | None = None
    duration_s: Annotated[float, Field(ge=0, le=86_400 * 7)] | None = None
    outcome: ShortText | None = None
    revenue: Annotated[float, Field(ge=-1e12, le=1e12)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("traits", "properties")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json_integers(value)
        return value


INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # what JSON columns and orjson store exactly


def _check_json_integers(value: Any) -> None:
    """Integers too big to store exactly are refused, naming where they are."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, int) and not INT_MIN <= item <= INT_MAX:
            raise ValueError(f"{path or 'value'}: integer {item} does not fit in 64 bits")


def content_id(raw: dict[str, Any]) -> str:
    """A stable id for an interaction sent without one: a hash of its content."""
    digest = hashlib.blake2b(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), digest_size=16)
    return "h_" + digest.hexdigest()
