"""Durable playbook runs, exactly once in effect.

Triggers: a consumer reads the log (interactions) and the lifecycle stream (stage_entered) after
its own checkpoint and starts runs in the same transaction as the checkpoint; a run's key
(playbook, customer, occurrence) is unique, so reading an event twice starts one run.

Steps: a step is a row keyed (run, step). A worker claims due rows with a lease and an attempt
number, acts, and records the outcome — with the interaction it writes to the log and the run's
next step — in one transaction that succeeds only while its claim holds. A worker killed before
that commit leaves the row claimed; once the lease passes another claims it and acts again. For
email that is the one window where a message can go twice (SMTP accepted it, the commit did not
happen); the resend carries the same Message-ID (docs/decisions.md)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from touchpoint.automation import email, webhook
from touchpoint.automation.links import Unsubscribe, unsubscribe_token, unsubscribe_url
from touchpoint.automation.playbooks import PlaybookFile, render_email, template_environment
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import DEFAULT_PURPOSE, current_consent
from touchpoint.domain.playbooks import Playbook, Step
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import ValidationError
from touchpoint.projections.events import Consumer
from touchpoint.settings import Settings
from touchpoint.store import automation as store
from touchpoint.store import consent as consent_store
from touchpoint.store import projections as checkpoints
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.log import last_seq
from touchpoint.store.tables import stage_transitions

LOG_CONSUMER = "automation.log"
STAGE_CONSUMER = "automation.lifecycle"
MAX_ATTEMPTS = 5  # an action failing this often fails its run
RETRY_BASE = timedelta(minutes=1)  # then 2, 4, 8 minutes
SUPPRESSED_NAME = "message_suppressed"  # the `custom` interaction a suppression is logged as
BATCH = 1_000
STALE_TRIGGER = timedelta(days=1)  # an older trigger starts no run (docs/decisions.md)

# One Jinja2 environment per templates folder: it caches compiled templates (and reloads a file
# that changed), where building one per send compiled every template again.
_templates = functools.lru_cache(maxsize=8)(template_environment)
LogWriter = Callable[[list[tuple[int, dict[str, Any]]]], Any]  # Ingestor.ingest


@dataclass(frozen=True, slots=True)
class Automation:
    """What running playbooks needs: the store, the settings, the playbooks (by name) with
    which are active, and the ingestion path (to write sends and suppressions to the log)."""

    engine: Engine
    settings: Settings
    playbooks: Mapping[str, PlaybookFile]
    active: frozenset[str]
    write_log: LogWriter


@dataclass(slots=True)
class RunReport:
    started: int = 0  # runs started from triggers
    executed: dict[str, int] = field(default_factory=dict)  # steps by outcome


def run_key(playbook: str, customer_id: str, occurrence: str) -> str:
    return f"{playbook}|{customer_id}|{occurrence}"


def _digest(text: str, size: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


# --- triggers ------------------------------------------------------------------------------------


def follow_triggers(auto: Automation, now: datetime) -> int:
    """Start runs for the log's and the lifecycle stream's new events; returns runs started."""
    chosen = [auto.playbooks[n].playbook for n in sorted(auto.active) if n in auto.playbooks]
    on_log = [p for p in chosen if p.trigger.kind == "interaction"]
    on_stage = [p for p in chosen if p.trigger.kind == "stage_entered"]
    return _follow_log(auto.engine, on_log, now) + _follow_stages(auto.engine, on_stage, now)


def _follow_log(engine: Engine, playbooks: list[Playbook], now: datetime) -> int:
    started, more = 0, True
    while more:  # one transaction per batch, each with its checkpoint
        with read_connection(engine) as conn:
            mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
            if last_seq(conn) <= (mark.position if mark else 0):
                return started
        with write_transaction(engine) as conn:
            mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
            after, upto = (mark.position if mark else 0), last_seq(conn)
            types = {p.trigger.subject for p in playbooks}
            rows = store.log_after(conn, after, upto, types, BATCH) if types else []
            for row in rows:
                for playbook in playbooks:
                    if rules.matches(playbook.trigger, row) and _fresh(row["occurred_at"], now):
                        started += start_run(
                            conn, playbook, row["customer_id"], row["id"], row["occurred_at"], now
                        )
            more = len(rows) == BATCH
            position = rows[-1]["seq"] if more else upto
            checkpoints.write_checkpoint(
                conn, LOG_CONSUMER, source="log", position=position, version=1, now=now
            )
    return started


def _fresh(at: datetime, now: datetime) -> bool:
    """A trigger older than STALE_TRIGGER starts no run: history imported, or a playbook
    resumed over an old log, must not flood customers with messages about long-past events."""
    return now - at <= STALE_TRIGGER


def _follow_stages(engine: Engine, playbooks: list[Playbook], now: datetime) -> int:
    consumer = Consumer(STAGE_CONSUMER, "lifecycle")
    if not playbooks:  # nothing listens: move the checkpoint to the stream's end
        with write_transaction(engine) as conn:
            end = int(conn.scalar(select(func.max(stage_transitions.c.seq))) or 0)
            if end > consumer.position(conn):
                consumer.done(conn, end)
        return 0
    started = [0]

    def act(conn: Connection, event: Any) -> None:
        for playbook in playbooks:
            if event.kind == "stage_entered" and event.subject == playbook.trigger.subject:
                if _fresh(event.at, now):
                    started[0] += start_run(
                        conn, playbook, event.customer_id, event.key, event.at, now
                    )

    while consumer.consume(engine, act, BATCH) >= BATCH:  # a batch of rows: maybe more
        pass
    return started[0]


def start_run(
    conn: Connection,
    playbook: Playbook,
    customer_id: str,
    trigger_id: str,
    trigger_at: datetime,
    now: datetime,
) -> int:
    """Start a run once per key, if the re-entry rule lets the customer in; 1 if started."""
    occurrence = rules.occurrence(playbook, trigger_id)
    key = run_key(playbook.name, customer_id, occurrence)
    if store.run_by_key(conn, key) is not None:
        return 0
    if rules.may_enter(
        playbook, store.earlier_starts(conn, playbook.name, customer_id), trigger_at
    ):
        return 0
    run_id = f"run_{_digest(key)}"
    store.add_run(
        conn,
        id=run_id,
        key=key,
        playbook=playbook.name,
        customer_id=customer_id,
        occurrence=occurrence,
        trigger_id=trigger_id,
        trigger_at=trigger_at,
        started_at=trigger_at,
        status="active",
    )
    store.add_step(
        conn, key=f"{key}|0", run_id=run_id, step=0, kind=playbook.steps[0].kind, due_at=trigger_at
    )
    return 1


# --- steps ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What one step did: its status, a record of it, the interaction to log, and what next."""

    status: str  # done, stopped, failed, or pending (a retry at `next_due`)
    record: dict[str, Any]
    log_item: dict[str, Any] | None = None
    next_due: datetime | None = None  # the next step's due time (done) or the retry's (pending)
    run_status: str | None = None  # the run ends: done, stopped, failed
    reason: str | None = None


