"""The outbound dialer on one connection: build a campaign's list (a lifecycle stage, abandoned
carts, customers by id, a CSV), hand records out — each checked right then (attempts left, retry
spacing, suppression, do-not-call, consent for calls, the callee's local calling hours), every
refusal recorded with its reason and never dialled — and take each call's disposition, which
schedules the record's retry or closes it. Rules in domain/outbound.py; services/outbound.py
writes the calls to the log."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from touchpoint.contact_center import router
from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain import outbound as rules
from touchpoint.domain.consent import current_consent
from touchpoint.domain.identity import normalize_phone
from touchpoint.domain.privacy import identity_hash
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.store import consent as consent_store
from touchpoint.store import outbound as store

ACTIVE = "active"
PAUSED = "paused"
REFUSED, DIALLING, ENDED = "refused", "dialling", "ended"
CART_WINDOW = timedelta(hours=24)
MAX_LOOKED_AT = 500  # records examined per hand-out at most (refusals included)
_PAGE = 50

# --- building the list --------------------------------------------------------------------------

# Where a list's customers come from: kind -> (connection, now, the source's parameters) -> the
# customer ids, in list order. A CSV is the other way in (`csv_records`). Segments plug in here:
# AUDIENCES["segment"] = lambda conn, now, p: <the members of segment p["segment"]>.
Audience = Callable[[Connection, datetime, Mapping[str, Any]], list[str]]


def _stage(conn: Connection, _now: datetime, params: Mapping[str, Any]) -> list[str]:
    stage = params.get("stage")
    if not stage:
        raise ValidationError("source.stage: name a lifecycle stage, e.g. at_risk")
    return store.customers_in_stage(conn, str(stage))


def _abandoned_carts(conn: Connection, now: datetime, params: Mapping[str, Any]) -> list[str]:
    hours = float(params.get("hours", CART_WINDOW.total_seconds() / 3600))
    carts = store.abandoned_carts(
        conn,
        now - timedelta(hours=hours),
        now,
        InteractionType.CART_ABANDONED.value,
        InteractionType.PURCHASE.value,
    )
    return [customer_id for customer_id, _cart in carts]


def _customers(conn: Connection, _now: datetime, params: Mapping[str, Any]) -> list[str]:
    wanted = [str(c) for c in params.get("customer_ids", ())]
    known = store.existing_customers(conn, wanted)
    return [c for c in wanted if c in known]


AUDIENCES: dict[str, Audience] = {
    "stage": _stage,
    "abandoned_carts": _abandoned_carts,
    "customers": _customers,
}


@dataclass(frozen=True)
class Skipped:
    line: int  # the CSV line (1 = the header), or the customer's place in the audience
    reason: str


def audience_records(
    conn: Connection, now: datetime, source: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """The records of an audience source ({"kind": "stage", "stage": "at_risk"} …): each of its
    customers with a phone (their first), else skipped."""
    kind = source.get("kind")
    audience = AUDIENCES.get(str(kind))
    if audience is None:
        raise ValidationError(f"source: {kind!r} is not one of {', '.join([*AUDIENCES, 'csv'])}")
    ids = audience(conn, now, source)
    contacts = store.contacts_of(conn, ids)
    found: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for place, customer_id in enumerate(ids, start=1):
        if customer_id not in contacts:
            skipped.append(Skipped(place, f"{customer_id}: no phone number"))
            continue
        phone, traits = contacts[customer_id]
        found.append(_record(phone, customer_id, _name(traits), f"customer:{customer_id}", now))
    return found, skipped


def csv_records(
    conn: Connection,
    now: datetime,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    default_region: str,
) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Records from CSV rows, each with its line (a `phone` column; `name`, `customer_id`
    optional); a row whose phone is missing or not a number is skipped with its line."""
    found: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for line, row in rows:
        raw = (row.get("phone") or "").strip()
        if not raw:
            skipped.append(Skipped(line, "phone: missing"))
            continue
        try:
            phone = normalize_phone(raw, default_region)
        except ValueError as exc:
            skipped.append(Skipped(line, f"phone: {exc}"))
            continue
        given = (row.get("customer_id") or "").strip()
        customer_id = (store.current(conn, given) if given else None) or store.customer_by_phone(
            conn, phone
        )
        name = (row.get("name") or "").strip() or None
        found.append(_record(phone, customer_id, name, f"csv:{line}", now))
    return found, skipped


def _record(
    phone: str, customer_id: str | None, name: str | None, ref: str, now: datetime
) -> dict[str, Any]:
    return {
        "phone": phone,
        "customer_id": customer_id,
        "name": name,
        "source_ref": ref,
        "next_attempt_at": now,
        "added_at": now,
    }


def _name(traits: Mapping[str, Any]) -> str | None:
    if traits.get("name"):
        return str(traits["name"])
    parts = [str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)]
    return " ".join(parts) or None


