"""When an interaction whose id is already stored is a duplicate, and when it is a conflict.

The id is the idempotency key: sent again with the same content it is a duplicate (nothing to
do); sent again with other content, storing nothing silently would lose what the sender meant, so
it is a conflict naming the fields that differ. What counts is the content the log keeps: every
column but `received_at` (a resend always arrives later) and the customer (resolved from the
identities, which are compared). Traits are not kept on the interaction (they update the
profile), so they are not compared. Values are compared as values: 1 and 1.0 are the same amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import orjson

from touchpoint.ingest.prepare import ROW_COLUMNS
from touchpoint.store import log

CONTENT_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("id", "received_at"))
_content = itemgetter(*(ROW_COLUMNS.index(c) for c in CONTENT_COLUMNS))
_TIME, _PROPERTIES, _KEYS = (
    CONTENT_COLUMNS.index(c) for c in ("occurred_at", "properties", "identity_keys")
)
# Columns as the interaction's JSON shape names them, for a message a sender can act on.
_FIELD_NAMES = {
    **{c: f"attribution.{c}" for c in ("source", "medium", "campaign", "keyword", "creative")},
    "identity_keys": "customer",
}


def content_of(row: Sequence[Any]) -> tuple[Any, ...]:
    """A prepared row's content in CONTENT_COLUMNS order, in the form `log.stored_content`
    reads it, so that content sent again unchanged compares equal with one `==`."""
    content = list(_content(row))
    content[_TIME] = log.stored_time(content[_TIME])
    content[_PROPERTIES] = log.stored_json(content[_PROPERTIES])
    content[_KEYS] = log.stored_json(content[_KEYS])
    return tuple(content)


def differences(sent: tuple[Any, ...], stored: tuple[Any, ...]) -> tuple[str, ...]:
    """The fields whose stored value is not the one sent (both from `content_of` or
    `log.stored_content`); none when the resend is a duplicate. Identities stored before they
    were kept (NULL) match any."""
    if sent == stored:
        return ()
    fields = []
    for i, (column, new, old) in enumerate(zip(CONTENT_COLUMNS, sent, stored, strict=True)):
        if new == old or _same_value(i, new, old):
            continue
        fields.append(_FIELD_NAMES.get(column, column))
    return tuple(fields)


def _same_value(i: int, new: Any, old: Any) -> bool:
    """Texts that differ but hold the same value: JSON with keys in another order, the same
    identities in another order, or none stored."""
    if i == _KEYS:
        kept = None if old is None else orjson.loads(old)
        return kept is None or sorted(orjson.loads(new)) == sorted(kept)
    if i == _PROPERTIES:
        return bool(orjson.loads(new) == orjson.loads(old))
    return False


def conflict_reason(interaction_id: str, fields: Sequence[str]) -> str:
    return (
        f"id {interaction_id} already stored with different content (fields: {', '.join(fields)})"
    )
