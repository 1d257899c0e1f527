"""The actions that message a customer or call out — email (SMTP or Maildir) and webhooks (a plain
call, or a message on a channel such as SMS through a provider's webhook) — and the gate every
marketing message passes right before it goes: consent, the send-by window, quiet hours (deferred
to their end) and frequency caps (domain/playbook_policy.py). Each send and each suppression is an
interaction for the log, with an id derived from the step's key."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from touchpoint.automation import email, webhook
from touchpoint.automation.base import Automation, digest
from touchpoint.automation.links import Unsubscribe, unsubscribe_token, unsubscribe_url
from touchpoint.automation.playbooks import render_email, template_environment
from touchpoint.domain import playbook_policy as policy_rules
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import DEFAULT_PURPOSE, current_consent
from touchpoint.domain.playbooks import Playbook, Step
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import ValidationError
from touchpoint.store import automation as store
from touchpoint.store import consent as consent_store
from touchpoint.store.engine import read_connection

MAX_ATTEMPTS = 5  # an action failing this often fails its run
RETRY_BASE = timedelta(minutes=1)  # then 2, 4, 8 minutes
SUPPRESSED_NAME = "message_suppressed"  # the `custom` interaction a suppression is logged as
MESSAGE_SENT_NAME = "message_sent"  # the `custom` interaction a webhook message is logged as
PENDING, DONE, FAILED = store.PENDING, store.DONE, store.FAILED

# One Jinja2 environment per templates folder: it caches compiled templates (and reloads a file
# that changed), where building one per send compiled every template again.
_templates = functools.lru_cache(maxsize=8)(template_environment)


@dataclass(slots=True)
class Outcome:
    """What one step did: its status, a record of it, the interaction to log, and what next."""

    status: str  # done, stopped, failed, or pending (again due at `next_due`)
    record: dict[str, Any]
    log_item: dict[str, Any] | None = None
    next_due: datetime | None = None  # the next step's due time (done) or this one's (pending)
    run_status: str | None = None  # the run ends: done, stopped, failed
    reason: str | None = None
    next_step: int | None = None  # done: the step to go on at (None: the following one)


def _consent(conn: Connection, customer_id: str, as_of: datetime | None) -> Any:
    changes = consent_store.history(conn, customer_id)
    return current_consent(c for c in changes if as_of is None or c.occurred_at <= as_of)


def consent_decision(
    conn: Connection,
    playbook: Playbook,
    step: Step,
    customer_id: str,
    address: str | None,
    *,
    as_of: datetime | None = None,
) -> str | None:
    """Why this message may not go (None: it may) — checked right before the send, over every
    consent change recorded (or those occurred by `as_of`, for a dry run)."""
    channel = rules.message_channel(step) or "email"
    if not address and channel == "email":
        return rules.NO_ADDRESS
    if not rules.is_marketing(step):
        return None
    in_force = _consent(conn, customer_id, as_of)
    purpose = str(step.action.get("purpose") or DEFAULT_PURPOSE)
    return rules.consent_refusal(in_force, channel, purpose, playbook.consent)


email_decision = consent_decision  # the name the first slice's callers use


def gate(
    auto: Automation,
    conn: Connection,
    row: Any,
    playbook: Playbook,
    step: Step,
    customer: Mapping[str, Any],
    now: datetime,
) -> Outcome | None:
    """Whether a message goes now: None if it does, else the outcome — suppressed (consent,
    stale, cap; logged with its reason) or deferred to the end of quiet hours."""
    refused = consent_decision(conn, playbook, step, row["customer_id"], customer["email"])
    if refused is None and rules.is_marketing(step):
        policy = auto.policy
        zone = rules.time_zone(customer["traits"])
        if policy_rules.is_stale(policy, row["due_at"], now):
            refused = f"{policy_rules.STALE}: due {row['due_at'].isoformat()}, " + (
                f"more than {policy.send_within} before {now.isoformat()}"
            )
        elif (ends := policy_rules.quiet_ends(policy, now, zone)) is not None:
            why = f"quiet hours in {zone.key} until {ends.isoformat()}"
            return Outcome(PENDING, {"outcome": "deferred", "why": why}, next_due=ends)
        else:
            refused = _cap(auto, conn, row, step, policy, now)
    if refused is None:
        return None
    item = log_item(row, playbook, customer, step, now, suppressed=refused)
    return Outcome(DONE, {"outcome": "suppressed", "reason": refused}, item, next_due=now)


def _cap(
    auto: Automation,
    conn: Connection,
    row: Any,
    step: Step,
    policy: policy_rules.Policy,
    now: datetime,
) -> str | None:
    channel = rules.message_channel(step) or "email"
    if not policy.caps.get(channel):
        return None
    longest = max(policy_rules.PERIODS[p] for p in policy.caps[channel])
    sent = [
        found["finished_at"]
        for found in store.messages_sent(conn, row["customer_id"], auto.playbooks, now - longest)
        if (found["outcome"] or {}).get("outcome") == "sent"
        and found["outcome"].get("marketing")
        and found["outcome"].get("channel", "email") == channel
    ]
    return policy_rules.cap_refusal(policy, channel, sent, now)


def send_email(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    customer = context["customer"]
    with read_connection(auto.engine) as conn:
        stopped = gate(auto, conn, row, playbook, step, customer, now)
    if stopped is not None:
        return stopped
    marketing = rules.is_marketing(step)
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
            FAILED, {"outcome": "failed", "why": str(exc)}, run_status="failed", reason=str(exc)
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
        return retry(row, now, f"{type(exc).__name__}: {exc}")
    record = {
        "outcome": "sent",
        "message_id": message["Message-ID"],
        "via": where,
        "channel": "email",
        "marketing": marketing,
    }
    item = log_item(
        row,
        playbook,
        customer,
        step,
        now,
        message_id=message["Message-ID"],
        subject=rendered.subject,
    )
    return Outcome(DONE, record, item, next_due=now)


def call_webhook(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    """A signed webhook; with a channel (SMS…) a message to the customer, through the gate."""
    channel = rules.message_channel(step)
    if channel is not None:
        customer = context["customer"]
        if _address(customer, channel) is None:  # no phone (or address) to send it to
            missing = log_item(row, playbook, customer, step, now, suppressed=rules.NO_ADDRESS)
            refused = {"outcome": "suppressed", "reason": rules.NO_ADDRESS}
            return Outcome(DONE, refused, missing, next_due=now)
        with read_connection(auto.engine) as conn:
            stopped = gate(auto, conn, row, playbook, step, customer, now)
        if stopped is not None:
            return stopped
    secret = (
        os.environ.get(str(step.action.get("secret_env") or ""), "")
        or auto.settings.automation_secret
        or ""
    )
    delivery = f"whd_{digest(row['key'])}"
    trigger = context["trigger"]
    payload: dict[str, Any] = {
        "delivery_id": delivery,
        "playbook": playbook.name,
        "customer_id": row["customer_id"],
        "trigger": {k: v for k, v in trigger.items() if k != "at"}
        | {"at": trigger["at"].isoformat()},
        "at": now.isoformat(),
    }
    if channel is not None:
        payload["message"] = {
            "channel": channel,
            "to": _address(customer, channel),
            "marketing": rules.is_marketing(step),
        }
    try:
        status = webhook.post(
            str(step.action["url"]), payload, secret=secret, timestamp=int(now.timestamp())
        )
    except OSError as exc:
        return retry(row, now, f"{type(exc).__name__}: {exc}")
    record: dict[str, Any] = {"outcome": "called", "delivery_id": delivery, "status": status}
    item: dict[str, Any] | None = None
    if channel is not None:
        record |= {"outcome": "sent", "channel": channel, "marketing": rules.is_marketing(step)}
        item = log_item(row, playbook, context["customer"], step, now, delivery_id=delivery)
    return Outcome(DONE, record, item, next_due=now)


def _address(customer: Mapping[str, Any], channel: str) -> str | None:
    kind = "email" if channel == "email" else "phone"
    for key in customer["identity_keys"]:
        found_kind, _, value = str(key).partition(":")
        if found_kind == kind:
            return value
    return None


def retry(row: Any, now: datetime, why: str) -> Outcome:
    if row["attempts"] >= MAX_ATTEMPTS:
        return Outcome(FAILED, {"outcome": "failed", "why": why}, run_status="failed", reason=why)
    wait = RETRY_BASE * 2 ** (row["attempts"] - 1)
    return Outcome(PENDING, {"outcome": "retry", "why": why}, next_due=now + wait)


def log_item(
    row: Any,
    playbook: Playbook,
    customer: Mapping[str, Any],
    step: Step,
    now: datetime,
    *,
    suppressed: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """The interaction a send (email_sent; a webhook message: custom message_sent) or a
    suppression (custom message_suppressed) is, with an id derived from the step's key, so
    writing it twice stores it once."""
    channel = rules.message_channel(step) or "email"
    base = {"playbook": playbook.name, "run_id": row["run_id"], "step": row["step"]}
    item: dict[str, Any] = {
        "id": log_item_id(row),
        "channel": channel,
        "direction": "outbound",
        "occurred_at": now.isoformat(),
        "customer": identity_of(customer),
        "attribution": {"source": "touchpoint", "medium": channel, "campaign": playbook.name},
    }
    if suppressed is not None:
        item |= {
            "type": InteractionType.CUSTOM.value,
            "name": SUPPRESSED_NAME,
            "properties": {**base, "reason": suppressed},
        }
    elif channel == "email":
        item |= {"type": InteractionType.EMAIL_SENT.value, "properties": {**base, **properties}}
    else:
        item |= {
            "type": InteractionType.CUSTOM.value,
            "name": MESSAGE_SENT_NAME,
            "properties": {**base, **properties},
        }
    return item


def log_item_id(row: Any) -> str:
    """The id of the interaction a step's send or suppression is logged as."""
    return f"pb-{digest(row['key'], 24)}"


def identity_of(customer: Mapping[str, Any]) -> dict[str, Any]:
    """An identity to write the customer's interactions with, from their identity keys."""
    fields = ("email", "phone", "external_id", "anonymous_id")
    identity: dict[str, Any] = {}
    for key in customer["identity_keys"]:
        kind, _, value = str(key).partition(":")
        if kind in fields:
            identity.setdefault(kind, value)
    return identity
