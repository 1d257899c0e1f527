"""The contact center's use cases for every face: apply a configuration, offer a contact, agents'
states, accept / decline / complete / abandon, and the live picture. Each change is one
serialised router transaction; then every ended contact is written to the interaction log (one
interaction per contact, its id `cc-<contact id>`, so a retry stores it once), where lifecycle
stages, the service-level reports and the KPIs see it."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from touchpoint.contact_center import router
from touchpoint.contact_center.config import CenterConfig, parse_toml, validate
from touchpoint.domain import contact_center as cc_terms
from touchpoint.domain import tickets as ticket_terms
from touchpoint.domain.contact_center import WAIT_PROPERTY
from touchpoint.domain.routing import OPEN_CONTACT_STATES, WAITING_STATES, CustomerFacts
from touchpoint.errors import Conflict, Forbidden, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.services import customers as customer_service
from touchpoint.services.access import Principal
from touchpoint.store import contact_center as store
from touchpoint.store import models as model_store
from touchpoint.store import tickets as ticket_store
from touchpoint.store.engine import read_connection

T = TypeVar("T")
# What a routed contact is in the log, by its channel (an email or a social message routed
# like a call is still an inbound message; the log's types name it).
LIVE_TYPE = {
    "phone": "call",
    "chat": "chat",
    "email": "email_received",
    "social": "social_message",
    "sms": "sms_received",
}


@dataclass(frozen=True)
class Applied:
    version: int
    queues: int
    agents: int
    rules: int


_configs: dict[tuple[str, int], CenterConfig] = {}
_configs_lock = threading.Lock()


def current_config(conn: Connection) -> tuple[int, CenterConfig]:
    """The configuration in force (parsed once per version and process)."""
    version = store.latest_config_version(conn)
    if version is None:
        raise Conflict(
            "the contact center has no configuration yet: touchpoint cc config apply FILE "
            "(or PUT /v1/cc/config)"
        )
    key = (str(conn.engine.url), version)
    with _configs_lock:
        found = _configs.get(key)
    if found is None:  # a version is never changed once applied: its document is read once
        found = validate(store.config_document(conn, version))
        with _configs_lock:
            _configs[key] = found
    return version, found


def normalised(document: Any) -> dict[str, Any]:
    """A configuration document as it is stored once validated (defaults filled in)."""
    return validate(document).document


def apply_config(
    tp: Touchpoint, *, text: str | None = None, document: Any = None, actor: str
) -> Applied:
    """Validate a whole configuration (TOML text or a JSON document) and put it in force, or
    change nothing and say every problem."""
    config = parse_toml(text) if text is not None else validate(document)
    now = datetime.now(UTC)
    with store.center_transaction(tp.engine) as conn:
        version = store.add_config(conn, at=now, by=actor, document=config.document)
        router.settle(conn, config, now)
        audit.record(
            conn,
            actor,
            "cc.config",
            f"cc_config:{version}",
            queues=len(config.queues),
            agents=len(config.agents),
            rules=len(config.rules),
        )
    return Applied(version, len(config.queues), len(config.agents), len(config.rules))


def config_document(tp: Touchpoint) -> dict[str, Any]:
    with read_connection(tp.engine) as conn:
        version, config = current_config(conn)
    return {"version": version, **config.document}


def check_acting(tp: Touchpoint, who: Principal, agent_id: str | None) -> None:
    """An agent acts only as themselves: a caller with the agent role may change only the state
    and the contacts of the agent whose `user` is their name (a front end offering contacts, or
    a supervisor, uses a manager key). Other roles holding cc.route may act for any agent."""
    if who.role != "agent":
        return
    if agent_id is None:
        raise Forbidden("an agent acts only as themselves; offering contacts needs a manager")
    with read_connection(tp.engine) as conn:
        _version, config = current_config(conn)
    spec = config.agents.get(agent_id)
    if spec is None or spec.user is None or spec.user != who.name:
        raise Forbidden(f"{who.actor} may act only as their own agent, not as {agent_id!r}")


def _change(tp: Touchpoint, work: Callable[[Connection, CenterConfig, datetime], T]) -> T:
    now = datetime.now(UTC)
    with store.center_transaction(tp.engine) as conn:
        _version, config = current_config(conn)
        result = work(conn, config, now)
    flush_log(tp)
    return result


def facts_for(
    conn: Connection, identity: dict[str, Any], *, default_region: str
) -> tuple[str | None, CustomerFacts]:
    """Who is on the line, if Touchpoint knows them: their stage, traits, last agent, the owner
    of their open ticket (one not solved nor closed, the most recently changed) and their
    predictive scores (the latest scoring of each model)."""
    keys = customer_service.lookup_keys(default_region=default_region, **identity)
    for key in keys:
        total, found = customer_service.find_customers(conn, [key], limit=1)
        if total:
            person = found[0]
            last = store.last_agent(conn, person.id)
            return person.id, CustomerFacts(
                stage=person.stage,
                traits=person.traits,
                last_agent=last[0] if last else None,
                last_agent_at=last[1] if last else None,
                ticket_owner=ticket_store.open_ticket_owner(
                    conn, person.id, ticket_terms.ACTIVE_STATUSES
                ),
                predicted={
                    row["model"]: float(row["probability"])
                    for row in model_store.scores_of(conn, person.id)
                },
            )
    return None, CustomerFacts()


def offer(
    tp: Touchpoint,
    *,
    queue: str,
    channel: str,
    identity: dict[str, Any],
    language: str | None = None,
    external_ref: str | None = None,
    rng: random.Random | None = None,
) -> router.Offered:
    """A contact arrives: routed to an agent now (a reservation to accept) or put in line."""
    identity = {k: v for k, v in identity.items() if v not in (None, "", {})}
    if not identity:
        raise ValidationError("customer: give at least one identity (phone, email, external_id…)")
    with read_connection(tp.engine) as conn:
        customer_id, facts = facts_for(conn, identity, default_region=tp.settings.default_region)
    return _change(
        tp,
        lambda conn, config, now: router.offer(
            conn,
            config,
            now,
            queue=queue,
            channel=channel,
            identity=identity,
            customer_id=customer_id,
            facts=facts,
            language=language,
            external_ref=external_ref,
            rng=rng,
        ),
    )


def agent_state(tp: Touchpoint, agent_id: str, command: str, reason: str | None = None) -> str:
    return _change(
        tp,
        lambda conn, config, now: router.set_agent_state(
            conn, config, now, agent_id, command, reason
        ),
    )


def accept(tp: Touchpoint, contact_id: str, agent_id: str) -> router.Offered:
    return _change(
        tp, lambda conn, config, now: router.accept(conn, config, now, contact_id, agent_id)
    )


def decline(tp: Touchpoint, contact_id: str, agent_id: str) -> router.Offered:
    return _change(
        tp, lambda conn, config, now: router.decline(conn, config, now, contact_id, agent_id)
    )


def complete(
    tp: Touchpoint,
    contact_id: str,
    agent_id: str,
    outcome: str | None = None,
    *,
    hold_s: float | None = None,
) -> router.Offered:
    return _change(
        tp,
        lambda conn, config, now: router.complete(
            conn, config, now, contact_id, agent_id, outcome, hold_s=hold_s
        ),
    )


def abandon(tp: Touchpoint, contact_id: str) -> router.Offered:
    return _change(tp, lambda conn, config, now: router.abandon(conn, config, now, contact_id))


def callback(tp: Touchpoint, contact_id: str, at: datetime | None = None) -> router.Offered:
    return _change(tp, lambda conn, config, now: router.callback(conn, config, now, contact_id, at))


def transfer(
    tp: Touchpoint,
    contact_id: str,
    agent_id: str,
    *,
    to_queue: str | None = None,
    to_agent: str | None = None,
) -> router.Offered:
    return _change(
        tp,
        lambda conn, config, now: router.transfer(
            conn, config, now, contact_id, agent_id, to_queue=to_queue, to_agent=to_agent
        ),
    )


def contact(tp: Touchpoint, contact_id: str) -> router.Offered:
    return _change(tp, lambda conn, config, now: _settled_describe(conn, config, now, contact_id))


def _settled_describe(
    conn: Connection, config: CenterConfig, now: datetime, contact_id: str
) -> router.Offered:
    router.settle(conn, config, now)
    router.dispatch(conn, config, now)
    return router.describe(conn, config, contact_id, now)


def tick(tp: Touchpoint) -> int:
    """Let time act: expired offers back in line, wrap-ups over, waiting contacts dispatched."""

    def work(conn: Connection, config: CenterConfig, now: datetime) -> int:
        router.settle(conn, config, now)
        return len(router.dispatch(conn, config, now))

    return _change(tp, work)


def next_deadline(tp: Touchpoint) -> datetime | None:
    """When the scheduler must next let time act on the center (None: nothing pending)."""
    with read_connection(tp.engine) as conn:
        if store.latest_config(conn) is None:
            return None
        found = store.next_deadline(conn)
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


# --- the log ------------------------------------------------------------------------------------


def flush_log(tp: Touchpoint) -> int:
    """Write every ended contact not yet in the interaction log (idempotent: the interaction id
    is `cc-<contact id>`)."""
    with read_connection(tp.engine) as conn:
        ended = store.unlogged_ends(conn)
    if not ended:
        return 0
    items: list[tuple[int, dict[str, Any]]] = []
    owner: list[str] = []
    for row in ended:
        for item in interactions_of(row):
            items.append((len(items), item))
            owner.append(row["id"])
    report = tp.ingestor.ingest(items)
    refused = {
        owner[r.position] for r in report.results if r.status not in ("accepted", "duplicate")
    }
    stored = [row["id"] for row in ended if row["id"] not in refused]
    with store.center_transaction(tp.engine) as conn:
        store.mark_logged(conn, stored, datetime.now(UTC))
    return len(stored)


def interactions_of(row: Any) -> list[dict[str, Any]]:
    """What an ended contact is in the log: an inbound call or chat (or message) in its queue,
    answered by its agent or abandoned, with its wait and handle time's parts (domain.
    contact_center: `duration_s` the talk, from the agent's answer to the end less the hold the
    front end reported; `hold_s` where reported; `wrapup_s` the wrap-up the agent went into).
    A callback is two: the inbound contact, neither answered nor abandoned
    (`callback_requested`, its wait until the customer asked), and the agent's outbound call
    back."""
    asked = row["callback_requested_at"]
    answered = row["status"] == "completed"
    start = asked or (row["assigned_at"] if answered else row["ended_at"])
    wait = (start - row["created_at"]).total_seconds() if start else None
    inbound: dict[str, Any] = {
        "id": f"{cc_terms.CONTACT_ID_PREFIX}{row['id']}",
        "type": LIVE_TYPE.get(row["channel"], "custom"),
        "channel": row["channel"],
        "direction": "inbound",
        "occurred_at": row["created_at"].isoformat(),
        "customer": dict(row["identity"]),
        "queue": row["queue"],
        "outcome": "callback_requested" if asked else row["outcome"],
        "properties": {
            WAIT_PROPERTY: round(wait, 3) if wait is not None else None,
            "contact_id": row["id"],
            "routing_rules": list(row["rules"] or ()),
            "transfers": row["transfers"],
        },
    }
    handled = _handled(row) if answered and row["assigned_at"] else {}
    parts = {
        name: row[name]
        for name in (cc_terms.HOLD_PROPERTY, cc_terms.WRAPUP_PROPERTY)
        if handled and row[name] is not None
    }
    if not asked:
        inbound["properties"] |= parts
        return [inbound | handled]
    if not answered:
        return [inbound]
    back = {
        "id": f"{cc_terms.CONTACT_ID_PREFIX}{row['id']}{cc_terms.CALLBACK_ID_SUFFIX}",
        "type": "call",
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": row["assigned_at"].isoformat(),
        "customer": dict(row["identity"]),
        "queue": row["queue"],
        "outcome": row["outcome"],
        "properties": {"contact_id": row["id"], "callback": True, **parts},
        **handled,
    }
    return [inbound, back]


def _handled(row: Any) -> dict[str, Any]:
    """An answered contact's agent and talk seconds (with the agent, less the hold)."""
    with_agent = (row["ended_at"] - row["assigned_at"]).total_seconds()
    talk = max(0.0, with_agent - (row[cc_terms.HOLD_PROPERTY] or 0.0))
    return {"agent": row["agent"], "duration_s": round(talk, 3)}


