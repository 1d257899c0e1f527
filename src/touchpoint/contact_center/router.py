"""The router: every change to the center — a contact offered, an agent's state, an offer
accepted or let expire, a contact ended, abandoned, transferred or turned into a callback — in
one serialised transaction (store.contact_center.center_transaction) that first settles what
time has done (expired offers go back to their place in line and their agent to not ready; ended
wrap-ups make agents ready), applies the change, then dispatches: waiting contacts in service
order (domain.routing.service_order), each offered to the agent domain.routing.choose picks, as a
reservation with a lease. The decision and its reasons are kept on the contact and in the event
trail. Being serialised, no contact goes to two agents and no agent past their capacity."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain.routing import (
    OPEN_CONTACT_STATES,
    WAITING_STATES,
    AgentView,
    ContactView,
    CustomerFacts,
    apply_rules,
    assignments,
    estimated_wait_s,
    room_for_any,
)
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.store import contact_center as store

AGENT_COMMANDS = ("login", "ready", "not_ready", "logout")
TRANSFER_HOLD_S = 60.0  # a contact transferred to an agent waits this long for them, then anyone


@dataclass(frozen=True)
class Offered:
    """A contact as the router answers for it: reserved for an agent, or waiting in line."""

    id: str
    status: str
    queue: str
    agent: str | None
    lease_until: datetime | None
    position: int | None  # 1 = next in line (waiting only)
    estimated_wait_s: float | None
    rules: tuple[str, ...]
    decision: dict[str, Any] | None


# --- settling what time did ---------------------------------------------------------------------


def settle(conn: Connection, config: CenterConfig, now: datetime) -> None:
    """Expired offers back to their place in line (their agent to not ready: no agent stays
    reserved for ever), finished wrap-ups to ready, new agents known."""
    known = store.agent_ids(conn)
    for agent_id in config.agents:
        if agent_id not in known:
            store.add_agent(conn, agent_id, now)
    for row in store.expired_reservations(conn, now):
        store.set_contact(conn, row["id"], status="waiting", agent=None, lease_until=None)
        store.add_event(
            conn,
            at=now,
            kind="expired",
            contact_id=row["id"],
            agent_id=row["agent"],
            queue=row["queue"],
        )
        store.set_agent(
            conn, row["agent"], state="not_ready", reason="missed an offer", state_since=now
        )
        store.add_event(
            conn,
            at=now,
            kind="not_ready",
            agent_id=row["agent"],
            detail={"reason": "missed an offer"},
        )
    for agent_id in store.wrapped_up(conn, now):
        store.set_agent(conn, agent_id, state="ready", wrap_until=None, state_since=now)
        store.add_event(conn, at=now, kind="ready", agent_id=agent_id, detail={"after": "wrap-up"})


# --- dispatch -----------------------------------------------------------------------------------


def agent_views(
    conn: Connection, config: CenterConfig, now: datetime, *, free_only: bool = False
) -> dict[str, AgentView]:
    """Every configured agent as routing sees them now; `free_only`: only those who could take a
    contact now (ready, out of wrap-up, room on some channel) — dispatch looks at no one else,
    and a busy center has few, so no view is made of the rest."""
    rows = store.agents(conn)
    loads = store.loads(conn, OPEN_CONTACT_STATES)
    today = now.date().isoformat()
    views: dict[str, AgentView] = {}
    for agent_id, spec in config.agents.items():
        row = rows.get(agent_id)
        if row is None:
            continue
        load = loads.get(agent_id, {})
        if free_only and not (
            row["state"] == "ready"
            and (row["wrap_until"] is None or row["wrap_until"] <= now)
            and room_for_any(spec.capacity, load)
        ):
            continue
        views[agent_id] = config.agent_view(
            agent_id,
            state=row["state"],
            load=load,
            idle_since=row["idle_since"],
            handled_today=row["handled_today"] if row["handled_day"] == today else 0,
            wrap_until=row["wrap_until"],
        )
    return views


def contact_view(row: RowMapping) -> ContactView:
    return ContactView(
        id=row["id"],
        queue=row["queue"],
        channel=row["channel"],
        language=row["language"],
        joined_at=row["joined_at"],
        priority=row["priority"],
        team=row["team"],
        team_until=row["team_until"],
        preferred_agent=row["preferred_agent"],
        prefer_until=row["prefer_until"],
        not_before=row["not_before"],
        preferred_by=row["preferred_by"],
    )


def dispatch(
    conn: Connection, config: CenterConfig, now: datetime, rng: random.Random | None = None
) -> list[tuple[str, str]]:
    """Offer waiting contacts, in service order across queues, to the agents routing picks
    (domain.routing.assignments: it reads a queue's line only while an agent serving it has
    room); the (contact, agent) reservations made."""
    views = agent_views(conn, config, now, free_only=True)
    if not views:
        return []
    lines = {queue: _line(conn, config, queue, now) for queue in config.queues}
    memory = store.last_chosen(conn)
    remembered = set(memory)
    made: list[tuple[str, str]] = []
    for contact, decision, _agent in assignments(
        lines, config.queues, views, now, last_chosen=memory, rng=rng
    ):
        agent = str(decision.agent)
        why = {
            "strategy": decision.strategy,
            "candidates": list(decision.candidates),
            "reason": decision.reason,
        }
        store.set_contact(
            conn,
            contact.id,
            status="reserved",
            agent=agent,
            lease_until=now + timedelta(seconds=config.lease_s),
            decision=why,
        )
        store.add_event(
            conn,
            at=now,
            kind="reserved",
            contact_id=contact.id,
            agent_id=agent,
            queue=contact.queue,
            detail=why,
        )
        store.remember_chosen(conn, contact.queue, agent, contact.queue in remembered)
        remembered.add(contact.queue)
        made.append((contact.id, agent))
    return made


def _line(
    conn: Connection, config: CenterConfig, queue: str, now: datetime
) -> Iterator[ContactView]:
    """The queue's line as routing reads it: a callback waits while its queue is closed."""
    closed = not _open(config, queue, now)
    for row in store.line(conn, queue, WAITING_STATES):
        if closed and row["status"] == "callback":
            continue
        yield contact_view(row)


