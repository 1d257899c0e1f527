"""The body of a batch of interactions, by its media type: a JSON array, the array as
`interactions` in a JSON object, or NDJSON (one interaction per line). Every item keeps its
place, so an item that is not an object, or a line that is not JSON, is rejected on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from touchpoint.errors import ValidationError
from touchpoint.ingest.report import ItemResult
from touchpoint.ingest.values import loads

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl")
Item = dict[str, Any] | ItemResult  # an interaction to ingest, or its rejection in its place


class UnreadableBody(ValidationError):
    """The body is not JSON text at all: nothing in it can be answered item by item."""

    status_code = 400


class UnsupportedMediaType(ValidationError):
    status_code = 415


@dataclass(slots=True)
class BatchBody:
    items: list[Item]
    lines: list[int] | None = None  # NDJSON: the line number of each item


def read_batch_body(content_type: str | None, body: bytes) -> BatchBody:
    """The items of a batch body; UnreadableBody, UnsupportedMediaType or ValidationError (its
    shape) when there are no items to answer one by one."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media in NDJSON_TYPES:
        return _ndjson(body)
    if media == "application/json" or media.endswith("+json"):
        return BatchBody(_json_items(body))
    raise UnsupportedMediaType(
        f"Content-Type {media}: send application/json (an array of interactions, or "
        '{"interactions": [...]}) or application/x-ndjson (one interaction per line)'
    )


def _json_items(body: bytes) -> list[Item]:
    try:
        value = loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"body is not valid JSON: {exc}") from None
    if isinstance(value, dict) and "interactions" in value:
        value = value["interactions"]
        if not isinstance(value, list):
            raise ValidationError("interactions: must be an array of interactions")
    if not isinstance(value, list):
        raise ValidationError(
            'body: must be an array of interactions, or {"interactions": [...]}; '
            f"got {_kind(value)}"
        )
    return [_item(index, item) for index, item in enumerate(value)]


def _ndjson(body: bytes) -> BatchBody:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableBody(f"body is not UTF-8 text: {exc}") from None
    items: list[Item] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        index = len(items)
        lines.append(number)
        try:
            items.append(_item(index, loads(line), where=f"line {number}: "))
        except orjson.JSONDecodeError as exc:
            reason = f"line {number}: not valid JSON: {exc}"
            items.append(ItemResult(index, "rejected", reason=reason))
    return BatchBody(items, lines)


def _item(index: int, value: Any, where: str = "") -> Item:
    if isinstance(value, dict):
        return value
    reason = f"{where}each item must be an interaction (a JSON object); got {_kind(value)}"
    return ItemResult(index, "rejected", reason=reason)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