# --- the live picture ---------------------------------------------------------------------------


def live(tp: Touchpoint) -> dict[str, Any]:
    """Queues (waiting, longest wait, agents by state) and agents (state, load) now."""
    now = datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        _version, config = current_config(conn)
        views = router.agent_views(conn, config, now)
        waiting = store.contacts_in(conn, WAITING_STATES)
        held = store.contacts_in(conn, OPEN_CONTACT_STATES)
    queues = []
    for queue_id in config.queues:
        mine = [c for c in waiting if c["queue"] == queue_id]
        states: dict[str, int] = {}
        for agent in views.values():
            if queue_id in agent.queues:
                states[_shown_state(agent, now)] = states.get(_shown_state(agent, now), 0) + 1
        queues.append(
            {
                "queue": queue_id,
                "waiting": len(mine),
                "longest_wait_s": max(
                    ((now - c["joined_at"]).total_seconds() for c in mine), default=0.0
                ),
                "in_progress": sum(1 for c in held if c["queue"] == queue_id),
                "agents": states,
            }
        )
    agents = [
        {
            "agent": a.id,
            "state": _shown_state(a, now),
            "team": a.team,
            "load": dict(a.load),
            "occupancy": round(a.occupancy(), 3),
        }
        for a in views.values()
    ]
    return {"at": now.isoformat(), "queues": queues, "agents": agents}


