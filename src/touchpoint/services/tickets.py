"""Tickets (cases) for every face: open one, reply, change its status or owner, read it with its
SLA clocks, follow the log (an inbound interaction naming a ticket links to it, or opens one),
and let time fire the clocks' warnings and breaches (the scheduler). Each change is one
serialised ticket transaction that also records its events (the `tickets` stream); then the
changes that are interactions (opened, replied, solved) are written to the log, once each."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain import sla
from touchpoint.domain import tickets as terms
from touchpoint.domain.calendar import BusinessCalendar
from touchpoint.domain.vocabulary import CHANNELS, InteractionType
from touchpoint.errors import Conflict, NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import audit
from touchpoint.services.contact_center import WALLBOARD_SECTIONS, current_config
from touchpoint.store import contact_center as cc_store
from touchpoint.store import projections as checkpoints
from touchpoint.store import tickets as store
from touchpoint.store.engine import read_connection
from touchpoint.store.identity import merged_below
from touchpoint.store.log import last_seq

LOG_CONSUMER = "tickets.log"  # the checkpoint of the log's interactions already linked
LOG_ACTOR = "log"  # who made a change the log caused
_ID = re.compile(r"^tkt_[0-9a-f]{16}$")
_ALWAYS_OPEN = BusinessCalendar.always_open()
# How an agent's reply is written to the log, by the ticket's channel.
REPLY_TYPES = {
    "email": InteractionType.EMAIL_SENT.value,
    "sms": InteractionType.SMS_SENT.value,
    "social": InteractionType.SOCIAL_MESSAGE.value,
    "chat": InteractionType.CHAT.value,
    "phone": InteractionType.CALL.value,
}
_IDENTITY_FIELDS = {
    "email": "email",
    "phone": "phone",
    "external_id": "external_id",
    "anonymous_id": "anonymous_id",
}


@dataclass(frozen=True)
class TicketView:
    id: str
    external_ref: str | None
    subject: str
    status: str
    priority: str
    queue: str | None
    channel: str
    owner: str | None
    customer_id: str | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    replies: int
    breached: bool
    first_contact_resolution: bool | None
    clocks: list[sla.ClockView] = field(default_factory=list)
    interactions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FcrSummary:
    solved: int
    resolved_first_contact: int
    not_resolved_first_contact: int
    undecided: int
    window_s: float

    @property
    def rate(self) -> float | None:
        decided = self.resolved_first_contact + self.not_resolved_first_contact
        return self.resolved_first_contact / decided if decided else None


# --- reading ------------------------------------------------------------------------------------


def get(tp: Touchpoint, ticket_id: str, *, now: datetime | None = None) -> TicketView:
    """A ticket with its clocks and linked interactions (the log followed first)."""
    follow_log(tp, now=now)
    moment = now or datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        row = _found(conn, ticket_id)
        return _view(conn, row, _config(conn), moment, full=True)


def find(
    tp: Touchpoint,
    *,
    status: str | None = None,
    queue: str | None = None,
    owner: str | None = None,
    breached: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[TicketView]]:
    if status is not None and status not in terms.STATUSES:
        raise ValidationError(
            f"status: unknown status {status!r}; allowed: {', '.join(terms.STATUSES)}"
        )
    follow_log(tp, now=now)
    moment = now or datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        total, rows = store.find_tickets(
            conn,
            status=status,
            queue=queue,
            owner=owner,
            breached=breached,
            limit=limit,
            offset=offset,
        )
        config = _config(conn)
        return total, [_view(conn, row, config, moment, full=False) for row in rows]


def fcr_summary(
    tp: Touchpoint,
    *,
    start: datetime,
    end: datetime,
    window_s: float = terms.FCR_WINDOW_S,
    now: datetime | None = None,
) -> FcrSummary:
    """Ticket-based first-contact resolution (domain.tickets) of the tickets first solved in
    [start, end)."""
    if window_s <= 0:
        raise ValidationError("window: must be a positive span, such as 7d")
    follow_log(tp, now=now)
    moment = now or datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        rows = store.solved_between(conn, start, end)
        inbound = store.inbound_times(conn, [row["id"] for row in rows])
    verdicts = [
        terms.first_contact_resolution(row["first_solved_at"], inbound[row["id"]], moment, window_s)
        for row in rows
    ]
    return FcrSummary(
        solved=len(rows),
        resolved_first_contact=verdicts.count(True),
        not_resolved_first_contact=verdicts.count(False),
        undecided=verdicts.count(None),
        window_s=window_s,
    )


def _view(
    conn: Connection, row: RowMapping, config: CenterConfig | None, now: datetime, *, full: bool
) -> TicketView:
    calendar = _calendar(config, row["queue"])
    clocks = store.clocks(conn, row["id"])
    views = [sla.view(clocks[name], now, calendar) for name in sla.CLOCKS if name in clocks]
    inbound = store.inbound_times(conn, [row["id"]])[row["id"]]
    return TicketView(
        id=row["id"],
        external_ref=row["external_ref"],
        subject=row["subject"],
        status=row["status"],
        priority=row["priority"],
        queue=row["queue"],
        channel=row["channel"],
        owner=row["owner"],
        customer_id=row["customer_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        solved_at=row["solved_at"],
        closed_at=row["closed_at"],
        reopen_count=row["reopen_count"],
        replies=row["replies"],
        breached=any(v.state == "breached" for v in views),
        first_contact_resolution=terms.first_contact_resolution(
            row["first_solved_at"], inbound, now
        ),
        clocks=views,
        interactions=[link["interaction_id"] for link in store.links(conn, row["id"])]
        if full
        else [],
    )


# --- changes ------------------------------------------------------------------------------------


def open_ticket(
    tp: Touchpoint,
    *,
    subject: str,
    queue: str,
    channel: str,
    identity: dict[str, Any],
    priority: str = terms.DEFAULT_PRIORITY,
    owner: str | None = None,
    external_ref: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> TicketView:
    """A new ticket in a queue of the contact center's configuration, its clocks started."""
    identity = {k: v for k, v in identity.items() if v not in (None, "", {})}
    if not identity:
        raise ValidationError("customer: give at least one identity (phone, email, external_id…)")
    if not subject.strip():
        raise ValidationError("subject: must not be empty")
    if channel not in CHANNELS:
        raise ValidationError(
            f"channel: unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}"
        )
    _checked(terms.check_priority, priority)
    moment = now or datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        config = _required_config(conn)
        from touchpoint.services.contact_center import facts_for

        customer_id, _facts = facts_for(conn, identity, default_region=tp.settings.default_region)
    if queue not in config.queues:
        raise ValidationError(
            f"queue: no queue named {queue!r}; queues: {', '.join(config.queues)}"
        )
    _check_agent(config, owner, "owner")
    ticket_id = f"tkt_{secrets.token_hex(8)}"
    with store.ticket_transaction(tp.engine) as conn:
        if external_ref is not None and store.ticket_by_ref(conn, external_ref) is not None:
            raise Conflict(f"external_ref: ticket {external_ref!r} exists already")
        _create(
            conn,
            config,
            ticket_id=ticket_id,
            subject=subject.strip(),
            queue=queue,
            channel=channel,
            identity=identity,
            priority=priority,
            owner=owner,
            external_ref=external_ref,
            customer_id=customer_id,
            at=moment,
            actor=actor,
            log=True,
        )
        audit.record(conn, actor, "ticket.change", ticket_id, change="opened", queue=queue)
    flush_log(tp)
    return get(tp, ticket_id, now=now)


