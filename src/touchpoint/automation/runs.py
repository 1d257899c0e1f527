"""Durable playbook runs, exactly once in effect.

Triggers (automation/triggers.py, automation/schedules.py) start runs, keyed (playbook, customer,
occurrence), in the same transaction as their consumer's checkpoint.

Steps: a step is a row keyed (run, step). A worker claims due rows with a lease and an attempt
number, acts, and records the outcome — with the interaction it writes to the log and the run's
next step — in one transaction that succeeds only while its claim holds. A worker killed before
that commit leaves the row claimed; once the lease passes another claims it and acts again. For
email that is the one window where a message can go twice (SMTP accepted it, the commit did not
happen); the resend carries the same Message-ID (docs/decisions.md).

A `wait_for` step is claimed when it falls due, when the log consumer sees an interaction of its
customer (it wakes it), and at its deadline; each time it looks whether the awaited interaction
came since the wait began, and goes back to waiting (its deadline kept in its outcome) if not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.automation import effects, messages, surveys
from touchpoint.automation.base import Automation, RunReport, run_key
from touchpoint.automation.messages import (
    Outcome,
    email_decision,
    identity_of,
)
from touchpoint.automation.schedules import follow_schedules
from touchpoint.automation.triggers import Entry, follow_log, follow_streams, start_runs
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import current_consent
from touchpoint.domain.playbooks import Playbook
from touchpoint.store import automation as store
from touchpoint.store import consent as consent_store
from touchpoint.store.engine import read_connection, write_transaction

__all__ = [
    "Automation",
    "Entry",
    "Outcome",
    "RunReport",
    "customer_context",
    "email_decision",
    "execute_due",
    "facts",
    "flush_log",
    "follow_triggers",
    "identity_of",
    "next_due",
    "run",
    "run_key",
    "start_runs",
]


def follow_triggers(auto: Automation, now: datetime) -> int:
    """Start runs for the log's, the streams' and the schedules' new occurrences."""
    return follow_log(auto, now) + follow_streams(auto, now) + follow_schedules(auto, now)


# --- steps ---------------------------------------------------------------------------------------


# Steps that touch nothing outside the database: their outcomes are recorded a batch per
# transaction. A step that sends or calls out is recorded alone, right after it acts, so the
# at-least-once window (acted, not yet recorded) stays one step wide.
_QUIET_KINDS = frozenset(
    {"wait", "wait_until", "wait_for", "if", "stop", "set_trait", "add_tag", "award_points"}
    | {"set_tier"}
)


def execute_due(auto: Automation, now: datetime, *, limit: int = 100) -> dict[str, int]:
    """Claim the due steps of active playbooks, act, record each; returns steps by outcome.
    The steps' interactions go to the log once, at the end of the pass (one bulk append)."""
    lease = _lease(auto)
    counts: dict[str, int] = {}
    while True:
        with write_transaction(auto.engine) as conn:
            claimed = [
                row
                for row in store.claim_due(conn, now, lease, limit, auto.active)
                if row["playbook"] in auto.playbooks
            ]
        quiet: list[tuple[Any, Outcome]] = []
        with read_connection(auto.engine) as conn:
            contexts = batch_contexts(conn, claimed)
        for row in claimed:
            loud = row["kind"] not in _QUIET_KINDS
            if loud and quiet:
                _tally(counts, _record_all(auto, quiet, now))
                quiet = []
            outcome = _perform(auto, row, now, contexts[row["seq"]])
            if loud:
                _tally(counts, _record_all(auto, [(row, outcome)], now))
            else:
                quiet.append((row, outcome))
        _tally(counts, _record_all(auto, quiet, now))
        # A step done makes the run's next one due at once: claim again while any may be due.
        if len(claimed) < limit and not _due_again(auto, claimed, now):
            flush_log(auto)
            return counts


def _due_again(auto: Automation, claimed: list[Any], now: datetime) -> bool:
    """Whether a claimed step may have made another due by `now`: a step after it in its
    playbook, or a branch's (a pass ends without a claim that can only come back empty)."""
    for row in claimed:
        steps = auto.playbooks[row["playbook"]].playbook.steps
        if row["step"] + 1 < len(steps) or row["kind"] in ("if", "wait_for"):
            return True
    return False


def _tally(counts: dict[str, int], recorded: list[Outcome]) -> None:
    for outcome in recorded:
        name = outcome.record.get("outcome", outcome.status)
        counts[name] = counts.get(name, 0) + 1


def _lease(auto: Automation) -> timedelta:
    return timedelta(seconds=auto.settings.automation_lease_seconds)