def _shown_state(agent: Any, now: datetime) -> str:
    if agent.state == "ready" and agent.load:
        return "busy"
    if agent.state == "wrap_up" and agent.wrap_until and agent.wrap_until <= now:
        return "ready"
    return str(agent.state)


# --- the wallboard ------------------------------------------------------------------------------

# Sections other capabilities add to the wallboard: name -> a reader of (tp, start of today) whose
# answer goes into the picture under that name. Tickets (services/tickets.py) register
# "sla_breaches" when imported; `wallboard` imports them.
WALLBOARD_SECTIONS: dict[str, Callable[[Touchpoint, datetime], Any]] = {}

_today_cache: dict[tuple[str, datetime], tuple[int, dict[str, dict[str, Any]]]] = {}
_today_lock = threading.Lock()


def today_figures(
    conn: Connection, config: CenterConfig, since: datetime
) -> dict[str, dict[str, Any]]:
    """Per queue, the contacts that ended since `since` as the `contact-center` report counts
    them (each as the log will hold it, judged by domain.contact_center): offered, answered,
    abandoned, short abandons, Asterisk's SL and SL2 against the queue's target, abandonment."""
    counts: dict[str, dict[str, int]] = {}
    for row in store.ended_since(conn, since):
        item = interactions_of(row)[0]
        if not cc_terms.is_live_contact(item["type"], item["direction"]):
            continue
        wait = item["properties"][WAIT_PROPERTY]
        target = config.targets.get(row["queue"])
        threshold = target[1] if target else cc_terms.DEFAULT_THRESHOLD_S
        took = cc_terms.is_answered(item.get("agent"))
        gone = cc_terms.is_abandoned(item["outcome"])
        inside = cc_terms.is_within(wait, threshold)
        c = counts.setdefault(row["queue"], dict.fromkeys(_TODAY_COUNTS, 0))
        c["offered"] += 1
        c["answered"] += took
        c["answered_within"] += took and inside
        c["abandoned"] += gone
        c["abandoned_within"] += gone and inside
        c["short_abandoned"] += cc_terms.is_short_abandon(item["outcome"], wait)
    return {queue: _today_row(c) for queue, c in counts.items()}