def execute_due(auto: Automation, now: datetime, *, limit: int = 100) -> dict[str, int]:
    """Claim the due steps of active playbooks, act, record each; returns steps by outcome."""
    lease = timedelta(seconds=auto.settings.automation_lease_seconds)
    counts: dict[str, int] = {}
    while True:
        with write_transaction(auto.engine) as conn:
            claimed = [
                row
                for row in store.claim_due(conn, now, lease, limit, auto.active)
                if row["playbook"] in auto.playbooks
            ]
        for row in claimed:
            outcome = _perform(auto, row, now)
            if _record(auto.engine, row, outcome, now, auto.playbooks[row["playbook"]].playbook):
                counts[outcome.record.get("outcome", outcome.status)] = (
                    counts.get(outcome.record.get("outcome", outcome.status), 0) + 1
                )
        flush_log(auto)
        if not claimed:  # a step done makes the next one due at once: claim again till none
            return counts


def _record(engine: Engine, row: Any, outcome: Outcome, now: datetime, playbook: Playbook) -> bool:
    with write_transaction(engine) as conn:
        if outcome.status == store.PENDING:  # a retry: give the claim back, due later
            return store.retry_step(conn, row["seq"], row["attempts"], outcome.next_due or now)
        finished = store.finish_step(
            conn,
            row["seq"],
            row["attempts"],
            status=outcome.status,
            outcome=outcome.record,
            log_item=outcome.log_item,
            now=now,
        )
        if not finished:
            return False  # another worker holds it now (this one's lease passed)
        following = row["step"] + 1
        if outcome.status == store.DONE and following < len(playbook.steps):
            run_key_ = store.run(conn, row["run_id"])["key"]  # type: ignore[index]
            store.add_step(
                conn,
                key=f"{run_key_}|{following}",
                run_id=row["run_id"],
                step=following,
                kind=playbook.steps[following].kind,
                due_at=outcome.next_due or row["due_at"],
            )
        else:
            status = outcome.run_status or ("done" if outcome.status == store.DONE else "stopped")
            store.set_run(conn, row["run_id"], status=status, reason=outcome.reason)
        return True


