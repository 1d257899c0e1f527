"""Playbooks for every face: list and read them, check a file, dry-run one against a customer at
a moment, pause and resume, read runs with their steps; run them (the scheduler); and the
one-click unsubscribe their emails link to."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from touchpoint.automation import runs as engine_runs
from touchpoint.automation.base import Effect
from touchpoint.automation.links import Unsubscribe, read_unsubscribe_token
from touchpoint.automation.playbooks import (
    PlaybookFile,
    load_playbooks,
    load_policy,
    read_playbook,
    render_email,
    template_environment,
)
from touchpoint.domain import playbook_policy as policy_rules
from touchpoint.domain import playbooks as rules
from touchpoint.domain import tickets as ticket_terms
from touchpoint.domain.playbooks import Playbook
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import contact_center, tickets
from touchpoint.services.customers import current_id
from touchpoint.store import automation as store
from touchpoint.store import tickets as ticket_store
from touchpoint.store.engine import read_connection, write_transaction

log = logging.getLogger("touchpoint.playbooks")
ACTIVE, PAUSED = "active", "paused"


@dataclass(frozen=True, slots=True)
class PlaybookView:
    name: str
    title: str
    state: str  # active, paused
    shipped: bool
    path: str
    trigger: str
    reentry: str
    consent: str
    steps: list[str]
    runs: dict[str, int]  # by status


@dataclass(frozen=True, slots=True)
class StepView:
    step: int
    kind: str
    status: str
    due_at: datetime
    attempts: int
    finished_at: datetime | None
    outcome: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RunView:
    id: str
    playbook: str
    customer_id: str
    trigger_id: str
    trigger_at: datetime
    status: str
    reason: str | None
    steps: list[StepView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DryStep:
    step: int
    at: datetime
    action: str  # what the step is
    outcome: str  # what it would do: wait, pass, stop, send, suppress, call
    why: str


def _files(tp: Touchpoint) -> dict[str, PlaybookFile]:
    return load_playbooks(tp.settings.data_dir)


def _state(file: PlaybookFile, states: dict[str, str]) -> str:
    """A shipped playbook runs once resumed; a data directory's own runs unless paused."""
    return states.get(file.playbook.name) or (PAUSED if file.shipped else ACTIVE)


def automation(tp: Touchpoint) -> engine_runs.Automation:
    files = _files(tp)
    with read_connection(tp.engine) as conn:
        states = store.states(conn)
    active = frozenset(n for n, f in files.items() if _state(f, states) == ACTIVE)
    policy = load_policy(tp.settings.data_dir)
    return engine_runs.Automation(
        tp.engine, tp.settings, files, active, tp.ingestor.ingest, policy, _effects(tp)
    )


def _effects(tp: Touchpoint) -> dict[str, Effect]:
    """What a playbook may do to the rest of Touchpoint: open a ticket, queue a callback — each
    idempotent by the reference the run gives (the tickets' and contacts' external_ref)."""

    def open_ticket(
        identity: dict[str, Any], action: dict[str, Any], ref: str, playbook: str
    ) -> dict[str, Any]:
        with read_connection(tp.engine) as conn:
            found = ticket_store.ticket_by_ref(conn, ref)
        if found is not None:  # a retry after the ticket was opened
            return {"ticket_id": found["id"], "external_ref": ref}
        view = tickets.open_ticket(
            tp,
            subject=str(action["subject"]),
            queue=str(action["queue"]),
            channel=str(action.get("channel") or "email"),
            identity=identity,
            priority=str(action.get("priority") or ticket_terms.DEFAULT_PRIORITY),
            external_ref=ref,
            actor=f"playbook:{playbook}",
        )
        return {"ticket_id": view.id, "external_ref": ref}

    def callback(
        identity: dict[str, Any], action: dict[str, Any], ref: str, playbook: str
    ) -> dict[str, Any]:
        offered = contact_center.offer(  # the same reference again: the same contact
            tp,
            queue=str(action["queue"]),
            channel=str(action.get("channel") or "phone"),
            identity=identity,
            language=action.get("language"),
            external_ref=ref,
        )
        return {"contact_id": offered.id, "queue": offered.queue, "status": offered.status}

    return {"open_ticket": open_ticket, "callback": callback}