# --- offering a contact -------------------------------------------------------------------------


def offer(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    *,
    queue: str,
    channel: str,
    identity: dict[str, Any],
    customer_id: str | None,
    facts: CustomerFacts,
    language: str | None = None,
    external_ref: str | None = None,
    rng: random.Random | None = None,
) -> Offered:
    """A new contact joins the line (or, sent again with the same external_ref, the one it
    created is answered); then dispatch."""
    if queue not in config.queues:
        raise ValidationError(f"queue: no queue named {queue!r}; known: {', '.join(config.queues)}")
    spec = config.queues[queue]
    if channel not in spec.channels:
        raise ValidationError(
            f"channel: queue {queue} takes {', '.join(spec.channels)}, not {channel!r}"
        )
    settle(conn, config, now)
    if external_ref is not None and (found := store.contact_by_ref(conn, external_ref)):
        return describe(conn, config, found["id"], now)
    if not _open(config, queue, now):
        opens = config.calendars[queue].next_open(now)
        raise Conflict(f"queue {queue} is closed; it opens at {opens.isoformat()}")
    outcome = apply_rules(config.rules, facts, queue, now)
    contact_id = "con_" + secrets.token_hex(8)
    store.add_contact(
        conn,
        id=contact_id,
        external_ref=external_ref,
        queue=queue,
        channel=channel,
        language=language,
        customer_id=customer_id,
        identity=identity,
        status="waiting",
        created_at=now,
        joined_at=now,
        priority=outcome.priority,
        team=outcome.team,
        team_until=outcome.team_until,
        preferred_agent=outcome.preferred_agent,
        prefer_until=outcome.prefer_until,
        preferred_by=f"rule: {outcome.prefer_rule}" if outcome.prefer_rule else None,
        rules=list(outcome.applied),
    )
    store.add_event(
        conn,
        at=now,
        kind="offered",
        contact_id=contact_id,
        queue=queue,
        detail={"channel": channel, "rules": list(outcome.applied), "stage": facts.stage},
    )
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def describe(conn: Connection, config: CenterConfig, contact_id: str, now: datetime) -> Offered:
    row = _contact(conn, contact_id)
    position = wait = None
    if row["status"] in WAITING_STATES and row["queue"] in config.queues:
        position = 1 + store.ahead_of(conn, row, WAITING_STATES)
        states = store.agent_states(conn)
        serving = sum(
            1
            for agent_id, spec in config.agents.items()
            if row["queue"] in spec.queues and states.get(agent_id, "logged_out") != "logged_out"
        )
        handle = store.mean_handle_s(conn, row["queue"]) or config.default_handle_s
        wait = round(estimated_wait_s(position, serving, handle), 1)
    return Offered(
        id=row["id"],
        status=row["status"],
        queue=row["queue"],
        agent=row["agent"],
        lease_until=row["lease_until"],
        position=position,
        estimated_wait_s=wait,
        rules=tuple(row["rules"] or ()),
        decision=row["decision"],
    )