def _perform(auto: Automation, row: Any, now: datetime) -> Outcome:
    playbook = auto.playbooks[row["playbook"]].playbook
    if row["run_status"] != "active":
        return Outcome(store.STOPPED, {"outcome": "cancelled", "why": f"run {row['run_status']}"})
    if row["step"] >= len(playbook.steps):
        return Outcome(store.STOPPED, {"outcome": "stopped", "why": "the playbook has fewer steps"})
    step = playbook.steps[row["step"]]
    with read_connection(auto.engine) as conn:
        context = customer_context(conn, row["customer_id"], row["trigger_id"], row["trigger_at"])
    if step.kind in ("wait", "wait_until"):
        zone = rules.time_zone(context["customer"]["traits"])
        ends = rules.wait_ends(step, row["due_at"], zone)
        return Outcome(store.DONE, {"outcome": "waited", "until": ends.isoformat()}, next_due=ends)
    if step.kind == "if":
        with read_connection(auto.engine) as conn:
            why = rules.unmet(
                step.conditions or rules.Conditions(),
                facts(conn, row["customer_id"], row["trigger_at"], now),
                playbook.consent,
            )
        if why:
            return Outcome(
                store.STOPPED, {"outcome": "stopped", "why": why}, run_status="stopped", reason=why
            )
        return Outcome(store.DONE, {"outcome": "passed"}, next_due=row["due_at"])
    if step.kind == "send_email":
        return _send_email(auto, row, playbook, step, context, now)
    if step.kind == "webhook":
        return _call_webhook(auto, row, playbook, step, context, now)
    return Outcome(
        store.FAILED, {"outcome": "failed", "why": f"unknown step {step.kind}"}, run_status="failed"
    )


def customer_context(
    conn: Connection, customer_id: str, trigger_id: str, trigger_at: datetime
) -> dict[str, Any]:
    """What a template reads: the customer (id, traits, email, stage) and the trigger."""
    found = store.customer(conn, customer_id)
    traits = dict(found["traits"] or {}) if found else {}
    keys = store.identity_keys(conn, customer_id)
    address = next((k.partition(":")[2] for k in keys if k.startswith("email:")), None)
    trigger = store.interaction(conn, trigger_id)
    return {
        "customer": {
            "id": customer_id,
            "traits": traits,
            "email": address,
            "stage": store.stage_of(conn, customer_id),
            "identity_keys": keys,
        },
        "trigger": {
            "id": trigger_id,
            "at": trigger_at,
            "type": trigger["type"] if trigger else None,
            "properties": dict(trigger["properties"] or {}) if trigger else {},
            "revenue": trigger["revenue"] if trigger else None,
            "currency": trigger["currency"] if trigger else None,
        },
    }


def facts(
    conn: Connection,
    customer_id: str,
    trigger_at: datetime,
    now: datetime,
    *,
    as_of: datetime | None = None,
) -> rules.Facts:
    """What a condition reads at `now` (counts of types: up to the trigger). Consent is every
    change recorded so far — a withdrawal dated later still holds — unless `as_of` (a dry run
    at a past moment) limits it to the changes that had occurred by then."""
    found = store.customer(conn, customer_id)
    since = store.type_counts(conn, customer_id, upto=now, after=trigger_at)
    return rules.Facts(
        stage=store.stage_of(conn, customer_id),
        traits=dict(found["traits"] or {}) if found else {},
        consent=_consent(conn, customer_id, as_of),
        types_since_trigger=frozenset(since),
        type_counts=store.type_counts(conn, customer_id, upto=trigger_at),
    )


def _consent(conn: Connection, customer_id: str, as_of: datetime | None) -> Any:
    changes = consent_store.history(conn, customer_id)
    return current_consent(c for c in changes if as_of is None or c.occurred_at <= as_of)


def email_decision(
    conn: Connection,
    playbook: Playbook,
    step: Step,
    customer_id: str,
    address: str | None,
    *,
    as_of: datetime | None = None,
) -> str | None:
    """Why this email may not go (None: it may) — checked right before the send, over every
    consent change recorded (or those occurred by `as_of`, for a dry run)."""
    if not address:
        return rules.NO_ADDRESS
    if step.action.get("transactional"):
        return None
    in_force = _consent(conn, customer_id, as_of)
    purpose = str(step.action.get("purpose") or DEFAULT_PURPOSE)
    return rules.consent_refusal(in_force, "email", purpose, playbook.consent)