def create(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    *,
    name: str,
    queue: str,
    settings: rules.CampaignSettings,
    source: Mapping[str, Any],
    records: list[dict[str, Any]],
    actor: str,
) -> tuple[str, int]:
    """A new campaign with its list; (its id, records added: a phone listed twice once)."""
    if queue not in config.queues:
        raise ValidationError(f"queue: {queue!r} is not a queue of the contact center")
    if store.campaign_named(conn, name) is not None:
        raise Conflict(f"a campaign named {name!r} exists already")
    campaign_id = f"cmp_{secrets.token_hex(8)}"
    store.add_campaign(
        conn,
        id=campaign_id,
        name=name,
        queue=queue,
        status=ACTIVE,
        source=dict(source),
        settings=settings.document(),
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    return campaign_id, store.add_records(conn, campaign_id, records)


def campaign_row(conn: Connection, campaign_id: str) -> RowMapping:
    row = store.campaign(conn, campaign_id)
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    return row


def settings_of(row: RowMapping) -> rules.CampaignSettings:
    return rules.campaign_settings(row["settings"])


def set_status(conn: Connection, campaign_id: str, status: str, now: datetime) -> None:
    campaign_row(conn, campaign_id)
    store.set_campaign(conn, campaign_id, status=status, updated_at=now)


# --- handing records out ------------------------------------------------------------------------


@dataclass(frozen=True)
class HandedOut:
    attempt_id: str
    record_id: int
    phone: str
    name: str | None
    customer_id: str | None
    agent: str | None
    attempt: int  # this record's how-many-th call


@dataclass(frozen=True)
class Refusal:
    attempt_id: str
    record_id: int
    phone: str
    reason: str  # domain.outbound.REFUSAL_REASONS
    retry_at: datetime | None  # looked at again then (None: the record is closed)


@dataclass(frozen=True)
class Handout:
    campaign_id: str
    pacing: rules.Pacing
    free_agents: int
    dialling: int  # this campaign's calls handed out and not ended, before this hand-out
    calls: list[HandedOut]
    refused: list[Refusal]


def free_agents(conn: Connection, config: CenterConfig, now: datetime, queue: str) -> list[str]:
    """Agents of the queue who are ready, with room for a call, and not on an outbound call."""
    on_call = {a["agent"] for a in store.dialling(conn) if a["agent"]}
    views = router.agent_views(conn, config, now)
    return [
        v.id
        for v in views.values()
        if queue in v.queues and v.ready_at(now) and v.has_room("phone") and v.id not in on_call
    ]


def history(conn: Connection, campaign_id: str, now: datetime) -> rules.DialHistory:
    return rules.history_of(store.ended_dispositions(conn, campaign_id, now - rules.DROP_WINDOW))


def hand_out(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    campaign_id: str,
    agent: str | None = None,
) -> Handout:
    """The records to dial now: preview, one for the agent asking; progressive and predictive,
    as many as the pacing gives for the queue's free agents, less the calls still ringing."""
    row = campaign_row(conn, campaign_id)
    if row["status"] != ACTIVE:
        raise Conflict(f"campaign {row['name']!r} is paused: resume it first")
    settings = settings_of(row)
    router.settle(conn, config, now)  # wrap-ups ended by now (one after an outbound call too)
    live = store.dialling(conn, campaign_id)
    free = free_agents(conn, config, now, row["queue"])
    if settings.pacing == rules.PREVIEW:
        _check_preview_agent(conn, config, agent, row["queue"], free)
        pacing = rules.Pacing(1, "preview: one record for the agent asking")
        wanted = 1
    else:
        if agent is not None:
            raise ValidationError(
                f"agent: a {settings.pacing} campaign dials for every free agent; "
                "give the agent with the call's outcome"
            )
        pacing = rules.pace(settings.pacing, len(free), history(conn, campaign_id, now), settings)
        wanted = max(0, pacing.lines - sum(1 for a in live if a["agent"] is None))
    calls, refused = _pick(conn, now, row, settings, agent, wanted)
    for call in calls:
        if call.agent is not None:  # preview: the agent asking holds the call from now
            _occupy(conn, config, now, row["queue"], call)
    return Handout(campaign_id, pacing, len(free), len(live), calls, refused)


def _occupy(
    conn: Connection, config: CenterConfig, now: datetime, queue: str, call: HandedOut
) -> None:
    """The agent is on the call: a contact assigned to them in the router (in the campaign's
    queue), so no inbound contact is offered to them until the call's outcome is recorded."""
    assert call.agent is not None
    router.start_outbound(
        conn,
        config,
        now,
        agent_id=call.agent,
        queue=queue,
        call_ref=call.attempt_id,
        identity={"phone": call.phone},
        customer_id=call.customer_id,
    )


def connect(
    conn: Connection, config: CenterConfig, now: datetime, attempt_id: str, agent: str
) -> HandedOut:
    """A progressive or predictive call a person answered is put through to an agent of the
    campaign's queue who is free: they hold it (no inbound offer) until its outcome."""
    attempt = store.attempt(conn, attempt_id)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id!r}")
    if attempt["status"] != DIALLING:
        raise Conflict(f"attempt {attempt_id} is {attempt['status']}, not a call being dialled")
    if attempt["agent"] is not None:
        if attempt["agent"] == agent:  # put through again: the same call
            return _handed(conn, attempt, agent)
        raise Conflict(f"attempt {attempt_id} is with {attempt['agent']!r} already")
    if agent not in config.agents:
        raise ValidationError(f"agent: {agent!r} is not an agent of the contact center")
    row = campaign_row(conn, attempt["campaign_id"])
    router.settle(conn, config, now)
    if agent not in free_agents(conn, config, now, row["queue"]):
        raise Conflict(
            f"agent {agent!r} is not ready with room for a call in queue {row['queue']!r}"
        )
    store.set_attempt(conn, attempt_id, agent=agent)
    call = _handed(conn, attempt, agent)
    _occupy(conn, config, now, row["queue"], call)
    return call


