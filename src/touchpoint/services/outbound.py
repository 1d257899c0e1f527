"""Outbound campaigns for every face: create a campaign from a lifecycle stage, abandoned carts,
customers or a CSV; list and show them; hand out the next records to dial (checked at that
moment); take each call's disposition; pause and resume. Every ended call is written to the
interaction log once (its id `ob-<attempt id>`), as an outbound `call` with its agent, the
campaign as attribution campaign, its outcome and duration."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.contact_center import outbound as dialer
from touchpoint.domain import outbound as rules
from touchpoint.errors import NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import current_config
from touchpoint.store import contact_center as center_store
from touchpoint.store import outbound as store
from touchpoint.store.engine import read_connection

LOG_ID_PREFIX = "ob-"
MAX_CSV_ROWS = 200_000
SHOWN_RECORDS = 20


@dataclass(frozen=True)
class CampaignView:
    id: str
    name: str
    queue: str
    status: str
    pacing: str
    settings: dict[str, Any]
    source: dict[str, Any]
    created_at: datetime
    created_by: str
    records: dict[str, int]  # open, and closed by reason
    attempts: dict[str, int]  # dialling, ended, refused:<reason>
    dialled_30d: int
    human_30d: int
    drops_30d: int
    answer_rate: float | None
    drop_rate: float | None


@dataclass(frozen=True)
class Created:
    campaign: CampaignView
    added: int
    skipped: list[dialer.Skipped]


@dataclass(frozen=True)
class RecordView:
    id: int
    phone: str
    name: str | None
    customer_id: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_disposition: str | None
    last_outcome: str | None
    closed_reason: str | None


@dataclass(frozen=True)
class CampaignDetail:
    campaign: CampaignView
    records: list[RecordView] = field(default_factory=list)  # the first SHOWN_RECORDS


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- campaigns ----------------------------------------------------------------------------------


def create_campaign(
    tp: Touchpoint,
    *,
    name: str,
    queue: str,
    settings: Mapping[str, Any],
    source: Mapping[str, Any] | None = None,
    csv_text: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> Created:
    """A campaign and its list: from `source` ({"kind": "stage", "stage": "at_risk"},
    {"kind": "abandoned_carts", "hours": 24}, {"kind": "customers", "customer_ids": […]}) or from
    CSV text (a `phone` column). Rows and customers without a usable phone are skipped and said."""
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValidationError("name: 1 to 200 printable characters")
    try:
        parsed = rules.campaign_settings(settings)
    except ValueError as exc:
        raise ValidationError(f"settings.{exc}") from None
    if (source is None) == (csv_text is None):
        raise ValidationError("source: give one, an audience or a CSV file")
    now = now or utcnow()
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        if csv_text is not None:
            rows = _csv_rows(csv_text)
            records, skipped = dialer.csv_records(conn, now, rows, tp.settings.default_region)
            origin: dict[str, Any] = {"kind": "csv", "rows": len(rows)}
        else:
            assert source is not None
            records, skipped = dialer.audience_records(conn, now, source)
            origin = dict(source)
        campaign_id, added = dialer.create(
            conn,
            config,
            now,
            name=name,
            queue=queue,
            settings=parsed,
            source=origin,
            records=records,
            actor=actor,
        )
        view = _view(conn, dialer.campaign_row(conn, campaign_id), now)
    return Created(view, added, skipped)


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    if "\x00" in text:
        raise ValidationError("CSV: the text holds a NUL character; is it a CSV file?")
    try:
        return _read_csv(text)
    except csv.Error as exc:
        raise ValidationError(f"CSV: {exc}") from None


def _read_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """(the line a row ends on, the row), blank lines skipped."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "phone" not in [f.strip() for f in reader.fieldnames]:
        raise ValidationError("CSV line 1: the header needs a phone column")
    rows = []
    for row in reader:
        if len(rows) >= MAX_CSV_ROWS:
            raise ValidationError(f"CSV: more than {MAX_CSV_ROWS} rows; split the file")
        values = {(k or "").strip(): (v or "") for k, v in row.items() if isinstance(v, str)}
        rows.append((reader.line_num, values))
    return rows


def _resolve(conn: Connection, ref: str) -> Any:
    row = store.campaign(conn, ref) or store.campaign_named(conn, ref)
    if row is None:
        raise NotFound(f"no campaign {ref!r}")
    return row