def _record_all(auto: Automation, done: list[tuple[Any, Outcome]], now: datetime) -> list[Outcome]:
    """Record these steps' outcomes in one transaction; returns those this worker still held.
    Finished steps (most) are written with one executemany per table; a step due again later
    (a retry, a wait, a deferral) alone."""
    if not done:
        return []
    with write_transaction(auto.engine) as conn:
        recorded = [
            outcome
            for row, outcome in done
            if outcome.status == store.PENDING and _postpone(conn, row, outcome, now)
        ]
        ending = [(row, outcome) for row, outcome in done if outcome.status != store.PENDING]
        if not ending:
            return recorded
        still = store.held(conn, [(row["seq"], row["attempts"]) for row, _ in ending])
        finished: list[dict[str, Any]] = []
        following: list[dict[str, Any]] = []
        ended: list[dict[str, Any]] = []
        for row, outcome in ending:
            if row["seq"] not in still:
                continue  # another worker holds it now (this one's lease passed)
            finished.append(
                {
                    "seq": row["seq"],
                    "status": outcome.status,
                    "outcome": outcome.record,
                    "log_item": outcome.log_item,
                }
            )
            _next(row, outcome, auto.playbooks[row["playbook"]].playbook, following, ended)
            recorded.append(outcome)
        store.finish_steps(conn, finished, now)
        store.add_steps(conn, following)
        store.set_runs(conn, ended)
    return recorded


def _next(
    row: Any,
    outcome: Outcome,
    playbook: Playbook,
    following: list[dict[str, Any]],
    ended: list[dict[str, Any]],
) -> None:
    """The run's next step (added to `following`), or its end (added to `ended`)."""
    step = row["step"] + 1 if outcome.next_step is None else outcome.next_step
    going_on = outcome.status == store.DONE and outcome.run_status is None
    if going_on and step < len(playbook.steps):
        run_key_ = str(row["key"]).rsplit("|", 1)[0]  # a step's key is its run's key | step
        following.append(
            {
                "key": f"{run_key_}|{step}",
                "run_id": row["run_id"],
                "step": step,
                "kind": playbook.steps[step].kind,
                "due_at": outcome.next_due or row["due_at"],
            }
        )
    else:
        status = outcome.run_status or ("done" if outcome.status == store.DONE else "stopped")
        ended.append({"id": row["run_id"], "status": status, "reason": outcome.reason})


def _postpone(conn: Connection, row: Any, outcome: Outcome, now: datetime) -> bool:
    """A step due again later (a retry, a wait, a deferral), if this worker still holds it."""
    return store.postpone_step(
        conn, row["seq"], row["attempts"], outcome.next_due or now, outcome.record
    )


def _perform(auto: Automation, row: Any, now: datetime, context: dict[str, Any]) -> Outcome:
    playbook = auto.playbooks[row["playbook"]].playbook
    if row["run_status"] != "active":
        return Outcome(store.STOPPED, {"outcome": "cancelled", "why": f"run {row['run_status']}"})
    if row["step"] >= len(playbook.steps):
        return Outcome(store.STOPPED, {"outcome": "stopped", "why": "the playbook has fewer steps"})
    step = playbook.steps[row["step"]]
    if step.kind in ("wait", "wait_until"):
        zone = rules.time_zone(context["customer"]["traits"])
        ends = rules.wait_ends(step, row["due_at"], zone)
        return Outcome(store.DONE, {"outcome": "waited", "until": ends.isoformat()}, next_due=ends)
    if step.kind == "wait_for":
        with read_connection(auto.engine) as conn:
            return _wait_for(conn, row, step, now)
    if step.kind == "if":
        return _branch(auto, row, playbook, step, now)
    if step.kind == "stop":
        why = str(step.action.get("why"))
        return Outcome(
            store.DONE, {"outcome": "stopped", "why": why}, run_status="done", reason=why
        )
    if step.kind == "send_email":
        return messages.send_email(auto, row, playbook, step, context, now)
    if step.kind == "send_survey":
        return surveys.send_survey(auto, row, playbook, step, context, now)
    if step.kind == "webhook":
        return messages.call_webhook(auto, row, playbook, step, context, now)
    if step.kind in ("set_trait", "add_tag"):
        return effects.change_traits(row, playbook, step, context, now)
    if step.kind in ("award_points", "set_tier"):
        return effects.loyalty(row, playbook, step, context, now)
    if step.kind in ("open_ticket", "callback"):
        return effects.call_effect(auto, row, playbook, step, context, now)
    return Outcome(
        store.FAILED, {"outcome": "failed", "why": f"unknown step {step.kind}"}, run_status="failed"
    )


