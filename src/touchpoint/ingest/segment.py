"""Segment-spec compatibility: turn Segment identify/track/page/screen/alias/group messages into
Touchpoint's interaction JSON shape (`InteractionIn`), naming track events by an editable table.

Pure translation: the only I/O is reading the TOML event table. See docs/segment.md.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from touchpoint.domain.moments import (
    ZONED_EXAMPLE,
    event_moment_error,
    is_number_text,
    number_moment_error,
)
from touchpoint.domain.reach import ReachTable
from touchpoint.domain.vocabulary import Channel, Direction, InteractionType
from touchpoint.errors import ConfigError, ValidationError
from touchpoint.ingest.prepare import RECEIPT_TIME
from touchpoint.ingest.reach import load_reach_table, reach_attribution
from touchpoint.ingest.values import json_value_error

MESSAGE_TYPES = ("identify", "track", "page", "screen", "alias", "group")
SHIPPED_TABLE = "segment_events.toml"

# Fields only Segment messages carry; Touchpoint's own shape has `customer` instead.
_SEGMENT_FIELDS = ("userId", "anonymousId", "previousId", "messageId", "event", "groupId")
_TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt")
# context.campaign (UTM parameters, as analytics.js collects them) → attribution
_CAMPAIGN = {
    "name": "campaign",
    "source": "source",
    "medium": "medium",
    "term": "keyword",
    "content": "creative",
}
# Segment's reserved camelCase traits → the snake_case names Touchpoint profiles use.
_TRAIT_NAMES = {"firstName": "first_name", "lastName": "last_name", "createdAt": "created_at"}
_MOBILE_OS = ("ios", "ipados", "android")
_ENTRY_KEYS = ("type", "channel", "direction")

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class EventRule:
    """What one Segment track event becomes."""

    type: InteractionType
    channel: Channel | None = None
    direction: Direction | None = None


@dataclass(frozen=True)
class SegmentEventMap:
    """Track event name → rule; names are matched folded (see `fold_event_name`)."""

    rules: Mapping[str, EventRule] = field(default_factory=dict)

    def rule_for(self, event: str) -> EventRule | None:
        return self.rules.get(fold_event_name(event))


def fold_event_name(name: str) -> str:
    """'Order Completed', 'order_completed' and 'order-completed' are one event."""
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


# --- the event table --------------------------------------------------------------------------


def load_event_map(path: Path | None = None) -> SegmentEventMap:
    """The shipped table, with the entries of the user's file (if given) added or overriding."""
    shipped = resources.files("touchpoint.ingest").joinpath(SHIPPED_TABLE)
    rules = _parse_table(shipped.read_text(encoding="utf-8"), f"shipped {SHIPPED_TABLE}")
    if path is not None:
        rules.update(_parse_table(_read_user_table(path), str(path)))
    return SegmentEventMap(rules)