def _handed(conn: Connection, attempt: RowMapping, agent: str) -> HandedOut:
    record = store.record(conn, attempt["record_id"])
    assert record is not None
    return HandedOut(
        attempt["id"],
        record["id"],
        record["phone"],
        record["name"],
        record["customer_id"],
        agent,
        record["attempts"],
    )


def _check_preview_agent(
    conn: Connection, config: CenterConfig, agent: str | None, queue: str, free: list[str]
) -> None:
    if agent is None:
        raise ValidationError("agent: a preview campaign hands a record to the agent asking")
    if agent not in config.agents:
        raise ValidationError(f"agent: {agent!r} is not an agent of the contact center")
    held = [a["id"] for a in store.dialling(conn) if a["agent"] == agent]
    if held:
        raise Conflict(f"agent {agent!r} is still on attempt {held[0]}: give its outcome first")
    if agent not in free:
        raise Conflict(f"agent {agent!r} is not ready with room for a call in queue {queue!r}")


def _pick(
    conn: Connection,
    now: datetime,
    campaign: RowMapping,
    settings: rules.CampaignSettings,
    agent: str | None,
    wanted: int,
) -> tuple[list[HandedOut], list[Refusal]]:
    calls: list[HandedOut] = []
    refused: list[Refusal] = []
    looked = 0
    while len(calls) < wanted and looked < MAX_LOOKED_AT:
        # Every record looked at leaves the due ones (dialling, closed, or due later), so each
        # page is read afresh from the start.
        page = store.due_records(conn, campaign["id"], now, _PAGE)
        if not page:
            break
        for record in page:
            looked += 1
            check = rules.dial_check(facts(conn, record, settings), settings, now)
            attempt_id = f"att_{secrets.token_hex(8)}"
            if check.reason is None:
                calls.append(_dial(conn, now, campaign, record, agent, attempt_id))
            else:
                refused.append(_refuse(conn, now, campaign, record, check, attempt_id))
            if len(calls) >= wanted or looked >= MAX_LOOKED_AT:
                break
    return calls, refused


def facts(
    conn: Connection, record: RowMapping, settings: rules.CampaignSettings
) -> rules.RecordFacts:
    """What the dial-time checks read, as it is now: the person's consent for calls (a list
    built yesterday does not carry yesterday's consent), suppression, do-not-call."""
    phone = record["phone"]
    customer_id = (
        store.current(conn, record["customer_id"]) if record["customer_id"] else None
    ) or store.customer_by_phone(conn, phone)
    status = None
    if customer_id is not None:
        held = current_consent(consent_store.history(conn, customer_id))
        change = held.get((rules.CALL_CONSENT_CHANNEL, settings.purpose))
        status = change.status if change else None
    last = record["last_outcome"]
    rule = settings.retry.get(last) if last else None
    due = None
    if rule is not None and record["last_attempt_at"] is not None:
        due = record["last_attempt_at"] + timedelta(seconds=rule.spacing_s)
        if last == rules.CALLBACK_REQUESTED:
            due = record["next_attempt_at"]  # the moment the person asked for
    return rules.RecordFacts(
        attempts=record["attempts"],
        last_outcome=last,
        due_at=due,
        suppressed=store.suppressed(conn, identity_hash(store.PHONE_PREFIX + phone)),
        do_not_call=store.on_do_not_call(conn, phone),
        consent=status,
        zones=rules.callee_zones(phone),
    )