def _wait_for(conn: Connection, row: Any, step: rules.Step, now: datetime) -> Outcome:
    """Came (the awaited interaction occurred since the wait began): go on now; the deadline
    passed: go on, having timed out; else wait on to the deadline."""
    kept = row["outcome"] or {}
    since = _moment(kept.get("since")) or row["due_at"]
    deadline = _moment(kept.get("deadline")) or since + (step.wait or timedelta(0))
    awaited = str(step.action["type"])
    seen = store.type_counts(conn, row["customer_id"], upto=min(now, deadline), after=since)
    state = {"since": since.isoformat(), "deadline": deadline.isoformat(), "type": awaited}
    if seen.get(awaited):
        return Outcome(store.DONE, {**state, "outcome": "came"}, next_due=now)
    if now >= deadline:
        return Outcome(store.DONE, {**state, "outcome": "timed_out"}, next_due=deadline)
    return Outcome(store.PENDING, {**state, "outcome": "waiting"}, next_due=deadline)


def _moment(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _branch(
    auto: Automation, row: Any, playbook: Playbook, step: rules.Step, now: datetime
) -> Outcome:
    with read_connection(auto.engine) as conn:
        why = rules.unmet(
            step.conditions or rules.Conditions(),
            facts(conn, row["customer_id"], row["trigger_at"], now, run_id=row["run_id"]),
            playbook.consent,
        )
    if not why:
        return Outcome(store.DONE, {"outcome": "passed"}, next_due=row["due_at"])
    if step.otherwise is not None:
        record = {"outcome": "branched", "why": why, "to": step.otherwise}
        return Outcome(store.DONE, record, next_due=row["due_at"], next_step=step.otherwise)
    return Outcome(
        store.STOPPED, {"outcome": "stopped", "why": why}, run_status="stopped", reason=why
    )


def batch_contexts(conn: Connection, rows: list[Any]) -> dict[int, dict[str, Any]]:
    """customer_context for each claimed step (by its seq), read for the whole batch at once."""
    found = store.profiles(conn, [row["customer_id"] for row in rows])
    triggers = store.interactions_by_id(conn, [row["trigger_id"] for row in rows])
    return {
        row["seq"]: _context(
            row["customer_id"],
            found[row["customer_id"]],
            row["trigger_id"],
            row["trigger_at"],
            triggers.get(row["trigger_id"]),
        )
        for row in rows
    }


def customer_context(
    conn: Connection, customer_id: str, trigger_id: str, trigger_at: datetime
) -> dict[str, Any]:
    """What a template reads: the customer (id, traits, email, stage) and the trigger."""
    profile = store.profiles(conn, [customer_id])[customer_id]
    return _context(
        customer_id, profile, trigger_id, trigger_at, store.interaction(conn, trigger_id)
    )


def _context(
    customer_id: str,
    profile: dict[str, Any],
    trigger_id: str,
    trigger_at: datetime,
    trigger: Any,
) -> dict[str, Any]:
    keys = profile["identity_keys"]
    address = next((k.partition(":")[2] for k in keys if k.startswith("email:")), None)
    return {
        "customer": {
            "id": customer_id,
            "traits": profile["traits"],
            "email": address,
            "stage": profile["stage"],
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
    run_id: str | None = None,
) -> rules.Facts:
    """What a condition reads at `now` (counts of types: up to the trigger). Consent is every
    change recorded so far — a withdrawal dated later still holds — unless `as_of` (a dry run
    at a past moment) limits it to the changes that had occurred by then. `came` is what the
    run's last wait_for found."""
    found = store.customer(conn, customer_id)
    since = store.type_counts(conn, customer_id, upto=now, after=trigger_at)
    changes = consent_store.history(conn, customer_id)
    came = None
    if run_id is not None:
        for done in store.run_outcomes(conn, run_id):
            if done["kind"] == "wait_for":
                came = (done["outcome"] or {}).get("outcome") == "came"
    return rules.Facts(
        stage=store.stage_of(conn, customer_id),
        traits=dict(found["traits"] or {}) if found else {},
        consent=current_consent(c for c in changes if as_of is None or c.occurred_at <= as_of),
        types_since_trigger=frozenset(since),
        type_counts=store.type_counts(conn, customer_id, upto=trigger_at),
        came=came,
    )


def flush_log(auto: Automation) -> int:
    """Write the steps' interactions to the log, once each (their ids are derived from keys),
    a bulk append of up to a thousand at a time."""
    written = 0
    while True:
        with read_connection(auto.engine) as conn:
            pending = store.unlogged(conn)
        if not pending:
            return written
        auto.write_log([(i, dict(row["log_item"])) for i, row in enumerate(pending)])
        with write_transaction(auto.engine) as conn:
            store.mark_logged(conn, [row["seq"] for row in pending], datetime.now(UTC))
        written += len(pending)


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