def run(tp: Touchpoint, now: datetime | None = None) -> engine_runs.RunReport:
    """Start runs from new triggers and execute the steps due by `now` (the scheduler). A
    playbook file that does not load stops automation (logged), never the scheduler."""
    try:
        auto = automation(tp)
    except ValidationError as exc:
        log.error("playbooks not run: %s", exc)
        return engine_runs.RunReport()
    return engine_runs.run(auto, now or datetime.now(UTC))


def next_due(tp: Touchpoint) -> datetime | None:
    return engine_runs.next_due(tp.engine)


def list_playbooks(tp: Touchpoint) -> list[PlaybookView]:
    files = _files(tp)
    with read_connection(tp.engine) as conn:
        states, counts = store.states(conn), store.counts_by_status(conn)
    return [_view(f, states, counts) for _, f in sorted(files.items())]


def show(tp: Touchpoint, name: str) -> PlaybookView:
    for view in list_playbooks(tp):
        if view.name == name:
            return view
    raise NotFound(f"no playbook {name!r}")


def _view(
    file: PlaybookFile, states: dict[str, str], counts: dict[tuple[str, str], int]
) -> PlaybookView:
    playbook = file.playbook
    text = playbook.trigger.describe()
    return PlaybookView(
        name=playbook.name,
        title=playbook.title,
        state=_state(file, states),
        shipped=file.shipped,
        path=str(file.path),
        trigger=text,
        reentry=playbook.reentry,
        consent=playbook.consent,
        steps=[step.describe() for step in playbook.steps],
        runs={s: n for (p, s), n in sorted(counts.items()) if p == playbook.name},
    )


def validate(path: Path) -> Playbook:
    """Check a playbook file as a whole (a ValidationError names each problem's line)."""
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    return read_playbook(path)


def set_state(tp: Touchpoint, name: str, state: str, *, actor: str | None) -> PlaybookView:
    """Pause or resume a playbook: a paused one starts no run and its due steps wait."""
    show(tp, name)
    with write_transaction(tp.engine) as conn:
        store.set_state(conn, name, state, datetime.now(UTC), actor)
    return show(tp, name)


def list_runs(
    tp: Touchpoint,
    *,
    playbook: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    failed: bool = False,
) -> list[RunView]:
    """Runs, newest first; `failed`: only those that failed (a step that failed for good: a
    webhook or SMTP send after its last attempt, with its last error) — the dead letters."""
    status = "failed" if failed else None
    with read_connection(tp.engine) as conn:
        found = store.runs(
            conn, playbook=playbook, customer_id=customer_id, limit=limit, status=status
        )
        steps = store.steps_of(conn, [r["id"] for r in found])
    by_run: dict[str, list[StepView]] = {}
    for s in steps:
        by_run.setdefault(s["run_id"], []).append(
            StepView(
                s["step"],
                s["kind"],
                s["status"],
                s["due_at"],
                s["attempts"],
                s["finished_at"],
                s["outcome"],
            )
        )
    return [
        RunView(
            r["id"],
            r["playbook"],
            r["customer_id"],
            r["trigger_id"],
            r["trigger_at"],
            r["status"],
            r["reason"],
            by_run.get(r["id"], []),
        )
        for r in found
    ]


def dry_run(tp: Touchpoint, name: str, customer_id: str, at: datetime) -> list[DryStep]:
    """What the playbook would do for this customer if triggered at `at`: each step, when, and
    why — reading the data as it is, sending nothing."""
    playbook = _files(tp).get(name)
    if playbook is None:
        raise NotFound(f"no playbook {name!r}")
    with read_connection(tp.engine) as conn:
        customer_id = current_id(conn, customer_id)
        context = engine_runs.customer_context(conn, customer_id, "(dry run)", at)
        return list(_dry_steps(tp, conn, playbook.playbook, customer_id, context, at))


