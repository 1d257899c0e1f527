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
from typing import Any

from touchpoint.ingest.prepare import ROW_COLUMNS

CONTENT_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("id", "received_at"))
_POSITIONS = tuple(ROW_COLUMNS.index(c) for c in CONTENT_COLUMNS)
# Columns as the interaction's JSON shape names them, for a message a sender can act on.
_FIELD_NAMES = {
    **{c: f"attribution.{c}" for c in ("source", "medium", "campaign", "keyword", "creative")},
    "identity_keys": "customer",
}


def content_of(row: Sequence[Any]) -> tuple[Any, ...]:
    """A prepared row's content, in CONTENT_COLUMNS order (as `log.stored_content` reads it)."""
    return tuple(row[i] for i in _POSITIONS)


def differences(sent: Sequence[Any], stored: Sequence[Any]) -> tuple[str, ...]:
    """The fields whose stored value is not the one sent (both in CONTENT_COLUMNS order); none
    when the resend is a duplicate. Identities stored before they were kept (NULL) match any."""
    if tuple(sent) == tuple(stored):
        return ()
    fields = []
    for column, new, old in zip(CONTENT_COLUMNS, sent, stored, strict=True):
        if new == old:
            continue
        if column == "identity_keys" and (old is None or sorted(new) == sorted(old)):
            continue
        fields.append(_FIELD_NAMES.get(column, column))
    return tuple(fields)


def conflict_reason(interaction_id: str, fields: Sequence[str]) -> str:
    return (
        f"id {interaction_id} already stored with different content (fields: {', '.join(fields)})"
    )