_TODAY_COUNTS = (
    "offered",
    "answered",
    "answered_within",
    "abandoned",
    "abandoned_within",
    "short_abandoned",
)


def _today_row(c: dict[str, int]) -> dict[str, Any]:
    return {
        "offered": c["offered"],
        "answered": c["answered"],
        "abandoned": c["abandoned"],
        "short_abandoned": c["short_abandoned"],
        "sl": cc_terms.service_level(c["answered_within"], c["answered"]),
        "sl2": cc_terms.service_level_2(
            c["answered_within"], c["abandoned_within"], c["answered"], c["abandoned"]
        ),
        "abandon_rate": c["abandoned"] / c["offered"] if c["offered"] else None,
    }


def wallboard(tp: Touchpoint) -> dict[str, Any]:
    """The live picture (`live`) with each queue's figures today (since midnight UTC: the
    contacts ended today, as the `contact-center` report counts them), the position of the
    center's event trail (`seq`: it moves with every routing step) and the sections other
    capabilities add (`sla_breaches`: services.tickets.sla_breaches). Each call opens and
    closes its own read connections."""
    picture = live(tp)
    now = datetime.fromisoformat(picture["at"])
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with read_connection(tp.engine) as conn:
        seq = store.last_event_seq(conn)
        key = (str(tp.engine.url), since)
        with _today_lock:
            cached = _today_cache.get(key)
        if cached is None or cached[0] != seq:  # computed once per change, for every wallboard
            _version, config = current_config(conn)
            cached = (seq, today_figures(conn, config, since))
            with _today_lock:
                _today_cache.clear()  # only today's, at the newest position, is ever read
                _today_cache[key] = cached
    today = cached[1]
    for queue in picture["queues"]:
        queue["today"] = today.get(queue["queue"], _today_row(dict.fromkeys(_TODAY_COUNTS, 0)))
    picture["seq"] = seq
    picture["today_since"] = since.isoformat()
    from touchpoint.services import tickets  # noqa: F401  (registers its section)

    for name, section in WALLBOARD_SECTIONS.items():
        picture[name] = section(tp, since)
    return picture


def wallboard_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether a wallboard must be told: anything but the clock (`at`, and the longest waits
    that grow with it; the oldest contact leaving the line shows as the waiting count, the
    event trail's position and the figures today)."""
    return before is None or _fingerprint(before) != _fingerprint(after)


def _fingerprint(picture: dict[str, Any]) -> Any:
    queues = [{k: v for k, v in q.items() if k != "longest_wait_s"} for q in picture["queues"]]
    return {k: v for k, v in picture.items() if k not in ("at", "queues")} | {"queues": queues}