def _dry_steps(
    tp: Touchpoint, conn: Any, playbook: Playbook, customer_id: str, context: Any, at: datetime
) -> Any:
    """Each step as it would go: waits end at their time (a wait_for as if the event never
    came, so its timeout branch shows), conditions read the data as of each step's moment."""
    moment = at
    zone = rules.time_zone(context["customer"]["traits"])
    policy = load_policy(tp.settings.data_dir)
    came: bool | None = None
    i = 0
    while i < len(playbook.steps):
        step = playbook.steps[i]
        what = step.describe()
        following = i + 1
        if step.kind in ("wait", "wait_until"):
            ends = rules.wait_ends(step, moment, zone)
            yield DryStep(i, moment, what, "wait", f"until {ends.isoformat()} ({zone.key})")
            moment = ends
        elif step.kind == "wait_for":
            ends = moment + (step.wait or timedelta(0))
            seen = store.type_counts(conn, customer_id, upto=ends, after=moment)
            came = bool(seen.get(str(step.action["type"])))
            yield DryStep(
                i, moment, what, "wait", "it came" if came else f"timed out at {ends.isoformat()}"
            )
            moment = moment if came else ends
        elif step.kind == "stop":
            yield DryStep(i, moment, what, "stop", str(step.action.get("why")))
            return
        elif step.kind == "if":
            found = engine_runs.facts(conn, customer_id, at, moment, as_of=moment)
            why = rules.unmet(
                step.conditions or rules.Conditions(),
                replace(found, came=came),
                playbook.consent,
            )
            if why and step.otherwise is None:
                yield DryStep(i, moment, what, "stop", why)
                return
            if why:
                yield DryStep(i, moment, what, "branch", f"{why}: go to step {step.otherwise}")
                following = step.otherwise or following
            else:
                yield DryStep(i, moment, what, "pass", "every condition holds")
        else:
            yield _dry_action(
                tp, conn, playbook, step, i, customer_id, context, moment, policy, zone
            )
        i = following


def _dry_action(
    tp: Touchpoint,
    conn: Any,
    playbook: Playbook,
    step: Any,
    i: int,
    customer_id: str,
    context: Any,
    moment: datetime,
    policy: Any,
    zone: Any,
) -> DryStep:
    what = step.describe()
    if step.kind not in ("send_email", "webhook", "send_survey"):
        return DryStep(i, moment, what, "act", what)
    address = context["customer"]["email"]
    refused = engine_runs.email_decision(conn, playbook, step, customer_id, address, as_of=moment)
    if refused:
        return DryStep(i, moment, what, "suppress", refused)
    if rules.is_marketing(step):
        ends = policy_rules.quiet_ends(policy, moment, zone)
        if ends is not None:
            return DryStep(i, moment, what, "defer", f"quiet hours until {ends.isoformat()}")
    if step.kind == "send_email":
        rendered = render_email(
            template_environment(tp.settings.data_dir),
            dict(step.action),
            {**context, "unsubscribe_url": "(link)", "playbook": playbook.name},
        )
        return DryStep(i, moment, what, "send", f"to {address}: {rendered.subject}")
    if step.kind == "send_survey":
        subject = step.action.get("subject") or f"the survey {step.action.get('survey')}"
        return DryStep(i, moment, what, "send", f"to {address}: {subject}")
    return DryStep(i, moment, what, "call", str(step.action.get("url")))


# --- unsubscribing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    customer_id: str
    channel: str
    purpose: str
    recorded: bool  # False: this link had unsubscribed already


def unsubscribe_target(tp: Touchpoint, token: str) -> Unsubscribe:
    """What a link would unsubscribe (the confirmation page shows it; nothing changes)."""
    return read_unsubscribe_token(tp.settings, token)


def unsubscribe(tp: Touchpoint, token: str, *, now: datetime | None = None) -> Unsubscribed:
    """The one-click unsubscribe: an `unsubscribe` interaction in the log, whose id comes from
    the link, so a second POST of the same link records nothing more."""
    target = read_unsubscribe_token(tp.settings, token)
    interaction_id = f"unsub-{hashlib.sha256(token.encode()).hexdigest()[:32]}"
    with read_connection(tp.engine) as conn:
        customer_id = current_id(conn, target.customer_id)
        keys = store.identity_keys(conn, customer_id)
        if store.interaction(conn, interaction_id) is not None:  # this link did already
            return Unsubscribed(customer_id, target.channel, target.purpose, recorded=False)
    identity = engine_runs.identity_of({"identity_keys": keys})
    if not identity:
        raise NotFound("no such unsubscribe link")
    item = {
        "id": interaction_id,
        "type": InteractionType.UNSUBSCRIBE.value,
        "channel": target.channel,
        "direction": "inbound",
        "occurred_at": (now or datetime.now(UTC)).isoformat(),
        "customer": identity,
        "properties": {"purpose": target.purpose, "via": "one_click"},
    }
    report = tp.ingestor.ingest([(0, item)])
    status = report.results[0].status
    if status not in ("accepted", "duplicate"):
        raise ValidationError(f"unsubscribe not recorded: {status}")
    return Unsubscribed(customer_id, target.channel, target.purpose, status == "accepted")
