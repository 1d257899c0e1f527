"""Turn one raw interaction (a dict from JSON, CSV or an adapter) into a row ready for the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic

from touchpoint.domain.identity import IdentityError, identity_keys
from touchpoint.errors import ValidationError
from touchpoint.ingest.schema import InteractionIn, content_id


@dataclass(slots=True)
class Prepared:
    position: int
    row: dict[str, Any]  # an `interactions` row, less seq and customer_id
    keys: list[str]  # identity keys, normalised
    traits: dict[str, Any]


def describe_errors(exc: pydantic.ValidationError) -> str:
    """Pydantic's errors as one line: `field.path: message; ...`."""
    parts = []
    for error in exc.errors(include_url=False, include_context=False):
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def prepare(
    raw: dict[str, Any], position: int, *, received_at: datetime, default_region: str
) -> Prepared:
    try:
        item = InteractionIn.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_errors(exc)) from None
    return prepare_model(item, position, received_at=received_at, default_region=default_region)


def prepare_model(
    item: InteractionIn,
    position: int,
    *,
    received_at: datetime,
    default_region: str,
) -> Prepared:
    who = item.customer
    try:
        keys = identity_keys(
            email=who.email,
            phone=who.phone,
            external_id=who.external_id,
            anonymous_id=who.anonymous_id,
            handles=who.handles,
            default_region=default_region,
        )
    except IdentityError as exc:
        raise ValidationError(f"customer: {exc}") from None
    source = item.attribution
    row = {
        "id": item.id or content_id(item.model_dump(mode="json", exclude_none=True)),
        "occurred_at": item.occurred_at,
        "received_at": received_at,
        "channel": item.channel.value,
        "direction": item.direction.value,
        "type": item.type.value,
        "name": item.name,
        "source": source.source if source else None,
        "medium": source.medium if source else None,
        "campaign": source.campaign if source else None,
        "keyword": source.keyword if source else None,
        "creative": source.creative if source else None,
        "agent": item.agent,
        "queue": item.queue,
        "duration_s": item.duration_s,
        "outcome": item.outcome,
        "revenue": item.revenue,
        "currency": item.currency,
        "properties": item.properties,
    }
    return Prepared(position, row, [k.key for k in keys], item.traits)
