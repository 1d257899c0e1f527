"""Privacy for one person: export everything held about them as one JSON document, and erase
their personal data from the system of record and every copy of it, remembering their identities
only as hashes (the suppression list) so late events cannot re-create them.

The export is a list of sections (`SECTIONS`), each a function from the person to a JSON value:
a new source of personal data (scores, segments, tickets, messages sent) adds one function there
— and, if it holds personal data itself, one step to `erase`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.moments import utc_text
from touchpoint.domain.privacy import identity_hashes, pseudonymised_properties, without_mentions
from touchpoint.domain.stages import StageModel
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit, consent
from touchpoint.services.customers import current_id, lifecycle_of
from touchpoint.services.lifecycle import model_in_force
from touchpoint.store import customers as customer_store
from touchpoint.store import outbound as outbound_store
from touchpoint.store import privacy as store
from touchpoint.store.engine import read_connection, transaction

EXPORT_FORMAT = "touchpoint.privacy-export/1"
# Traits whose text names or reaches the person: what the residue check looks for besides the
# identities (shorter values match by chance in binary files).
NAMING_TRAITS = ("name", "first_name", "last_name", "email", "phone")
MIN_NEEDLE = 5


@dataclass(frozen=True)
class Person:
    customer_id: str  # the customer the requested id answers with now (after merges)
    requested_id: str
    customer_ids: tuple[str, ...]  # customer_id and every customer merged into it


def utcnow() -> datetime:
    return datetime.now(UTC)


def person(conn: Connection, customer_id: str) -> Person:
    """The person a customer id names (a merged-away id answers with its survivor)."""
    cid = current_id(conn, customer_id)
    return Person(cid, customer_id, tuple(store.person_ids(conn, cid)))


# --- export ---------------------------------------------------------------------------------------

Section = Callable[[Connection, Person], Any]


def _profile(conn: Connection, who: Person) -> Any:
    rows = [customer_store.get(conn, cid) for cid in who.customer_ids]
    return [row for row in rows if row is not None]


def _identities(conn: Connection, who: Person) -> Any:
    return [
        {
            "kind": i["kind"],
            "value": i["key"].partition(":")[2],
            "first_seen_at": i["first_seen_at"],
        }
        for cid in who.customer_ids
        for i in customer_store.identities_of(conn, cid)
    ]


def _merges(conn: Connection, who: Person) -> Any:
    return store.merges_involving(conn, who.customer_ids)


def _interactions(conn: Connection, who: Person) -> Any:
    return store.interactions_of(conn, who.customer_ids)


def _lifecycle(conn: Connection, who: Person) -> Any:
    return lifecycle_of(conn, who.customer_id)


def _consent(conn: Connection, who: Person) -> Any:
    return {
        "current": [
            {"channel": c.channel, "purpose": c.purpose, "status": c.status, "since": c.occurred_at}
            for c in consent.in_force(conn, who.customer_id)
        ],
        "history": consent.history(conn, who.customer_id),
    }


def _phones(keys: Iterable[str]) -> list[str]:
    return [key.partition(":")[2] for key in keys if key.startswith("phone:")]


def _outbound(conn: Connection, who: Person) -> Any:
    """Their places on outbound dialer lists and the calls made (by customer or phone)."""
    phones = _phones(store.identity_keys_of(conn, who.customer_ids))
    return outbound_store.person_records(conn, who.customer_ids, phones)


def _audit(conn: Connection, who: Person) -> Any:
    return store.audit_about(conn, who.customer_ids)


SECTIONS: tuple[tuple[str, Section], ...] = (
    ("profile", _profile),
    ("identities", _identities),
    ("merges", _merges),
    ("interactions", _interactions),
    ("lifecycle", _lifecycle),
    ("consent", _consent),
    ("outbound", _outbound),
    ("audit", _audit),
)


def export(tp: Touchpoint, customer_id: str, *, actor: str) -> dict[str, Any]:
    """Everything held about the person as one JSON-ready document (times as ISO 8601 UTC);
    the export is recorded in the audit trail."""
    with read_connection(tp.engine) as conn:
        who = person(conn, customer_id)
        document: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "exported_at": utcnow(),
            "customer_id": who.customer_id,
            "requested_id": who.requested_id,
            "customer_ids": list(who.customer_ids),
        }
        for name, section in SECTIONS:
            document[name] = section(conn, who)
    audit.record_read(tp.engine, actor, "customer.export", who.customer_id, kind="privacy")
    exported: dict[str, Any] = jsonable(document)
    return exported


def jsonable(value: Any) -> Any:
    """Dataclasses, datetimes and tuples as plain JSON values."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


# --- erasure --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What an erasure did."""

    customer_id: str
    customer_ids: tuple[str, ...]  # the person's customers (the survivor and those merged in)
    identities: int  # identities removed (and suppressed)
    interactions: int  # log rows pseudonymised (kept: counts, types, channels, times, revenue)
    merges: int  # merge records stripped of identities and profiles
    copy_removed: bool  # the analytics copy was deleted (rebuilt on the next report)
    compacted: bool | None  # SQLite: file rebuilt and WAL emptied (False: a reader held it)
    residue: tuple[str, ...]  # data-directory files still holding an erased value (none expected)


