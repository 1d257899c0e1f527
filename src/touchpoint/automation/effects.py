"""The actions that change Touchpoint itself rather than message the customer: set a trait, add a
tag (both as an `identify` interaction in the log, with an id derived from the step's key, so a
retry stores it once), open a ticket, queue a callback (through the effects services give, each
with a reference derived from the step's key, so a retry after a crash finds the first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from touchpoint.automation.base import Automation, digest
from touchpoint.automation.messages import Outcome, identity_of
from touchpoint.domain import loyalty as terms
from touchpoint.domain.playbooks import Playbook, Step
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import TouchpointError
from touchpoint.store import automation as store

TAGS = "tags"


def change_traits(
    row: Any, playbook: Playbook, step: Step, context: dict[str, Any], now: datetime
) -> Outcome:
    customer = context["customer"]
    if step.kind == "add_tag":
        held = customer["traits"].get(TAGS)
        tags = [str(t) for t in held] if isinstance(held, list) else []
        tag = str(step.action["tag"])
        if tag in tags:
            return Outcome(store.DONE, {"outcome": "unchanged", "tag": tag}, next_due=now)
        traits: dict[str, Any] = {TAGS: [*tags, tag]}
    else:
        traits = {str(step.action["name"]): step.action.get("value")}
    item = {
        "id": f"pb-{digest(row['key'], 24)}",
        "type": InteractionType.IDENTIFY.value,
        "channel": "web",
        "direction": "outbound",  # not the customer's own activity
        "occurred_at": now.isoformat(),
        "customer": identity_of(customer),
        "traits": traits,
        "properties": {"playbook": playbook.name, "run_id": row["run_id"], "step": row["step"]},
    }
    return Outcome(store.DONE, {"outcome": "traits_set", "traits": traits}, item, next_due=now)


def call_effect(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    effect = auto.effects.get(step.kind)
    if effect is None:
        why = f"{step.kind} is not available here"
        return Outcome(store.FAILED, {"outcome": "failed", "why": why}, run_status="failed")
    identity = identity_of(context["customer"])
    reference = f"pb:{digest(row['key'], 32)}"
    try:
        done = effect(identity, dict(step.action), reference, playbook.name)
    except TouchpointError as exc:  # a queue that does not exist, …: the run fails visibly
        why = f"{type(exc).__name__}: {exc}"
        return Outcome(
            store.FAILED, {"outcome": "failed", "why": why}, run_status="failed", reason=why
        )
    return Outcome(store.DONE, {"outcome": step.kind, **done}, next_due=now)


def loyalty(
    row: Any, playbook: Playbook, step: Step, context: dict[str, Any], now: datetime
) -> Outcome:
    """award_points, set_tier: a `custom` interaction (domain/loyalty.py) whose id comes from the
    step's key, so a retried step awards once."""
    base = {"playbook": playbook.name, "run_id": row["run_id"], "step": row["step"]}
    if step.kind == "award_points":
        name = terms.POINTS
        said = {"points": int(step.action["points"]), "reason": str(step.action["reason"])}
    else:
        name, said = terms.TIER, {"tier": str(step.action["tier"])}
    item = {
        "id": f"pb-{digest(row['key'], 24)}",
        "type": InteractionType.CUSTOM.value,
        "name": name,
        "channel": "web",
        "direction": "outbound",
        "occurred_at": now.isoformat(),
        "customer": identity_of(context["customer"]),
        "properties": {**base, **said},
    }
    return Outcome(store.DONE, {"outcome": name, **said}, item, next_due=now)