def _send_email(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    customer = context["customer"]
    with read_connection(auto.engine) as conn:
        refused = email_decision(conn, playbook, step, row["customer_id"], customer["email"])
    if refused:
        item = _log_item(row, playbook, customer, now, suppressed=refused)
        return Outcome(store.DONE, {"outcome": "suppressed", "reason": refused}, item, next_due=now)
    marketing = not step.action.get("transactional")
    purpose = str(step.action.get("purpose") or DEFAULT_PURPOSE)
    token = unsubscribe_token(auto.settings, Unsubscribe(row["customer_id"], "email", purpose))
    link = unsubscribe_url(auto.settings, token)
    try:
        rendered = render_email(
            _templates(auto.settings.data_dir),
            dict(step.action),
            {**context, "unsubscribe_url": link, "playbook": playbook.name},
        )
    except ValidationError as exc:
        return Outcome(
            store.FAILED,
            {"outcome": "failed", "why": str(exc)},
            run_status="failed",
            reason=str(exc),
        )
    message = email.compose(
        auto.settings,
        key=row["key"],
        to=customer["email"],
        rendered=rendered,
        at=now,
        unsubscribe_url=link if marketing else None,
        unsubscribe_mailto=f"mailto:{auto.settings.smtp_from}?subject=unsubscribe%20{token}",
    )
    try:
        where = email.deliver(auto.settings, message)
    except OSError as exc:  # smtplib's errors are OSErrors: retried with backoff
        return _retry(row, now, f"{type(exc).__name__}: {exc}")
    record = {"outcome": "sent", "message_id": message["Message-ID"], "via": where}
    item = _log_item(
        row, playbook, customer, now, message_id=message["Message-ID"], subject=rendered.subject
    )
    return Outcome(store.DONE, record, item, next_due=now)


def _call_webhook(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    import os

    secret = (
        os.environ.get(str(step.action.get("secret_env") or ""), "")
        or auto.settings.automation_secret
        or ""
    )
    delivery = f"whd_{_digest(row['key'])}"
    payload = {
        "delivery_id": delivery,
        "playbook": playbook.name,
        "customer_id": row["customer_id"],
        "trigger": {k: v for k, v in context["trigger"].items() if k != "at"}
        | {"at": context["trigger"]["at"].isoformat()},
        "at": now.isoformat(),
    }
    try:
        status = webhook.post(
            str(step.action["url"]), payload, secret=secret, timestamp=int(now.timestamp())
        )
    except OSError as exc:
        return _retry(row, now, f"{type(exc).__name__}: {exc}")
    return Outcome(
        store.DONE, {"outcome": "called", "delivery_id": delivery, "status": status}, next_due=now
    )


def _retry(row: Any, now: datetime, why: str) -> Outcome:
    if row["attempts"] >= MAX_ATTEMPTS:
        return Outcome(
            store.FAILED, {"outcome": "failed", "why": why}, run_status="failed", reason=why
        )
    wait = RETRY_BASE * 2 ** (row["attempts"] - 1)
    return Outcome(store.PENDING, {"outcome": "retry", "why": why}, next_due=now + wait)


def _log_item(
    row: Any,
    playbook: Playbook,
    customer: dict[str, Any],
    now: datetime,
    *,
    suppressed: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """The interaction a send (email_sent) or a suppression (custom message_suppressed) is, with
    an id derived from the step's key, so writing it twice stores it once."""
    base = {"playbook": playbook.name, "run_id": row["run_id"], "step": row["step"]}
    item: dict[str, Any] = {
        "id": f"pb-{_digest(row['key'], 24)}",
        "channel": "email",
        "direction": "outbound",
        "occurred_at": now.isoformat(),
        "customer": identity_of(customer),
        "attribution": {"source": "touchpoint", "medium": "email", "campaign": playbook.name},
    }
    if suppressed is not None:
        item |= {
            "type": InteractionType.CUSTOM.value,
            "name": SUPPRESSED_NAME,
            "properties": {**base, "reason": suppressed},
        }
    else:
        item |= {"type": InteractionType.EMAIL_SENT.value, "properties": {**base, **properties}}
    return item


def identity_of(customer: Mapping[str, Any]) -> dict[str, Any]:
    """An identity to write the customer's interactions with, from their identity keys."""
    fields = ("email", "phone", "external_id", "anonymous_id")
    identity: dict[str, Any] = {}
    for key in customer["identity_keys"]:
        kind, _, value = str(key).partition(":")
        if kind in fields:
            identity.setdefault(kind, value)
    return identity


def flush_log(auto: Automation) -> int:
    """Write the steps' interactions to the log, once each (their ids are derived from keys)."""
    with read_connection(auto.engine) as conn:
        pending = store.unlogged(conn)
    if not pending:
        return 0
    auto.write_log([(i, dict(row["log_item"])) for i, row in enumerate(pending)])
    with write_transaction(auto.engine) as conn:
        store.mark_logged(conn, [row["seq"] for row in pending], datetime.now(UTC))
    return len(pending)


def next_due(engine: Engine) -> datetime | None:
    with read_connection(engine) as conn:
        found = store.next_due(conn)
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def run(auto: Automation, now: datetime) -> RunReport:
    """One pass: start runs from new triggers, then execute every step due by `now`."""
    report = RunReport(started=follow_triggers(auto, now))
    report.executed = execute_due(auto, now)
    return report