def reply(
    tp: Touchpoint,
    ticket_id: str,
    *,
    agent: str,
    status: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> TicketView:
    """An agent's public reply: meets the first response, starts the next response's new cycle;
    then the ticket moves to `status` if given (a new ticket becomes open)."""

    def work(conn: Connection, ctx: _Context) -> None:
        if ctx.row["status"] not in terms.ACTIVE_STATUSES:
            raise Conflict(f"ticket {ticket_id} is {ctx.row['status']}: reopen it before replying")
        _check_agent(ctx.config, agent, "agent")
        target = status or (terms.OPEN if ctx.row["status"] == terms.NEW else None)
        if target is not None and target != ctx.row["status"]:
            _check_move(ctx.row["status"], target)
        ctx.clocks = terms.after_reply(
            ctx.clocks, ctx.policy, ctx.row["status"], ctx.at, ctx.calendar
        )
        replies = ctx.row["replies"] + 1
        store.set_ticket(conn, ticket_id, replies=replies, updated_at=ctx.at)
        log_item = _log_item(
            ctx.row,
            f"tkt-{ticket_id}-reply-{replies}",
            REPLY_TYPES.get(ctx.row["channel"], InteractionType.CUSTOM.value),
            "outbound",
            ctx.at,
            agent=agent,
        )
        ctx.event("ticket_replied", actor, detail={"agent": agent}, log_item=log_item)
        store.add_link(
            conn,
            ticket_id=ticket_id,
            interaction_id=log_item["id"],
            direction="outbound",
            occurred_at=ctx.at,
        )
        if target is not None and target != ctx.row["status"]:
            _move(conn, ctx, target, actor)

    return _change(tp, ticket_id, work, actor=actor, now=now, audit_detail={"change": "reply"})


def set_status(
    tp: Touchpoint, ticket_id: str, status: str, *, actor: str, now: datetime | None = None
) -> TicketView:
    """Move a ticket (domain.tickets says which moves are allowed; solved → open is a reopen)."""

    def work(conn: Connection, ctx: _Context) -> None:
        _check_move(ctx.row["status"], status)
        _move(conn, ctx, status, actor)

    return _change(
        tp, ticket_id, work, actor=actor, now=now, audit_detail={"change": "status", "to": status}
    )


def assign(
    tp: Touchpoint, ticket_id: str, owner: str | None, *, actor: str, now: datetime | None = None
) -> TicketView:
    """Give a ticket to an agent of the configuration (None: to nobody)."""

    def work(conn: Connection, ctx: _Context) -> None:
        if ctx.row["status"] == terms.CLOSED:
            raise Conflict(f"ticket {ticket_id} is closed")
        _check_agent(ctx.config, owner, "owner")
        store.set_ticket(conn, ticket_id, owner=owner, updated_at=ctx.at)
        ctx.event("ticket_assigned", actor, detail={"from": ctx.row["owner"], "to": owner})

    return _change(
        tp, ticket_id, work, actor=actor, now=now, audit_detail={"change": "assign", "to": owner}
    )


@dataclass
class _Context:
    conn: Connection
    row: RowMapping
    config: CenterConfig | None
    calendar: BusinessCalendar
    policy: sla.SlaPolicy | None
    clocks: dict[str, sla.Clock]
    at: datetime

    def event(self, kind: str, actor: str | None, **values: Any) -> bool:
        return _event(self.conn, self.row, kind, self.at, actor, **values)


def _change(
    tp: Touchpoint,
    ticket_id: str,
    work: Callable[[Connection, _Context], None],
    *,
    actor: str,
    now: datetime | None,
    audit_detail: dict[str, Any] | None = None,
) -> TicketView:
    moment = now or datetime.now(UTC)
    with store.ticket_transaction(tp.engine) as conn:
        row = _found(conn, ticket_id)
        ctx = _context(conn, row, moment)
        _fire(ctx)  # what fell due before this change is recorded first
        work(conn, ctx)
        _save_clocks(ctx)
        if audit_detail is not None and actor != LOG_ACTOR:
            audit.record(conn, actor, "ticket.change", ticket_id, **audit_detail)
    flush_log(tp)
    return get(tp, ticket_id, now=now)


def _context(conn: Connection, row: RowMapping, now: datetime) -> _Context:
    config = _config(conn)
    return _Context(
        conn=conn,
        row=row,
        config=config,
        calendar=_calendar(config, row["queue"]),
        policy=sla.policy_for(config.sla, row["queue"], row["priority"]) if config else None,
        clocks=store.clocks(conn, row["id"]),
        at=max(now, row["updated_at"]),  # a ticket's clocks never run backwards
    )


def _move(conn: Connection, ctx: _Context, status: str, actor: str | None) -> None:
    old = ctx.row["status"]
    ctx.clocks = terms.after_move(ctx.clocks, ctx.policy, old, status, ctx.at, ctx.calendar)
    values: dict[str, Any] = {"status": status, "updated_at": ctx.at}
    log_item = None
    if status == terms.SOLVED:
        values["solved_at"] = ctx.at
        if ctx.row["first_solved_at"] is None:
            values["first_solved_at"] = ctx.at
        log_item = _log_item(
            ctx.row,
            f"tkt-{ctx.row['id']}-solved-{ctx.row['reopen_count']}",
            InteractionType.TICKET_RESOLVED.value,
            "outbound",
            ctx.at,
        )
    if status == terms.CLOSED:
        values["closed_at"] = ctx.at
    reopened = terms.is_reopen(old, status)
    if reopened:
        values["reopen_count"] = ctx.row["reopen_count"] + 1
        values["solved_at"] = None
    store.set_ticket(conn, ctx.row["id"], **values)
    ctx.event(
        "ticket_reopened" if reopened else "ticket_status",
        actor,
        detail={"from": old, "to": status},
        log_item=log_item,
    )


def _fire(ctx: _Context) -> int:
    fired = 0
    for name, clock in list(ctx.clocks.items()):
        clock, firings = sla.fire(clock, ctx.at, ctx.calendar)
        ctx.clocks[name] = clock
        for firing in firings:
            key = f"ticket_{firing.kind}:{ctx.row['id']}:{firing.clock}:{firing.cycle}"
            fired += _event(
                ctx.conn,
                ctx.row,
                f"ticket_{firing.kind}",
                firing.at,
                None,
                key=key,
                clock=firing.clock,
                cycle=firing.cycle,
                detail={"target_s": clock.target_s},
            )
    return fired


def _save_clocks(ctx: _Context) -> None:
    fire_at = {name: sla.next_firing(clock, ctx.calendar) for name, clock in ctx.clocks.items()}
    store.save_clocks(ctx.conn, ctx.row["id"], ctx.clocks, fire_at)


def _event(
    conn: Connection,
    row: RowMapping,
    kind: str,
    at: datetime,
    actor: str | None,
    *,
    key: str | None = None,
    log_item: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    record = {
        "ticket_id": row["id"],
        "customer_id": row["customer_id"],
        "kind": kind,
        "at": at,
        "recorded_at": datetime.now(UTC),
        "actor": actor,
        "key": key or f"{kind}:{row['id']}:{secrets.token_hex(8)}",
        **values,
    }
    if log_item is not None:  # left out otherwise: a JSON column would store null, not NULL
        record["log_item"] = log_item
    return store.add_event(conn, **record)


def _create(
    conn: Connection,
    config: CenterConfig | None,
    *,
    ticket_id: str,
    subject: str,
    queue: str | None,
    channel: str,
    identity: dict[str, Any],
    priority: str,
    owner: str | None,
    external_ref: str | None,
    customer_id: str | None,
    at: datetime,
    actor: str,
    log: bool,
) -> RowMapping:
    store.add_ticket(
        conn,
        id=ticket_id,
        external_ref=external_ref,
        subject=subject,
        status=terms.NEW,
        priority=priority,
        queue=queue,
        channel=channel,
        owner=owner,
        customer_id=customer_id,
        identity=identity,
        created_at=at,
        updated_at=at,
    )
    row = _found(conn, ticket_id)
    policy = sla.policy_for(config.sla, queue, priority) if config else None
    calendar = _calendar(config, queue)
    clocks = terms.opened_clocks(policy, terms.NEW, at)
    ctx = _Context(conn, row, config, calendar, policy, clocks, at)
    log_item = None
    if log:
        log_item = _log_item(
            row,
            f"tkt-{ticket_id}-opened",
            InteractionType.TICKET_OPENED.value,
            "inbound",
            at,
            subject=subject,
            priority=priority,
        )
        store.add_link(
            conn,
            ticket_id=ticket_id,
            interaction_id=log_item["id"],
            direction="inbound",
            occurred_at=at,
        )
    ctx.event(
        "ticket_opened",
        actor,
        key=f"ticket_opened:{ticket_id}",
        detail={"queue": queue, "priority": priority},
        log_item=log_item,
    )
    _fire(ctx)
    _save_clocks(ctx)
    return row


# --- time and the log ---------------------------------------------------------------------------


def tick(tp: Touchpoint, now: datetime | None = None) -> int:
    """Fire every warning and breach that fell due by `now`; returns how many fired (each once
    per clock and cycle, whoever else ticks at the same time)."""
    moment = now or datetime.now(UTC)
    fired = 0
    with store.ticket_transaction(tp.engine) as conn:
        for ticket_id in store.due_tickets(conn, moment):
            row = _found(conn, ticket_id)
            ctx = _context(conn, row, moment)
            ctx.at = moment  # firing reads the clocks; it changes no span
            fired += _fire(ctx)
            _save_clocks(ctx)
    return fired


def next_deadline(tp: Touchpoint) -> datetime | None:
    """The next moment a ticket's clock warns or breaches (the scheduler sleeps until then)."""
    with read_connection(tp.engine) as conn:
        found = store.next_fire(conn)
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def follow_log(tp: Touchpoint, *, now: datetime | None = None, limit: int = 1_000) -> int:
    """Link the log's new interactions that name a ticket (`ticket_id` property) or open one
    (`ticket_opened`): an inbound one for an unknown ticket opens it; an inbound one on a
    pending ticket makes it open again, on a solved one reopens it. Returns how many it read."""
    with read_connection(tp.engine) as conn:
        mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
        after = mark.position if mark else 0
        if last_seq(conn) <= after:
            return 0
    moment = now or datetime.now(UTC)
    with store.ticket_transaction(tp.engine) as conn:
        mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
        after = mark.position if mark else 0
        upto = last_seq(conn)  # first: a row appended while this runs waits for the next look
        rows = store.log_after(conn, after, upto, limit, InteractionType.TICKET_OPENED.value)
        config = _config(conn)
        for row in rows:
            _follow(conn, config, row)
        position = rows[-1]["seq"] if len(rows) == limit else upto
        checkpoints.write_checkpoint(
            conn, LOG_CONSUMER, source="log", position=position, version=1, now=moment
        )
    flush_log(tp)
    return len(rows)


def catch_up(tp: Touchpoint, *, now: datetime | None = None) -> int:
    """Follow the log to its end, `follow_log`'s batches one after another (after a bulk load,
    so that no page's first view does it). Returns how many rows it read."""
    total = 0
    while read := follow_log(tp, now=now):
        total += read
    return total


def _follow(conn: Connection, config: CenterConfig | None, row: RowMapping) -> None:
    properties = row["properties"] or {}
    named = properties.get(terms.TICKET_ID_PROPERTY)
    ref = str(named) if named not in (None, "") else None
    ticket = store.ticket_by_ref(conn, ref) if ref is not None else None
    inbound = row["direction"] == "inbound"
    if ticket is None:
        if not inbound and row["type"] != InteractionType.TICKET_OPENED.value:
            return  # an outbound message naming a ticket Touchpoint does not know
        ticket = _opened_from_log(conn, config, row, ref)
    linked = store.add_link(
        conn,
        ticket_id=ticket["id"],
        interaction_id=row["id"],
        direction=row["direction"],
        occurred_at=row["occurred_at"],
        seq=row["seq"],
    )
    if not linked or not inbound or row["id"].startswith("tkt-"):
        return  # known already, or written by Touchpoint itself
    ctx = _context(conn, ticket, row["occurred_at"])
    _fire(ctx)
    ctx.event("ticket_linked", LOG_ACTOR, detail={"interaction": row["id"]})
    if ticket["status"] == terms.PENDING or ticket["status"] == terms.SOLVED:
        _move(conn, ctx, terms.OPEN, LOG_ACTOR)  # the customer answered, or came back
    _save_clocks(ctx)


def _opened_from_log(
    conn: Connection, config: CenterConfig | None, row: RowMapping, ref: str | None
) -> RowMapping:
    properties = row["properties"] or {}
    priority = properties.get("priority")
    queue = row["queue"] if config is not None and row["queue"] in config.queues else None
    subject = properties.get("subject")
    return _create(
        conn,
        config,
        ticket_id=f"tkt_{secrets.token_hex(8)}",
        subject=str(subject) if subject else f"{row['type']} on {row['channel']}",
        queue=queue,
        channel=row["channel"],
        identity=_identity_of(row["identity_keys"] or []),
        priority=priority if priority in terms.PRIORITIES else terms.DEFAULT_PRIORITY,
        owner=None,
        external_ref=ref if ref is not None else row["id"],
        customer_id=row["customer_id"],
        at=row["occurred_at"],
        actor=LOG_ACTOR,
        log=False,
    )


def _identity_of(keys: list[str]) -> dict[str, Any]:
    """An identity to write the ticket's interactions with, from the keys a log row carried."""
    identity: dict[str, Any] = {}
    for key in keys:
        kind, _, value = str(key).partition(":")
        if kind in _IDENTITY_FIELDS:
            identity.setdefault(_IDENTITY_FIELDS[kind], value)
        elif kind == "handle":
            network, _, handle = value.partition(":")
            identity.setdefault("handles", {}).setdefault(network, handle)
    return identity


def flush_log(tp: Touchpoint) -> int:
    """Write the changes that are interactions (opened, replied, solved) to the log, once each
    (their ids are `tkt-<ticket>-…`, so a retry stores nothing twice)."""
    with read_connection(tp.engine) as conn:
        pending = store.unlogged(conn)
    if not pending:
        return 0
    report = tp.ingestor.ingest([(i, dict(row["log_item"])) for i, row in enumerate(pending)])
    refused = {r.position for r in report.results if r.status not in ("accepted", "duplicate")}
    stored = [row["seq"] for i, row in enumerate(pending) if i not in refused]
    customers = {
        pending[r.position]["log_item"]["properties"][terms.TICKET_ID_PROPERTY]: r.customer_id
        for r in report.results
        if r.customer_id
    }
    with store.ticket_transaction(tp.engine) as conn:
        store.mark_logged(conn, stored, datetime.now(UTC))
        for ticket_id, customer_id in customers.items():
            row = store.ticket(conn, ticket_id)
            if row is not None and row["customer_id"] is None:
                store.set_ticket(conn, ticket_id, customer_id=customer_id)
    return len(stored)


def _log_item(
    row: RowMapping,
    interaction_id: str,
    type_: str,
    direction: str,
    at: datetime,
    *,
    agent: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": interaction_id,
        "type": type_,
        "channel": row["channel"],
        "direction": direction,
        "occurred_at": at.isoformat(),
        "customer": dict(row["identity"]),
        "properties": {terms.TICKET_ID_PROPERTY: row["id"], **properties},
    }
    if row["queue"] is not None:
        item["queue"] = row["queue"]
    if agent is not None:
        item["agent"] = agent
    return item


# --- the wallboard ------------------------------------------------------------------------------

BREACHED_KIND = sla.BREACHED_EVENT
NO_QUEUE = "(none)"  # tickets opened from the log in no queue of the configuration


def sla_breaches(tp: Touchpoint, since: datetime) -> dict[str, dict[str, int]]:
    """The wallboard's `sla_breaches`, per queue: `open`, the tickets not solved nor closed with
    a clock breached in its current cycle, and `today`, the breaches (of any ticket, any clock
    and cycle) whose deadline fell at or after `since` — both as the scheduler fired them (at its
    first wake after the deadline). Every configured queue is shown; "(none)" only when some
    ticket in no queue breached."""
    with read_connection(tp.engine) as conn:
        config = _config(conn)
        now_open = store.breached_open_by_queue(conn, terms.ACTIVE_STATUSES)
        today = store.breaches_since_by_queue(conn, since, BREACHED_KIND)
    queues: list[str | None] = list(config.queues) if config else []
    for queue in (*now_open, *today):
        if queue not in queues:
            queues.append(queue)
    return {
        NO_QUEUE if queue is None else queue: {
            "open": now_open.get(queue, 0),
            "today": today.get(queue, 0),
        }
        for queue in queues
    }


WALLBOARD_SECTIONS["sla_breaches"] = sla_breaches


# --- helpers -------------------------------------------------------------------------------------


def _config(conn: Connection) -> CenterConfig | None:
    if cc_store.latest_config(conn) is None:
        return None
    return current_config(conn)[1]


def _required_config(conn: Connection) -> CenterConfig:
    """The configuration in force, or the contact center's own Conflict saying how to apply one."""
    return current_config(conn)[1]


def _calendar(config: CenterConfig | None, queue: str | None) -> BusinessCalendar:
    if config is None or queue is None:
        return _ALWAYS_OPEN
    return config.calendars.get(queue, _ALWAYS_OPEN)


def _found(conn: Connection, ticket_id: str) -> RowMapping:
    row = store.ticket(conn, ticket_id) if _ID.match(ticket_id) else None
    if row is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    return row


def _check_agent(config: CenterConfig | None, agent: str | None, name: str) -> None:
    if agent is None:
        return
    if config is None or agent not in config.agents:
        known = ", ".join(config.agents) if config else "none"
        raise ValidationError(f"{name}: no agent named {agent!r}; agents: {known}")


def _checked(check: Callable[..., None], *args: Any) -> None:
    try:
        check(*args)
    except terms.TicketError as exc:
        raise ValidationError(str(exc)) from None


def _check_move(old: str, new: str) -> None:
    """An unknown status is bad input (422); a move the ticket cannot take, a conflict (409)."""
    if new not in terms.STATUSES:
        raise ValidationError(
            f"status: unknown status {new!r}; allowed: {', '.join(terms.STATUSES)}"
        )
    try:
        terms.check_move(old, new)
    except terms.TicketError as exc:
        raise Conflict(str(exc)) from None


def span_seconds(text: str, name: str) -> float:
    """A span a person typed (`7d`, `12h`) in seconds; ValidationError naming `name`."""
    from touchpoint.domain.moments import parse_span

    span = parse_span(text)
    if span is None or span <= timedelta(0):
        raise ValidationError(f"{name}: {text!r} is not a span like 7d or 12h")
    return span.total_seconds()


def of_customer(
    tp: Touchpoint, customer_id: str, *, limit: int = 50, now: datetime | None = None
) -> list[TicketView]:
    """The tickets a customer (a current id) raised, and those merged into them, newest first,
    with their clocks as `find` gives them (the customer 360's)."""
    follow_log(tp, now=now)
    moment = now or datetime.now(UTC)
    with read_connection(tp.engine) as conn:
        ids = [customer_id, *merged_below(conn, customer_id)]
        rows = [
            row for cid in ids for row in store.find_tickets(conn, customer_id=cid, limit=limit)[1]
        ]
        rows.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
        config = _config(conn)
        return [_view(conn, row, config, moment, full=False) for row in rows[:limit]]