def _dial(
    conn: Connection,
    now: datetime,
    campaign: RowMapping,
    record: RowMapping,
    agent: str | None,
    attempt_id: str,
) -> HandedOut:
    store.add_attempt(
        conn,
        id=attempt_id,
        campaign_id=campaign["id"],
        record_id=record["id"],
        status=DIALLING,
        agent=agent,
        at=now,
    )
    attempts = record["attempts"] + 1
    store.set_record(conn, record["id"], attempts=attempts, next_attempt_at=None)
    return HandedOut(
        attempt_id,
        record["id"],
        record["phone"],
        record["name"],
        record["customer_id"],
        agent,
        attempts,
    )


def _refuse(
    conn: Connection,
    now: datetime,
    campaign: RowMapping,
    record: RowMapping,
    check: rules.DialCheck,
    attempt_id: str,
) -> Refusal:
    assert check.reason is not None
    store.add_attempt(
        conn,
        id=attempt_id,
        campaign_id=campaign["id"],
        record_id=record["id"],
        status=REFUSED,
        reason=check.reason,
        at=now,
    )
    if check.reason in rules.CLOSING_REFUSALS:
        store.set_record(conn, record["id"], next_attempt_at=None, closed_reason=check.reason)
        retry_at = None
    else:
        retry_at = check.retry_at or now + timedelta(minutes=5)
        store.set_record(conn, record["id"], next_attempt_at=retry_at)
    return Refusal(attempt_id, record["id"], record["phone"], check.reason, retry_at)


# --- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    attempt_id: str
    disposition: str
    outcome: str
    agent: str | None
    retry_at: datetime | None
    closed_reason: str | None
    repeated: bool  # the same outcome was given before: nothing changed


def record_outcome(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    attempt_id: str,
    *,
    code: str,
    agent: str | None = None,
    duration_s: float | None = None,
    callback_at: datetime | None = None,
) -> Outcome:
    """How a handed-out call ended (a VICIdial disposition): the attempt ends, the record is
    scheduled again or closed, a DNC puts the number on the do-not-call list. Giving the same
    disposition again changes nothing; another one is a conflict."""
    try:
        disposition = rules.disposition(code)
    except ValueError as exc:
        raise ValidationError(f"disposition: {exc}") from None
    attempt = store.attempt(conn, attempt_id)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id!r}")
    record = store.record(conn, attempt["record_id"])
    assert record is not None
    if attempt["status"] == REFUSED:
        raise Conflict(
            f"attempt {attempt_id} was refused at dial time ({attempt['reason']}): never dialled"
        )
    if attempt["status"] == ENDED:
        return _repeat(attempt, record, disposition, agent)
    agent = _outcome_agent(config, attempt, agent)
    if disposition.human and not disposition.drop and agent is None:
        raise ValidationError(f"agent: who spoke to the person ({disposition.code})?")
    row = campaign_row(conn, attempt["campaign_id"])
    step = rules.after_call(
        disposition.outcome, record["attempts"], now, settings_of(row).retry, callback_at
    )
    store.set_attempt(
        conn,
        attempt_id,
        status=ENDED,
        ended_at=now,
        disposition=disposition.code,
        outcome=disposition.outcome,
        agent=agent,
        duration_s=duration_s,
        callback_at=callback_at,
    )
    store.set_record(
        conn,
        record["id"],
        last_disposition=disposition.code,
        last_outcome=disposition.outcome,
        last_attempt_at=now,
        next_attempt_at=step.retry_at,
        closed_reason=step.closed_reason,
    )
    if disposition.outcome == rules.DO_NOT_CALL:
        store.add_do_not_call(conn, record["phone"], now, f"attempt:{attempt_id}")
    router.end_outbound(conn, config, now, attempt_id, disposition.outcome)  # the agent is free
    return Outcome(
        attempt_id,
        disposition.code,
        disposition.outcome,
        agent,
        step.retry_at,
        step.closed_reason,
        repeated=False,
    )


def _outcome_agent(config: CenterConfig, attempt: RowMapping, agent: str | None) -> str | None:
    if agent is not None and agent not in config.agents:
        raise ValidationError(f"agent: {agent!r} is not an agent of the contact center")
    if attempt["agent"] is not None and agent is not None and agent != attempt["agent"]:
        raise ValidationError(f"agent: attempt {attempt['id']} was handed to {attempt['agent']!r}")
    return agent or attempt["agent"]


def _repeat(
    attempt: RowMapping, record: RowMapping, disposition: rules.Disposition, agent: str | None
) -> Outcome:
    if attempt["disposition"] != disposition.code or (agent and agent != attempt["agent"]):
        raise Conflict(
            f"attempt {attempt['id']} ended already as {attempt['disposition']}"
            + (f" by {attempt['agent']}" if attempt["agent"] else "")
        )
    return Outcome(
        attempt["id"],
        disposition.code,
        disposition.outcome,
        attempt["agent"],
        record["next_attempt_at"],
        record["closed_reason"],
        repeated=True,
    )
