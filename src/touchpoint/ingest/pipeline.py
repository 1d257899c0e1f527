"""The one ingestion path every source goes through: prepare → dedupe → resolve → append.

Each batch is one write transaction, so a crash mid-import loses at most the batch in flight,
and re-running the import fills it in (ids are idempotency keys).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.domain.resolution import Resolution, resolve_batch
from touchpoint.errors import ValidationError
from touchpoint.ingest.prepare import Prepared, prepare
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.settings import Settings
from touchpoint.store import customers, log
from touchpoint.store.engine import write_transaction

BATCH_SIZE = 5_000


def new_customer_id() -> str:
    return "cus_" + secrets.token_hex(10)


def utcnow() -> datetime:
    return datetime.now(UTC)


# A projection kept up to date inside each ingest transaction: it gets the accepted rows (with
# their final customer_id) and the merges of the batch (merged-away id -> surviving id).
Projector = Callable[[Connection, list[dict[str, Any]], dict[str, str]], None]


class Ingestor:
    def __init__(
        self, engine: Engine, settings: Settings, projectors: Sequence[Projector] = ()
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.projectors = list(projectors)

    def ingest(
        self,
        raws: Iterable[tuple[int, dict[str, Any] | ItemResult]],
        *,
        keep_results: bool = True,
        batch_size: int = BATCH_SIZE,
        on_progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest (position, raw) pairs; an ItemResult in place of a raw is an upstream rejection."""
        report = IngestReport(keep_results=keep_results)
        batch: list[Prepared] = []
        pending_rejections: list[ItemResult] = []
        received_at = utcnow()
        region = self.settings.default_region

        def flush() -> None:
            results = self.write_batch(batch) + pending_rejections
            for result in sorted(results, key=lambda r: r.position):
                report.add(result)
            if on_progress:
                on_progress(len(results))
            batch.clear()
            pending_rejections.clear()

        for position, raw in raws:
            if isinstance(raw, ItemResult):
                pending_rejections.append(raw)
            else:
                try:
                    batch.append(
                        prepare(raw, position, received_at=received_at, default_region=region)
                    )
                except ValidationError as exc:
                    pending_rejections.append(
                        ItemResult(position, "rejected", _raw_id(raw), reason=str(exc))
                    )
            if len(batch) + len(pending_rejections) >= batch_size:
                flush()
        if batch or pending_rejections:
            flush()
        return report

    def write_batch(self, batch: list[Prepared]) -> list[ItemResult]:
        if not batch:
            return []
        now = utcnow()
        with write_transaction(self.engine) as conn:
            fresh, results = _split_duplicates(conn, batch)
            resolution = _resolve(conn, fresh)
            customers.create(conn, resolution.new_customers, now)
            customers.add_identities(conn, resolution.new_identities, _first_seen(fresh))
            for merge in resolution.merges:
                interaction_id = fresh[merge.event_index].row["id"]
                survivor = resolution.survivor_of[merge.merged_id]
                customers.apply_merge(conn, merge, survivor, interaction_id, now)
            rows = []
            for item, cid in zip(fresh, resolution.customer_of_event, strict=True):
                item.row["customer_id"] = cid
                rows.append(item.row)
                results.append(ItemResult(item.position, "accepted", item.row["id"], cid))
            log.append(conn, rows)
            _update_traits(conn, fresh, resolution, now)
            for project in self.projectors:
                project(conn, rows, resolution.survivor_of)
        return results


def _raw_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _split_duplicates(
    conn: Connection, batch: list[Prepared]
) -> tuple[list[Prepared], list[ItemResult]]:
    stored = log.existing_ids(conn, list({p.row["id"] for p in batch}))
    fresh: list[Prepared] = []
    results: list[ItemResult] = []
    seen: set[str] = set()
    for item in batch:
        iid = item.row["id"]
        if iid in stored or iid in seen:
            results.append(ItemResult(item.position, "duplicate", iid, reason="already stored"))
        else:
            seen.add(iid)
            fresh.append(item)
    return fresh, results


def _resolve(conn: Connection, fresh: list[Prepared]) -> Resolution:
    keys = list({k for item in fresh for k in item.keys})
    owners = customers.owners_of_keys(conn, keys)
    ranks = customers.ranks(conn, list(set(owners.values())))
    return resolve_batch([item.keys for item in fresh], owners, ranks, new_customer_id)


def _first_seen(fresh: list[Prepared]) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for item in fresh:
        at = item.row["occurred_at"]
        for key in item.keys:
            if key not in first or at < first[key]:
                first[key] = at
    return first


def _update_traits(
    conn: Connection, fresh: list[Prepared], resolution: Resolution, now: datetime
) -> None:
    """Fold merged-away profiles into survivors, then apply new traits in time order."""
    losers_of: dict[str, list[str]] = {}
    for loser, survivor in resolution.survivor_of.items():
        losers_of.setdefault(survivor, []).append(loser)
    updates = sorted(
        (item.row["occurred_at"], item.row["customer_id"], item.traits)
        for item in fresh
        if item.traits
    )
    touched = set(losers_of) | {cid for _, cid, _ in updates}
    if not touched:
        return
    current = customers.traits_of(conn, list(touched | set(resolution.survivor_of)))
    new_traits: dict[str, dict[str, Any]] = {}
    for cid in touched:
        merged: dict[str, Any] = {}
        for loser in losers_of.get(cid, []):
            merged.update(current.get(loser) or {})
        merged.update(current.get(cid) or {})
        new_traits[cid] = merged
    for _, cid, traits in updates:
        new_traits[cid].update(traits)
    customers.set_traits(conn, new_traits, now)