def _contact(conn: Connection, contact_id: str) -> RowMapping:
    row = store.contact(conn, contact_id)
    if row is None:
        raise NotFound(f"no contact {contact_id!r}")
    return row


# --- agents -------------------------------------------------------------------------------------


def set_agent_state(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    agent_id: str,
    command: str,
    reason: str | None = None,
    rng: random.Random | None = None,
) -> str:
    """login (not ready until they say ready), ready, not_ready (with a reason), logout; an
    agent with a contact open stays assigned to it. Answers the new state."""
    if agent_id not in config.agents:
        raise NotFound(f"no agent {agent_id!r} in the configuration")
    if command not in AGENT_COMMANDS:
        raise ValidationError(f"state: {command!r} is not one of {', '.join(AGENT_COMMANDS)}")
    settle(conn, config, now)
    row = store.agent(conn, agent_id)
    assert row is not None  # settle() added every configured agent
    if command == "logout":
        for held in store.contacts_in(conn, ("reserved",)):
            if held["agent"] == agent_id:  # an offer not yet taken goes back to its place
                store.set_contact(conn, held["id"], status="waiting", agent=None, lease_until=None)
                store.add_event(
                    conn,
                    at=now,
                    kind="returned",
                    contact_id=held["id"],
                    agent_id=agent_id,
                    queue=held["queue"],
                )
    if command == "ready" and row["state"] == "wrap_up" and row["wrap_until"] > now:
        raise Conflict(f"agent {agent_id} is in wrap-up until {row['wrap_until'].isoformat()}")
    state = {"login": "not_ready", "ready": "ready", "not_ready": "not_ready"}.get(
        command, "logged_out"
    )
    values: dict[str, Any] = {
        "state": state,
        "reason": reason if state == "not_ready" else None,
        "state_since": now,
    }
    if row["state"] == "logged_out" and state != "logged_out":
        values["idle_since"] = now  # idle from their login, not from before it
    store.set_agent(conn, agent_id, **values)
    store.add_event(conn, at=now, kind=state, agent_id=agent_id, detail={"reason": reason})
    dispatch(conn, config, now, rng)
    return state


# --- a contact's life ---------------------------------------------------------------------------


def accept(
    conn: Connection, config: CenterConfig, now: datetime, contact_id: str, agent_id: str
) -> Offered:
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] != "reserved" or row["agent"] != agent_id:
        if row["status"] == "waiting" and row["agent"] is None:
            raise Conflict(f"the offer of {contact_id} to {agent_id} expired; it is back in line")
        raise Conflict(f"contact {contact_id} is {row['status']}, not offered to {agent_id}")
    first = row["assigned_at"] is None  # a transferred contact keeps its first answer time
    store.set_contact(
        conn,
        contact_id,
        status="assigned",
        lease_until=None,
        **({"assigned_at": now} if first else {}),
    )
    store.add_event(
        conn, at=now, kind="accepted", contact_id=contact_id, agent_id=agent_id, queue=row["queue"]
    )
    return describe(conn, config, contact_id, now)


