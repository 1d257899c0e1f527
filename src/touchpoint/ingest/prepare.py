"""Turn one raw interaction (a dict from JSON, CSV or an adapter) into a row ready for the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic

from touchpoint.domain.identity import (
    DEFAULT_JUNK_IDENTIFIERS,
    IdentityError,
    JunkIdentifiers,
    alias_key,
    usable_keys,
)
from touchpoint.domain.moments import EventWindow
from touchpoint.domain.reach import ReachTable
from touchpoint.errors import ValidationError
from touchpoint.ingest.reach import load_reach_table, reach_attribution
from touchpoint.ingest.schema import Attribution, InteractionIn, content_id
from touchpoint.ingest.values import id_error, printable

# The `interactions` columns a prepared row holds, in order; the customer id is added once resolved.
ROW_COLUMNS = (
    "id",
    "occurred_at",
    "received_at",
    "channel",
    "direction",
    "type",
    "name",
    "source",
    "medium",
    "campaign",
    "keyword",
    "creative",
    "agent",
    "queue",
    "duration_s",
    "outcome",
    "revenue",
    "currency",
    "properties",
    "identity_keys",  # the keys below, so the log says who each interaction came from
)
NO_ATTRIBUTION = (None, None, None, None, None)
DEFAULT_WINDOW = EventWindow()  # settings.event_window() in the ingestor
DEFAULT_JUNK = JunkIdentifiers(DEFAULT_JUNK_IDENTIFIERS)  # settings.junk() in the ingestor
NO_OTHER_IDENTITY = (
    "with no other identity, it is recorded under a new customer of its own (never merged)"
)
MAX_ID_LENGTH = 200  # as `customer.external_id` and `anonymous_id` (schema.IdText)
# Set (to True) by a translator whose message carried no time of its own, so `occurred_at` is
# when it was received: a resend then arrives at another moment and is still the same message
# (see ingest.conflicts). Not a field of the interaction: prepare() takes it off.
RECEIPT_TIME = "_occurred_at_from_receipt"
# The model's validator itself: `InteractionIn.model_validate` less one Python call per item.
_validate = InteractionIn.__pydantic_validator__.validate_python


@dataclass(slots=True)
class Prepared:
    position: int
    id: str
    occurred_at: datetime
    row: tuple[Any, ...]  # an `interactions` row in ROW_COLUMNS order
    keys: list[str]  # identity keys, normalised
    traits: dict[str, Any]
    warnings: tuple[str, ...] = ()  # what was left out of it, stored all the same
    time_from_receipt: bool = False  # occurred_at is when it arrived (see RECEIPT_TIME)


def describe_errors(exc: pydantic.ValidationError) -> str:
    """Pydantic's errors as one line: `field.path: message; ...`."""
    parts = []
    for error in exc.errors(include_url=False, include_context=False):
        where = ".".join(printable(str(p)) for p in error["loc"]) or "(root)"
        parts.append(f"{where}: {printable(error['msg'])}")
    return "; ".join(parts)


def prepare(
    raw: dict[str, Any],
    position: int,
    *,
    received_at: datetime,
    default_region: str,
    window: EventWindow = DEFAULT_WINDOW,
    junk: JunkIdentifiers = DEFAULT_JUNK,
    reach: ReachTable | None = None,
) -> Prepared:
    from_receipt = False
    if RECEIPT_TIME in raw:
        from_receipt = raw[RECEIPT_TIME] is True
        raw = {k: v for k, v in raw.items() if k != RECEIPT_TIME}
    try:
        item = _validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_errors(exc)) from None
    prepared = prepare_model(
        item,
        position,
        received_at=received_at,
        default_region=default_region,
        window=window,
        junk=junk,
        reach=reach,
    )
    if from_receipt:
        prepared.time_from_receipt = True
    return prepared


def prepare_model(
    item: InteractionIn,
    position: int,
    *,
    received_at: datetime,
    default_region: str,
    window: EventWindow = DEFAULT_WINDOW,
    junk: JunkIdentifiers = DEFAULT_JUNK,
    reach: ReachTable | None = None,
) -> Prepared:
    implausible = window.error(item.occurred_at, received_at, "occurred_at")
    if implausible:
        raise ValidationError(implausible)
    who = item.customer
    try:
        keys, dropped = usable_keys(
            who.email,
            who.phone,
            who.external_id,
            who.anonymous_id,
            who.handles,
            default_region,
            junk,
        )
    except IdentityError as exc:
        raise ValidationError(f"customer: {exc}") from None
    warnings = [placeholder_warning(f"customer.{field}", value) for field, value in dropped]
    if item.type._value_ == "alias" and "previous_id" in item.properties:
        previous = _previous_key(item.properties["previous_id"])
        previous_id = previous.partition(":")[2]
        if junk.is_junk_id(previous_id):  # an alias of a placeholder would merge everyone's
            warnings.append(placeholder_warning("properties.previous_id", previous_id))
        else:
            keys.append(previous)
    if warnings and not keys:
        warnings.append(NO_OTHER_IDENTITY)
    source = item.attribution
    if source is None and item.channel._value_ == "web":
        source = _reach(item.properties, reach)
    attribution: tuple[str | None, ...] = NO_ATTRIBUTION
    if source is not None:
        attribution = (
            source.source,
            source.medium,
            source.campaign,
            source.keyword,
            source.creative,
        )
    iid = item.id or content_id(item.model_dump(mode="json", exclude_none=True))
    row = (
        iid,
        item.occurred_at,
        received_at,
        # `_value_` rather than `.value`: the plain attribute, not the slower enum descriptor.
        item.channel._value_,
        item.direction._value_,
        item.type._value_,
        item.name,
        *attribution,
        item.agent,
        item.queue,
        item.duration_s,
        item.outcome,
        item.revenue,
        item.currency,
        item.properties,
        keys,
    )
    return Prepared(position, iid, item.occurred_at, row, keys, item.traits, tuple(warnings))


def _reach(properties: dict[str, Any], table: ReachTable | None) -> Attribution | None:
    """An untagged web visit's attribution from its `referrer` and `url` properties (the reach
    table: domain/reach.py); None for direct, or when what it found is no valid attribution."""
    if "referrer" not in properties and "url" not in properties:
        return None
    found = reach_attribution(
        properties.get("referrer"), properties.get("url"), table or load_reach_table()
    )
    try:
        return Attribution(**found) if found else None
    except pydantic.ValidationError:
        return None


def placeholder_warning(field: str, value: str) -> str:
    """What an item is told when an identity it carried is a placeholder."""
    return (
        f"{field}: {printable(repr(value))} is a placeholder, not an identity; it was not used "
        "to find or link a customer"
    )


def _previous_key(previous: Any) -> str:
    """An alias names the id the person was known by before (`properties.previous_id`, Segment's
    previousId): its key links them to whoever holds that id, as a user id or an anonymous id."""
    if not isinstance(previous, str) or not previous.strip():
        raise ValidationError("properties.previous_id: must be the id the customer had before")
    if len(previous.strip()) > MAX_ID_LENGTH:
        raise ValidationError(
            f"properties.previous_id: at most {MAX_ID_LENGTH} characters; got {len(previous)}"
        )
    why = id_error(previous.strip())
    if why:
        raise ValidationError(f"properties.previous_id: {why}")
    return alias_key(previous)
