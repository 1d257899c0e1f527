"""The suppression list at ingest: an event carrying an identity of an erased person is dropped
with its own rejection, as Segment suppresses deleted users, instead of re-creating them."""

from __future__ import annotations

from sqlalchemy import Connection

from touchpoint.domain.privacy import identity_hash
from touchpoint.ingest.prepare import Prepared
from touchpoint.ingest.report import ItemResult
from touchpoint.store import privacy

SUPPRESSED = "suppressed: it names a person who was erased (their identities are not stored again)"


def split_suppressed(
    conn: Connection, batch: list[Prepared]
) -> tuple[list[Prepared], list[ItemResult]]:
    """The items to ingest, and the rejections of those naming a suppressed identity. Until
    someone is erased this costs one look at an empty table per batch."""
    if not batch or not privacy.any_suppressed(conn):
        return batch, []
    hashed = [[identity_hash(key) for key in item.keys] for item in batch]
    found = privacy.suppressed_among(conn, {h for hashes in hashed for h in hashes})
    if not found:
        return batch, []
    kept: list[Prepared] = []
    refused: list[ItemResult] = []
    for item, hashes in zip(batch, hashed, strict=True):
        if found.intersection(hashes):
            refused.append(ItemResult(item.position, "rejected", item.id, reason=SUPPRESSED))
        else:
            kept.append(item)
    return kept, refused