def decline(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    contact_id: str,
    agent_id: str,
    rng: random.Random | None = None,
) -> Offered:
    """The agent turns the offer down: it goes back to its place, the agent to not ready."""
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] != "reserved" or row["agent"] != agent_id:
        raise Conflict(f"contact {contact_id} is {row['status']}, not offered to {agent_id}")
    store.set_contact(conn, contact_id, status="waiting", agent=None, lease_until=None)
    store.set_agent(conn, agent_id, state="not_ready", reason="declined an offer", state_since=now)
    store.add_event(
        conn, at=now, kind="declined", contact_id=contact_id, agent_id=agent_id, queue=row["queue"]
    )
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def complete(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    contact_id: str,
    agent_id: str,
    outcome: str | None = None,
    rng: random.Random | None = None,
    *,
    hold_s: float | None = None,
) -> Offered:
    """The agent ends the contact: wrap-up starts (no offer from any queue until it ends). The
    front end may say how long the customer was on hold (`hold_s`, at most the time with the
    agent); the contact keeps it and the wrap-up the agent went into, for the handle time."""
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] != "assigned" or row["agent"] != agent_id:
        raise Conflict(f"contact {contact_id} is {row['status']}, not assigned to {agent_id}")
    with_agent = (now - row["assigned_at"]).total_seconds()
    if hold_s is not None and not 0 <= hold_s <= with_agent:
        raise ValidationError(
            f"hold_s: {hold_s:g} s is not between 0 and the {with_agent:g} s with the agent"
        )
    wrapup = _end_for_agent(conn, config, now, agent_id, row["queue"])
    store.set_contact(
        conn,
        contact_id,
        status="completed",
        ended_at=now,
        outcome=outcome or "answered",
        hold_s=hold_s,
        wrapup_s=wrapup,
    )
    store.add_event(
        conn,
        at=now,
        kind="completed",
        contact_id=contact_id,
        agent_id=agent_id,
        queue=row["queue"],
        detail={"outcome": outcome or "answered", "wrapup_s": wrapup},
    )
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def abandon(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    contact_id: str,
    rng: random.Random | None = None,
) -> Offered:
    """The customer gave up waiting (or hung up while it was being offered)."""
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] not in (*WAITING_STATES, "reserved"):
        raise Conflict(f"contact {contact_id} is {row['status']}; only a waiting one is abandoned")
    store.set_contact(
        conn, contact_id, status="abandoned", ended_at=now, outcome="abandoned", lease_until=None
    )
    store.add_event(
        conn,
        at=now,
        kind="abandoned",
        contact_id=contact_id,
        agent_id=row["agent"],
        queue=row["queue"],
    )
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def callback(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    contact_id: str,
    at: datetime | None = None,
    rng: random.Random | None = None,
) -> Offered:
    """The waiting customer asks to be called back: they hang up and keep their place in line —
    offered when their turn comes (never ahead of those who were waiting before them), or not
    before `at`, a moment inside the queue's business hours they chose."""
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] != "waiting":
        raise Conflict(f"contact {contact_id} is {row['status']}; only a waiting one asks back")
    if at is not None:
        if at < now:
            raise ValidationError(f"at: {at.isoformat()} has passed")
        if not _open(config, row["queue"], at):
            opens = config.calendars[row["queue"]].next_open(at)
            raise ValidationError(
                f"at: {at.isoformat()} is outside queue {row['queue']}'s business hours; "
                f"it next opens at {opens.isoformat()}"
            )
    store.set_contact(conn, contact_id, status="callback", not_before=at, callback_requested_at=now)
    store.add_event(
        conn,
        at=now,
        kind="callback",
        contact_id=contact_id,
        queue=row["queue"],
        detail={"at": at.isoformat() if at else None},
    )
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def transfer(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    contact_id: str,
    agent_id: str,
    *,
    to_queue: str | None = None,
    to_agent: str | None = None,
    rng: random.Random | None = None,
) -> Offered:
    """The agent hands the contact on, to another queue or agent: it keeps its place in line
    (when it first joined) and its history; the agent goes into wrap-up as after any contact."""
    settle(conn, config, now)
    row = _contact(conn, contact_id)
    if row["status"] != "assigned" or row["agent"] != agent_id:
        raise Conflict(f"contact {contact_id} is {row['status']}, not assigned to {agent_id}")
    if to_queue is None and to_agent is None:
        raise ValidationError("give to_queue or to_agent")
    queue = to_queue or row["queue"]
    if queue not in config.queues:
        raise ValidationError(f"to_queue: no queue named {queue!r}")
    if row["channel"] not in config.queues[queue].channels:
        raise ValidationError(f"to_queue: queue {queue} does not take {row['channel']}")
    if to_agent is not None and (to_agent not in config.agents or to_agent == agent_id):
        raise ValidationError(f"to_agent: {to_agent!r} is not another agent of the configuration")
    store.set_contact(
        conn,
        contact_id,
        status="waiting",
        queue=queue,
        agent=None,
        preferred_agent=to_agent,
        prefer_until=now + timedelta(seconds=TRANSFER_HOLD_S) if to_agent else None,
        preferred_by="transfer" if to_agent else None,
        team=None,
        team_until=None,
        transfers=row["transfers"] + 1,
    )
    store.add_event(
        conn,
        at=now,
        kind="transferred",
        contact_id=contact_id,
        agent_id=agent_id,
        queue=queue,
        detail={"from_queue": row["queue"], "to_agent": to_agent},
    )
    _end_for_agent(conn, config, now, agent_id, row["queue"])
    dispatch(conn, config, now, rng)
    return describe(conn, config, contact_id, now)


