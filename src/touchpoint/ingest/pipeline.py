"""The one ingestion path every source goes through: prepare → dedupe → resolve → append.

Each batch is one write transaction, so a crash mid-import loses at most the batch in flight,
and re-running the import fills it in (ids are idempotency keys).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine

from touchpoint.domain.identity import ALIAS_KIND, JunkIdentifiers, alias_partners, kind_of
from touchpoint.domain.moments import EventWindow, utc_text
from touchpoint.domain.reach import ReachTable
from touchpoint.domain.resolution import (
    Resolution,
    customers_to_check,
    fold_profiles,
    resolve_batch,
    say_trait,
)
from touchpoint.errors import ValidationError
from touchpoint.ingest.conflicts import CONTENT_COLUMNS, conflict_reason, content_of, differences
from touchpoint.ingest.prepare import ROW_COLUMNS, Prepared, prepare
from touchpoint.ingest.reach import load_reach_table
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.ingest.suppression import split_suppressed
from touchpoint.perf import without_cycle_collection
from touchpoint.projections.contract import LogBatch
from touchpoint.settings import Settings
from touchpoint.store import customers, identity, log
from touchpoint.store.engine import bulk_connection, transaction, write_transaction

BATCH_SIZE = 5_000
# An item to ingest: its position (index or line number) and the raw interaction, its upstream
# rejection, or the item already prepared.
Raw = tuple[int, dict[str, Any] | ItemResult | Prepared]
LOG_COLUMNS = (*ROW_COLUMNS, "customer_id")


def new_customer_id() -> str:
    return "cus_" + secrets.token_hex(10)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Projecting(Protocol):
    """What ingest needs of the projections: fold one stored batch inline (projections.registry)."""

    def apply(self, conn: Connection, batch: LogBatch) -> None: ...


@dataclass(slots=True)
class Written:
    """What one batch's transaction did: the fresh items stored (with their customers, in
    order), the items already stored with the same content, and those whose id is stored with
    other content (with the fields that differ), which stored nothing."""

    fresh: list[Prepared]
    customer_ids: list[str]
    duplicates: list[Prepared]
    conflicts: list[tuple[Prepared, tuple[str, ...]]] = field(default_factory=list)
    suppressed: list[ItemResult] = field(default_factory=list)  # naming an erased person

    def results(self) -> list[ItemResult]:
        results = [
            ItemResult(item.position, "duplicate", item.id, reason="already stored")
            for item in self.duplicates
        ]
        results += self.conflict_results() + self.suppressed
        for item, cid in zip(self.fresh, self.customer_ids, strict=True):
            results.append(
                ItemResult(item.position, "accepted", item.id, cid, warnings=item.warnings)
            )
        return results

    def conflict_results(self) -> list[ItemResult]:
        return [
            ItemResult(
                item.position,
                "conflict",
                item.id,
                reason=conflict_reason(item.id, fields),
                differs=fields,
            )
            for item, fields in self.conflicts
        ]


class Ingestor:
    def __init__(
        self, engine: Engine, settings: Settings, projections: Projecting | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.projections = projections
        # Called after an ingest stored something (the server's scheduler wakes on it, so a
        # playbook triggered by what arrived starts now, not at its next regular look).
        self.on_stored: list[Callable[[], None]] = []

    def ingest(
        self,
        raws: Iterable[Raw],
        *,
        keep_results: bool = True,
        batch_size: int = BATCH_SIZE,
        on_progress: Callable[[int], None] | None = None,
        bulk: bool = False,
    ) -> IngestReport:
        """Ingest (position, raw) pairs; an ItemResult in place of a raw is an upstream rejection,
        a Prepared one already prepared (`prepare_item`).

        `bulk` (a file import): all batches go through one connection tuned for long imports, and
        the projections are deferred — the caller catches them up afterwards
        (`Projections.catch_up`), from their checkpoints, in large vectorised batches.
        """
        with ExitStack() as stack:
            conn = None
            if bulk:
                conn = stack.enter_context(bulk_connection(self.engine))
                stack.enter_context(without_cycle_collection())
            report = self._ingest(
                raws, conn, keep_results, batch_size, on_progress, inline=not bulk
            )
        if report.accepted:
            for listener in self.on_stored:
                listener()
        return report

    def _ingest(
        self,
        raws: Iterable[Raw],
        conn: Connection | None,
        keep_results: bool,
        batch_size: int,
        on_progress: Callable[[int], None] | None,
        *,
        inline: bool,
    ) -> IngestReport:
        report = IngestReport(keep_results=keep_results)
        batch: list[Prepared] = []
        pending_rejections: list[ItemResult] = []
        received_at = utcnow()
        region = self.settings.default_region
        window = self.settings.event_window()
        junk = self.settings.junk()
        reach = load_reach_table(self.settings.reach_channels_file)

        def flush() -> None:
            written = self.write(batch, conn, inline=inline)
            if keep_results:
                results = written.results() + pending_rejections
                for result in sorted(results, key=lambda r: r.position):
                    report.add(result)
            else:  # counting is all a report without results needs from stored items
                report.accepted += len(written.fresh)
                report.duplicates += len(written.duplicates)
                for item in written.fresh:
                    if item.warnings:  # a placeholder identity left out: said in the report
                        report.note(
                            ItemResult(item.position, "accepted", item.id, warnings=item.warnings)
                        )
                results = written.conflict_results() + written.suppressed + pending_rejections
                for result in sorted(results, key=lambda r: r.position):
                    report.add(result)
            if on_progress:
                on_progress(len(batch) + len(pending_rejections))
            batch.clear()
            pending_rejections.clear()

        append, reject = batch.append, pending_rejections.append
        for position, raw in raws:
            if isinstance(raw, dict):
                raw = prepare_item(
                    raw,
                    position,
                    received_at=received_at,
                    default_region=region,
                    window=window,
                    junk=junk,
                    reach=reach,
                )
            if isinstance(raw, Prepared):  # prepared here, or already (in a file's reader process)
                append(raw)
            else:
                reject(raw)
            if len(batch) + len(pending_rejections) >= batch_size:
                flush()
        if batch or pending_rejections:
            flush()
        return report

    def write(
        self, batch: list[Prepared], conn: Connection | None = None, *, inline: bool = True
    ) -> Written:
        """Store one batch in one transaction: dedupe, resolve identities, merge, append, and
        (`inline`) fold it into the projections."""
        if not batch:
            return Written([], [], [])
        if conn is None:
            with write_transaction(self.engine) as conn:
                return self._write(conn, batch, inline)
        with transaction(conn):
            return self._write(conn, batch, inline)

    def _write(self, conn: Connection, batch: list[Prepared], inline: bool) -> Written:
        now = utcnow()
        batch, suppressed = split_suppressed(conn, batch)
        fresh, duplicates, conflicts = _split_duplicates(conn, batch)
        resolution = _resolve(conn, fresh, self.settings.merge_limits, now)
        owners = resolution.customer_of_event
        rows = [item.row + (cid,) for item, cid in zip(fresh, owners, strict=True)]
        project = inline and self.projections is not None and rows
        first_seq = log.last_seq(conn) if project else 0
        log.append(conn, LOG_COLUMNS, rows)
        _update_traits(conn, fresh, resolution, now)
        if project:
            assert self.projections is not None
            row_dicts = [dict(zip(LOG_COLUMNS, row, strict=True)) for row in rows]
            last_seq = log.last_seq(conn)
            self.projections.apply(
                conn, LogBatch(row_dicts, resolution.survivor_of, first_seq, last_seq)
            )
        return Written(fresh, owners, duplicates, conflicts, suppressed)


def prepare_item(
    raw: dict[str, Any],
    position: int,
    *,
    received_at: datetime,
    default_region: str,
    window: EventWindow,
    junk: JunkIdentifiers,
    reach: ReachTable | None = None,
) -> Prepared | ItemResult:
    """A raw interaction validated and prepared for the log, or its rejection with the reason."""
    try:
        return prepare(
            raw,
            position,
            received_at=received_at,
            default_region=default_region,
            window=window,
            junk=junk,
            reach=reach,
        )
    except ValidationError as exc:
        return ItemResult(position, "rejected", _raw_id(raw), reason=str(exc))


def _raw_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _split_duplicates(
    conn: Connection, batch: list[Prepared]
) -> tuple[list[Prepared], list[Prepared], list[tuple[Prepared, tuple[str, ...]]]]:
    """The batch's fresh items; the items whose id is stored already (or earlier in the batch)
    with the same content; and those with other content, with the fields that differ. Only the
    ids found stored are compared: a fresh import pays nothing for it."""
    ids = {item.id for item in batch}
    stored = log.stored_content(conn, ids, CONTENT_COLUMNS)
    if not stored and len(ids) == len(batch):
        return list(batch), [], []
    fresh: list[Prepared] = []
    duplicates: list[Prepared] = []
    conflicts: list[tuple[Prepared, tuple[str, ...]]] = []
    first: dict[str, Prepared] = {}
    for item in batch:
        earlier = stored.get(item.id)
        if earlier is None and item.id in first:
            earlier = content_of(first[item.id].row)
        if earlier is None:
            first[item.id] = item
            fresh.append(item)
            continue
        fields = differences(content_of(item.row), earlier)
        if item.time_from_receipt:  # its moment is ours, not the sender's: not its content
            fields = tuple(f for f in fields if f != "occurred_at")
        if fields:
            conflicts.append((item, fields))
        else:
            duplicates.append(item)
    return fresh, duplicates, conflicts


def _resolve(
    conn: Connection, fresh: list[Prepared], limits: Mapping[str, int], now: datetime
) -> Resolution:
    """Resolve the batch's identities against the stored graph and write what changed:
    new customers and identities, merges, and the merges protection blocked (conflicts)."""
    event_keys = [item.keys for item in fresh]
    keys = {k for item in fresh for k in item.keys}
    keys |= {p for k in keys if kind_of(k) == ALIAS_KIND for p in alias_partners(k)}
    owners = customers.owners_of_keys(conn, keys)
    # A new external or anonymous id completes a pending alias of its value (one more lookup,
    # of new keys only: a known key's alias already merged with it).
    pending = {p for k in keys if k not in owners for p in alias_partners(k)} - keys
    owners.update(customers.owners_of_keys(conn, pending))
    ranks = customers.ranks(conn, set(owners.values()))
    facts = identity.StoredFacts(conn, limits, customers_to_check(event_keys, owners))
    resolution = resolve_batch(
        event_keys, owners, ranks, new_customer_id, limits=limits, facts=facts
    )
    customers.create(conn, resolution.new_customers, now)
    first_seen = _first_seen(fresh, resolution.new_identities)
    customers.add_identities(conn, resolution.new_identities, first_seen)
    causes = [fresh[merge.event_index].id for merge in resolution.merges]
    customers.apply_merges(conn, resolution.merges, resolution.survivor_of, causes, now)
    blocked = [fresh[conflict.event_index].id for conflict in resolution.conflicts]
    identity.record_conflicts(conn, resolution.conflicts, blocked, now)
    return resolution


def _first_seen(fresh: list[Prepared], new_keys: Mapping[str, str]) -> dict[str, datetime]:
    """When each new key was first seen: the earliest event in the batch carrying it."""
    first: dict[str, datetime] = {}
    for item in fresh:
        at = item.occurred_at
        for key in item.keys:
            if key in new_keys:
                seen = first.get(key)
                if seen is None or at < seen:
                    first[key] = at
    return first


def _update_traits(
    conn: Connection, fresh: list[Prepared], resolution: Resolution, now: datetime
) -> None:
    """Fold merged-away profiles into survivors, then apply the batch's traits: per trait, the
    value said last in time wins (ties: the later arrival), so a late or back-filled event cannot
    overwrite a newer value."""
    losers_of: dict[str, list[str]] = {}
    for loser, survivor in resolution.survivor_of.items():
        losers_of.setdefault(survivor, []).append(loser)
    updates = [
        (utc_text(item.occurred_at), cid, item.traits)
        for item, cid in zip(fresh, resolution.customer_of_event, strict=True)
        if item.traits
    ]
    touched = set(losers_of) | {cid for _, cid, _ in updates}
    if not touched:
        return
    current = customers.traits_of(conn, touched | set(resolution.survivor_of))
    new_traits = {
        cid: fold_profiles(  # the survivor last: it wins ties
            current.get(source) or ({}, {}) for source in (*losers_of.get(cid, ()), cid)
        )
        for cid in touched
    }
    for at, cid, traits in updates:
        values, times = new_traits[cid]
        for name, value in traits.items():
            say_trait(values, times, name, value, at)
    changed = {
        cid: (values, times)
        for cid, (values, times) in new_traits.items()
        if not _same_json((values, times), current.get(cid) or ({}, {}))
    }
    customers.set_traits(conn, changed, now)


def _same_json(a: Any, b: Any) -> bool:
    """Equal as stored: compared as JSON text, since Python equates 1, 1.0 and True."""
    return a == b and orjson.dumps(a) == orjson.dumps(b)