def _view(conn: Connection, row: Any, now: datetime) -> CampaignView:
    history = dialer.history(conn, row["id"], now)
    return CampaignView(
        id=row["id"],
        name=row["name"],
        queue=row["queue"],
        status=row["status"],
        pacing=row["settings"]["pacing"],
        settings=dict(row["settings"]),
        source=dict(row["source"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        records=store.record_counts(conn, row["id"]),
        attempts=store.attempt_counts(conn, row["id"]),
        dialled_30d=history.dialled,
        human_30d=history.human,
        drops_30d=history.drops,
        answer_rate=history.answer_rate,
        drop_rate=history.drop_rate,
    )


def campaign_id(tp: Touchpoint, ref: str) -> str:
    """The id of the campaign an id or name names (NotFound otherwise)."""
    with read_connection(tp.engine) as conn:
        return str(_resolve(conn, ref)["id"])


def campaigns(tp: Touchpoint) -> list[CampaignView]:
    now = utcnow()
    with read_connection(tp.engine) as conn:
        return [_view(conn, row, now) for row in store.campaigns(conn)]


def campaign(tp: Touchpoint, ref: str) -> CampaignDetail:
    """A campaign (by id or name) with its first records."""
    with read_connection(tp.engine) as conn:
        row = _resolve(conn, ref)
        shown = [_record_view(r) for r in store.records(conn, row["id"], SHOWN_RECORDS)]
        return CampaignDetail(_view(conn, row, utcnow()), shown)


def _record_view(row: Any) -> RecordView:
    return RecordView(
        row["id"],
        row["phone"],
        row["name"],
        row["customer_id"],
        row["attempts"],
        row["next_attempt_at"],
        row["last_disposition"],
        row["last_outcome"],
        row["closed_reason"],
    )


def set_status(tp: Touchpoint, ref: str, status: str) -> CampaignView:
    """Pause (nothing is handed out; calls in progress still take their outcome) or resume."""
    if status not in (dialer.ACTIVE, dialer.PAUSED):
        raise ValidationError(f"status: {dialer.ACTIVE} or {dialer.PAUSED}")
    now = utcnow()
    with center_store.center_transaction(tp.engine) as conn:
        row = _resolve(conn, ref)
        dialer.set_status(conn, row["id"], status, now)
        return _view(conn, dialer.campaign_row(conn, row["id"]), now)


# --- dialling -----------------------------------------------------------------------------------


def next_calls(
    tp: Touchpoint, ref: str, *, agent: str | None = None, now: datetime | None = None
) -> dialer.Handout:
    """The records to dial now (checked now; refusals recorded and returned with their reason)."""
    now = now or utcnow()
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        row = _resolve(conn, ref)
        return dialer.hand_out(conn, config, now, row["id"], agent)


def connect_call(
    tp: Touchpoint,
    attempt_id: str,
    agent: str,
    *,
    campaign_ref: str | None = None,
    now: datetime | None = None,
) -> dialer.HandedOut:
    """A progressive or predictive call a person answered, put through to a free agent: they
    hold it in the router (no inbound offer) until its outcome is recorded. `campaign_ref`
    (id or name), when given, must be the attempt's campaign (NotFound otherwise)."""
    now = now or utcnow()
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        if campaign_ref is not None:
            row = _resolve(conn, campaign_ref)
            found = store.attempt(conn, attempt_id)
            if found is None or found["campaign_id"] != row["id"]:
                raise NotFound(f"no attempt {attempt_id!r} in campaign {row['name']!r}")
        return dialer.connect(conn, config, now, attempt_id, agent)


def attempt_campaign(tp: Touchpoint, attempt_id: str) -> str:
    """The campaign an attempt belongs to."""
    with read_connection(tp.engine) as conn:
        found = store.attempt(conn, attempt_id)
    if found is None:
        raise NotFound(f"no attempt {attempt_id!r}")
    return str(found["campaign_id"])


def record_outcome(
    tp: Touchpoint,
    attempt_id: str,
    *,
    disposition: str,
    agent: str | None = None,
    duration_s: float | None = None,
    callback_at: datetime | None = None,
    campaign_ref: str | None = None,
    now: datetime | None = None,
) -> dialer.Outcome:
    """A call's disposition: its record retried or closed, the call written to the log (once)."""
    if duration_s is not None and not 0 <= duration_s <= 86_400:
        raise ValidationError("duration_s: 0 to 86400 seconds")
    if callback_at is not None and callback_at.tzinfo is None:
        raise ValidationError("callback_at: give a time zone (e.g. 2026-12-03T10:00:00+01:00)")
    now = now or utcnow()
    with center_store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        if campaign_ref is not None:
            row = _resolve(conn, campaign_ref)
            found = store.attempt(conn, attempt_id)
            if found is None or found["campaign_id"] != row["id"]:
                raise NotFound(f"no attempt {attempt_id!r} in campaign {row['name']!r}")
        result = dialer.record_outcome(
            conn,
            config,
            now,
            attempt_id,
            code=disposition,
            agent=agent,
            duration_s=duration_s,
            callback_at=callback_at,
        )
    flush_log(tp)
    return result


# --- the log ------------------------------------------------------------------------------------


def flush_log(tp: Touchpoint) -> int:
    """Write every ended call not yet in the interaction log (idempotent: `ob-<attempt id>`)."""
    with read_connection(tp.engine) as conn:
        ended = store.unlogged(conn)
    if not ended:
        return 0
    report = tp.ingestor.ingest([(i, interaction_of(row)) for i, row in enumerate(ended)])
    refused = {r.position for r in report.results if r.status not in ("accepted", "duplicate")}
    stored = [row["id"] for i, row in enumerate(ended) if i not in refused]
    with center_store.center_transaction(tp.engine) as conn:
        store.mark_logged(conn, stored, utcnow())
    return len(stored)


def interaction_of(row: Any) -> dict[str, Any]:
    """An ended call as the log holds it: an outbound phone call to the record's number, made
    by its agent (none for a drop or an unanswered line) in the campaign's queue, attributed to
    the campaign, with the Touchpoint outcome and the VICIdial disposition."""
    item: dict[str, Any] = {
        "id": f"{LOG_ID_PREFIX}{row['id']}",
        "type": "call",
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": row["at"].isoformat(),
        "customer": {"phone": row["phone"]},
        "queue": row["queue"],
        "outcome": row["outcome"],
        "attribution": {"campaign": row["campaign_name"]},
        "properties": {
            "disposition": row["disposition"],
            "campaign_id": row["campaign_id"],
            "attempt_id": row["id"],
        },
    }
    if row["agent"]:
        item["agent"] = row["agent"]
    if row["duration_s"] is not None:
        item["duration_s"] = row["duration_s"]
    return item