def _open(config: CenterConfig, queue: str, at: datetime) -> bool:
    calendar = config.calendars.get(queue)
    return calendar is None or calendar.is_open(at)


def _end_for_agent(
    conn: Connection, config: CenterConfig, now: datetime, agent_id: str, queue: str
) -> float:
    """The agent is done with a contact: idle from now, one more handled today, and wrap-up
    (no offer from any queue) for the queue's wrap-up time if they were ready (an agent gone
    not ready meanwhile has none). Answers the wrap-up seconds they went into."""
    wrapup = config.queues[queue].wrapup_s if queue in config.queues else 0.0
    agent = store.agent(conn, agent_id)
    assert agent is not None  # settle() added every configured agent
    today = now.date().isoformat()
    handled = (agent["handled_today"] if agent["handled_day"] == today else 0) + 1
    values: dict[str, Any] = {"idle_since": now, "handled_day": today, "handled_today": handled}
    if wrapup > 0 and agent["state"] in ("ready", "wrap_up"):
        # Ending a second contact (of several chats) during a wrap-up ends no sooner than this
        # one's own wrap-up: each contact gets its after-work.
        until = now + timedelta(seconds=wrapup)
        if agent["state"] == "wrap_up" and agent["wrap_until"] is not None:
            until = max(until, agent["wrap_until"])
        values |= {"state": "wrap_up", "wrap_until": until}
        if agent["state"] == "ready":
            values["state_since"] = now
        store.set_agent(conn, agent_id, **values)
        store.add_event(conn, at=now, kind="wrap_up", agent_id=agent_id, detail={"s": wrapup})
        return wrapup
    store.set_agent(conn, agent_id, **values)
    return 0.0


# --- outbound calls -----------------------------------------------------------------------------

OUTBOUND_REF = "outbound:"  # a contact's external_ref when it is an outbound call (+ the call id)


def start_outbound(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    *,
    agent_id: str,
    queue: str,
    call_ref: str,
    identity: dict[str, Any],
    customer_id: str | None = None,
) -> str:
    """An outbound call handed to an agent (contact_center/outbound.py) becomes a phone contact
    assigned to them in `queue`: it takes their room as any call does, so routing offers them
    nothing until `end_outbound`, and the trail says they were busy from now (occupancy). Answers
    the contact's id; the same call given again is the same contact."""
    if agent_id not in config.agents:
        raise NotFound(f"no agent {agent_id!r} in the configuration")
    settle(conn, config, now)
    if found := store.contact_by_ref(conn, OUTBOUND_REF + call_ref):
        return str(found["id"])
    contact_id = "con_" + secrets.token_hex(8)
    why = {"strategy": "outbound", "candidates": [agent_id], "reason": "an outbound call"}
    store.add_contact(
        conn,
        id=contact_id,
        external_ref=OUTBOUND_REF + call_ref,
        queue=queue,
        channel="phone",
        customer_id=customer_id,
        identity=identity,
        status="assigned",
        created_at=now,
        joined_at=now,
        agent=agent_id,
        assigned_at=now,
        rules=[],
        decision=why,
    )
    store.add_event(
        conn,
        at=now,
        kind="accepted",
        contact_id=contact_id,
        agent_id=agent_id,
        queue=queue,
        detail={"outbound": call_ref},
    )
    return contact_id


def end_outbound(
    conn: Connection,
    config: CenterConfig,
    now: datetime,
    call_ref: str,
    outcome: str,
    rng: random.Random | None = None,
) -> str | None:
    """The outbound call's outcome is recorded: its contact completes as any contact does (the
    agent into the queue's wrap-up, then ready; dispatch runs), and is marked logged — its
    interaction is the dialer's own (`ob-<attempt>`), not a `cc-` one. Answers the contact's id,
    or None for a call no agent held (never connected) or one ended already."""
    row = store.contact_by_ref(conn, OUTBOUND_REF + call_ref)
    if row is None or row["status"] != "assigned":
        return None
    complete(conn, config, now, row["id"], row["agent"], outcome, rng)
    store.mark_logged(conn, [row["id"]], now)
    return str(row["id"])