def erase(tp: Touchpoint, customer_id: str, *, actor: str) -> Erasure:
    """Remove the person's personal data: identities (suppressed as hashes), profile traits,
    the personal fields of merge records and conflicts, and every property of their interactions
    but those reports and stage rules read (`domain.privacy.KEPT_PROPERTIES`), in one write
    transaction with its audit entry; then the analytics copy is deleted and, on SQLite, the file
    is rebuilt and its WAL emptied so no old page keeps the bytes."""
    with tp.engine.connect() as conn:
        store.secure_delete(conn, True)
        try:
            with transaction(conn):
                who, needles, counts = _erase_in(tp, conn, customer_id, actor)
        finally:
            store.secure_delete(conn, False)
        compacted = store.compact_sqlite(conn) if conn.dialect.name == "sqlite" else None
    copy_removed = _remove_copy(tp.settings.data_dir)
    return Erasure(
        customer_id=who.customer_id,
        customer_ids=who.customer_ids,
        copy_removed=copy_removed,
        compacted=compacted,
        residue=residue(tp.settings.data_dir, needles),
        **counts,
    )


def _erase_in(
    tp: Touchpoint, conn: Connection, customer_id: str, actor: str
) -> tuple[Person, set[str], dict[str, int]]:
    who = person(conn, customer_id)
    ids = who.customer_ids
    keys = store.identity_keys_of(conn, ids)
    needles = _needles(conn, who, keys)
    rows = store.interactions_of(conn, ids)
    kept = model_properties(model_in_force(conn))
    store.rewrite_interactions(
        conn, [(r["seq"], pseudonymised_properties(r["properties"], kept), []) for r in rows]
    )
    landed = store.forget_conflicts(conn, ids, keys)
    store.strip_keys(conn, landed, keys)
    _forget_mentions(conn, keys, ids)
    merges = store.blank_merges(conn, ids)
    outbound_store.forget_person(conn, ids, _phones(keys))  # dialer lists
    store.forget_identities(conn, ids)
    now = utcnow()
    store.blank_profiles(conn, ids, now)
    store.suppress(conn, identity_hashes(keys), now)
    tp.projections.refold(conn, [who.customer_id], [])
    audit.record(  # counts and kinds only: the trail must not keep what was erased
        conn,
        actor,
        "customer.erase",
        who.customer_id,
        customers=len(ids),
        identities=len(keys),
        kinds=sorted({key.partition(":")[0] for key in keys}),
        interactions=len(rows),
    )
    return who, needles, {"identities": len(keys), "interactions": len(rows), "merges": merges}


def _forget_mentions(conn: Connection, keys: list[str], ids: tuple[str, ...]) -> None:
    """Other customers' properties naming one of the erased identities (a friend's referral)
    lose that entry; values too short to be distinctive are not searched."""
    values = {v for key in keys if len(v := key.partition(":")[2]) >= MIN_NEEDLE}
    emails = {v for v in values if f"email:{v}" in keys}
    changed = []
    for seq, properties in store.rows_mentioning(conn, values, ids):
        kept = without_mentions(properties, emails, values - emails)
        if kept != properties:
            changed.append((seq, kept))
    store.rewrite_properties(conn, changed)


def model_properties(model: StageModel) -> set[str]:
    """The property names the stage model's rules read: kept, so a replay places them alike."""
    rules = [*model.stage_rules, *(r for o in model.overlays for r in (*o.enter, *o.exit))]
    return {
        name
        for rule in rules
        for name, _value in (*rule.property_equals, *rule.property_min, *rule.property_max)
    }


def _needles(conn: Connection, who: Person, keys: Iterable[str]) -> set[str]:
    """The erased values a file must not hold afterwards: identity values and naming traits."""
    values = {key.partition(":")[2] for key in keys}
    for cid in who.customer_ids:
        row = customer_store.get(conn, cid) or {}
        traits = row.get("traits") or {}
        values |= {str(traits[t]) for t in NAMING_TRAITS if isinstance(traits.get(t), str)}
    return {v for v in values if len(v) >= MIN_NEEDLE}


def _remove_copy(data_dir: Path) -> bool:
    """Delete the analytics copy and its WAL: rewriting rows would leave old blocks in the
    file; the next report rebuilds it from the system of record, already erased."""
    from touchpoint.analytics.columnar import COPY_FILE

    removed = False
    for name in (COPY_FILE, COPY_FILE + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()
            removed = True
    return removed


CHUNK = 1 << 20


def residue(data_dir: Path, needles: Iterable[str]) -> tuple[str, ...]:
    """The files under `data_dir` whose bytes still contain one of `needles` (UTF-8)."""
    wanted = [n.encode() for n in needles if n]
    if not wanted or not data_dir.is_dir():
        return ()
    overlap = max(len(w) for w in wanted)
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        if _holds(path, wanted, overlap):
            found.append(str(path.relative_to(data_dir)))
    return tuple(found)


def _holds(path: Path, wanted: list[bytes], overlap: int) -> bool:
    try:
        with path.open("rb") as file:
            tail = b""
            while chunk := file.read(CHUNK):
                window = tail + chunk
                if any(w in window for w in wanted):
                    return True
                tail = window[-overlap:]
    except OSError:
        return False
    return False