def _read_user_table(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (settings segment_events_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the Segment events file: {exc}") from None


def _parse_table(text: str, where: str) -> dict[str, EventRule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"events"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown top-level key(s) {', '.join(unknown)}; "
            'put each event under [events."Event Name"]'
        )
    events = data.get("events", {})
    if not isinstance(events, dict):
        raise ConfigError(f'{where}: `events` must be a table of [events."Event Name"] entries')
    return {
        fold_event_name(name): _rule(name, entry, where, text) for name, entry in events.items()
    }


def _rule(name: str, entry: Any, where: str, text: str) -> EventRule:
    def problem(what: str) -> ConfigError:
        line = _line_of(text, name)
        at = f" (line {line})" if line else ""
        return ConfigError(f"{where}: event {name!r}{at}: {what}")

    if not isinstance(entry, dict):
        raise problem('must be a table such as { type = "purchase" }')
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise problem(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_ENTRY_KEYS)}")
    if "type" not in entry:
        raise problem('missing `type`, e.g. type = "purchase"')

    def optional(enum: type[E], key: str) -> E | None:
        return _member(enum, entry[key], key, problem) if key in entry else None

    return EventRule(
        type=_member(InteractionType, entry["type"], "type", problem),
        channel=optional(Channel, "channel"),
        direction=optional(Direction, "direction"),
    )


def _member(enum: type[E], value: Any, key: str, problem: Callable[[str], ConfigError]) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise problem(f"unknown {key} {value!r}; allowed: {allowed}") from None


def _line_of(text: str, name: str) -> int | None:
    """The line defining an event, for error messages: its [events."…"] header if it has one."""
    candidates = [
        (not line.lstrip().startswith("["), number)
        for number, line in enumerate(text.splitlines(), start=1)
        if name in line and not line.lstrip().startswith("#")
    ]
    return min(candidates)[1] if candidates else None


# --- messages ---------------------------------------------------------------------------------


def is_segment_message(obj: Any) -> bool:
    """A Segment call (not Touchpoint's own shape, whose `type` may also be identify/alias)."""
    return (
        isinstance(obj, dict)
        and obj.get("type") in MESSAGE_TYPES
        and "customer" not in obj
        and any(key in obj for key in _SEGMENT_FIELDS)
    )


def with_batch_defaults(
    message: dict[str, Any], *, context: Any = None, sent_at: Any = None
) -> dict[str, Any]:
    """A message of a /v1/batch call, with the batch's context and sentAt under its own."""
    merged = dict(message)
    own = message.get("context")
    if isinstance(context, dict) and context and (own is None or isinstance(own, dict)):
        merged["context"] = _deep_merge(context, own or {})
    if sent_at is not None and merged.get("sentAt") is None:
        merged["sentAt"] = sent_at
    return merged


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            value = _deep_merge(below, value)
        merged[key] = value
    return merged


def segment_to_interaction(
    message: dict[str, Any],
    events: SegmentEventMap,
    *,
    received_at: datetime | None = None,
    reach: ReachTable | None = None,
) -> dict[str, Any]:
    """One Segment message in the `InteractionIn` JSON shape; ValidationError naming the field.

    `received_at` is the time of last resort, when the message carries no timestamp at all.
    A web message with no context.campaign gets its attribution from context.page's referrer and
    url by the reach table (`reach`, else the shipped one).
    """
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise ValidationError(f"type: must be one of {', '.join(MESSAGE_TYPES)}; got {kind!r}")
    context = _object(message, "context")
    too_deep = json_value_error(context)  # its other fields are checked by InteractionIn
    if too_deep:
        raise ValidationError(f"context: {too_deep}")
    body = _BODIES[kind](message, events)
    interaction: dict[str, Any] = {
        "type": body.pop("type"),
        "channel": body.pop("channel", None) or _default_channel(kind, context),
        "direction": body.pop("direction", None) or Direction.INBOUND.value,
        "occurred_at": _occurred_at(message, received_at),
        "customer": _customer(message, kind, context),
        **body,
    }
    if not any(message.get(key) not in (None, "") for key in _TIME_FIELDS):
        interaction[RECEIPT_TIME] = True  # a resend, received later, is the same message
    message_id = _id(message, "messageId")
    if message_id:
        interaction["id"] = message_id
    attribution = _attribution(context)
    if not attribution and interaction["channel"] == Channel.WEB.value:
        attribution = _reach(context, interaction.get("properties"), reach)
    if attribution:
        interaction["attribution"] = attribution
    return interaction


def _identify(message: dict[str, Any], _events: SegmentEventMap) -> dict[str, Any]:
    traits = _object(message, "traits")
    if not traits:  # RudderStack's JavaScript SDK sends an identify's traits in context.traits
        traits = _object(_object(message, "context"), "traits", "context.traits")
    return {"type": "identify", "traits": {_TRAIT_NAMES.get(k, k): v for k, v in traits.items()}}


def _alias(message: dict[str, Any], _events: SegmentEventMap) -> dict[str, Any]:
    return {"type": "alias", "properties": {"previous_id": _id(message, "previousId")}}


def _group(message: dict[str, Any], _events: SegmentEventMap) -> dict[str, Any]:
    group_id = _id(message, "groupId")
    if not group_id:
        raise ValidationError("groupId: a group call needs the id of the group (account)")
    traits = _object(message, "traits")
    return {
        "type": "custom",
        "name": "group",
        "properties": {"group_id": group_id, "traits": traits},
    }


def _page(message: dict[str, Any], _events: SegmentEventMap) -> dict[str, Any]:
    properties = dict(_object(message, "properties"))
    category = message.get("category")
    if category is not None:
        properties.setdefault("category", category)
    body: dict[str, Any] = {"type": "page_view", "properties": properties}
    name = message.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationError(f"name: must be a string, got {type(name).__name__}")
    if name and name.strip():
        body["name"] = name.strip()
    return body


def _track(message: dict[str, Any], events: SegmentEventMap) -> dict[str, Any]:
    event = message.get("event")
    if not isinstance(event, str) or not event.strip():
        raise ValidationError("event: a track call needs the event name, e.g. 'Order Completed'")
    properties = _object(message, "properties")
    rule = events.rule_for(event)
    kind = rule.type if rule else InteractionType.CUSTOM
    body: dict[str, Any] = {"type": kind.value, "name": event.strip(), "properties": properties}
    body.update(_revenue(kind, properties))
    if rule and rule.channel:
        body["channel"] = rule.channel.value
    if rule and rule.direction:
        body["direction"] = rule.direction.value
    return body


_BODIES: dict[str, Callable[[dict[str, Any], SegmentEventMap], dict[str, Any]]] = {
    "identify": _identify,
    "track": _track,
    "page": _page,
    "screen": _page,
    "alias": _alias,
    "group": _group,
}


def _revenue(kind: InteractionType, properties: dict[str, Any]) -> dict[str, Any]:
    """Segment's semantic `revenue` (orders fall back to `total`); money given back (refunds,
    cancelled orders) counts negative, so a customer's net revenue is the plain sum."""
    money_back = kind in (InteractionType.REFUND, InteractionType.ORDER_CANCELLED)
    keys = ("revenue", "total") if kind is InteractionType.PURCHASE or money_back else ("revenue",)
    key = next((k for k in keys if properties.get(k) is not None), None)
    if key is None:
        return {}
    amount = _number(properties[key], f"properties.{key}")
    if money_back:
        amount = -abs(amount)
    return {"revenue": amount, "currency": _currency(properties.get("currency"))}


def _currency(value: Any) -> str:
    if value is None:
        return "USD"  # Segment: revenue without a currency is in US dollars
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        raise ValidationError(
            f"properties.currency: must be a 3-letter ISO 4217 code such as 'USD'; got {value!r}"
        )
    return value.strip().upper()


def _number(value: Any, where: str) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise ValidationError(f"{where}: must be a number; got {value!r}")


def _customer(message: dict[str, Any], kind: str, context: dict[str, Any]) -> dict[str, Any]:
    user_id = _id(message, "userId")
    anonymous_id = _id(message, "anonymousId")
    if kind == "alias":
        # previousId may be an anonymous id or an earlier userId: the interaction's
        # `properties.previous_id` names it, and ingest links whichever exists (an explicit
        # merge, never blocked by merge protection). The message's own anonymousId, if any, is
        # the device's and identifies the customer like any other.
        if not (_id(message, "previousId") and user_id):
            raise ValidationError("previousId, userId: an alias call needs both")
    elif not (user_id or anonymous_id):
        raise ValidationError(f"userId, anonymousId: a {kind} call needs at least one of them")
    customer = {"external_id": user_id, "anonymous_id": anonymous_id}
    context_traits = _object(context, "traits", "context.traits")
    sources = [(_object(message, "traits"), "traits")] if kind == "identify" else []
    sources.append((context_traits, "context.traits"))
    for trait in ("email", "phone"):
        customer[trait] = next(
            (v for traits, at in sources if (v := _id(traits, trait, f"{at}.{trait}"))), None
        )
    return {k: v for k, v in customer.items() if v}


def _attribution(context: dict[str, Any]) -> dict[str, str]:
    campaign = _object(context, "campaign", "context.campaign")
    found = {
        ours: _id(campaign, theirs, f"context.campaign.{theirs}")
        for theirs, ours in _CAMPAIGN.items()
    }
    return {k: v for k, v in found.items() if v}


def _reach(context: dict[str, Any], properties: Any, table: ReachTable | None) -> dict[str, str]:
    """context.page's referrer and url (else the page call's properties): analytics.js sends
    both with every call, so a track on the landing page is attributed as its page view is."""
    page = context.get("page")
    page = page if isinstance(page, dict) else {}
    props = properties if isinstance(properties, dict) else {}
    referrer = page.get("referrer") or props.get("referrer")
    url = page.get("url") or props.get("url")
    if not referrer and not url:
        return {}
    return reach_attribution(referrer, url, table or load_reach_table())


def _default_channel(kind: str, context: dict[str, Any]) -> str:
    device = context.get("device")
    os_info = context.get("os")
    device_type = device.get("type") if isinstance(device, dict) else None
    os_name = os_info.get("name") if isinstance(os_info, dict) else None
    on_mobile = any(
        isinstance(v, str) and v.strip().lower() in _MOBILE_OS for v in (device_type, os_name)
    )
    return Channel.MOBILE_APP.value if kind == "screen" or on_mobile else Channel.WEB.value


def _occurred_at(message: dict[str, Any], received_at: datetime | None) -> str:
    """timestamp, else originalTimestamp, else sentAt, else when we received it.

    Segment's spec says all its timestamps are UTC, so one without an offset is read as UTC.
    """
    for key in _TIME_FIELDS:
        value = message.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or is_number_text(value):
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                raise ValidationError(f"{key}: {number_moment_error(value)}")
            raise ValidationError(f"{key}: must be {ZONED_EXAMPLE}; got {type(value).__name__}")
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{key}: not an ISO-8601 date-time: {value!r}") from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        why = event_moment_error(at)
        if why:
            raise ValidationError(f"{key}: {why}")
        return at.isoformat()
    return (received_at or datetime.now(UTC)).isoformat()


def _object(source: dict[str, Any], key: str, where: str | None = None) -> dict[str, Any]:
    value = source.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{where or key}: must be an object; got {type(value).__name__}")
    return value


def _id(source: dict[str, Any], key: str, where: str | None = None) -> str | None:
    """A string field that SDKs may also send as a number (ids, phones); blank means absent."""
    value = source.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"{where or key}: must be a string; got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{where or key}: must be a string; got {value}")
    return str(value).strip() or None
