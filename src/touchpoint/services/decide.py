"""Next best action for one visitor, now: gathers the facts the rules need by indexed reads only
(the identity, the profile, the stage, the last page views inside the rules' window, the
queues' state), lets `domain.decisions` choose, and records a decision shown as an interaction
(type custom, name `decision_shown`) so its effect can be measured rule by rule."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.domain import decisions as rules_terms
from touchpoint.domain.decisions import (
    DECISION_SHOWN,
    NO_ACTION,
    DecisionRules,
    DecisionRulesError,
    PageView,
    QueueNow,
    RuleEffect,
    Visitor,
    page_path,
    parse_rules,
    rule_effects,
)
from touchpoint.domain.routing import WAITING_STATES, estimated_wait_s
from touchpoint.errors import ConfigError, Conflict, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import recording
from touchpoint.services.contact_center import current_config
from touchpoint.services.customers import lookup_keys
from touchpoint.store import contact_center as cc_store
from touchpoint.store.decisions import (
    decisions_shown,
    first_of_type,
    recent_page_views,
    times_of_type,
)
from touchpoint.store.decisions import visitor as visitor_facts
from touchpoint.store.engine import read_connection

log = logging.getLogger(__name__)
SHIPPED_RULES = "decide_rules.toml"
# The queues' state is the same for every visitor: worked out at most this often per process
# (it reads the waiting contacts and recent handle times; a wait 2 s stale is still a good guess).
QUEUES_TTL_S = 2.0
_queue_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, QueueNow]]] = {}
_queue_lock = threading.Lock()
IDENTITY_FIELDS = ("anonymous_id", "external_id", "email", "phone")


@dataclass(frozen=True)
class DecideResult:
    action: str
    rule: str | None
    message: str
    reasons: tuple[str, ...]
    customer_id: str | None  # None for a visitor not yet seen, or to a caller not told
    recorded: str | None  # the id of the decision_shown interaction written, if any


def load_rules(path: Path | None = None) -> DecisionRules:
    """The user's rules file (it replaces the shipped one), re-read only when it changes."""
    return _cached_rules(path, _stamp(path))


@lru_cache(maxsize=8)
def _cached_rules(path: Path | None, _stamp: tuple[int, int] | None) -> DecisionRules:
    if path is None:
        text = resources.files("touchpoint.services").joinpath(SHIPPED_RULES)
        where, body = f"shipped {SHIPPED_RULES}", text.read_text(encoding="utf-8")
    else:
        where, body = str(path), _read(path)
    try:
        return parse_rules(body, where)
    except DecisionRulesError as exc:
        raise ConfigError(str(exc)) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (settings decision_rules_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the decision rules: {exc}") from None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        stat = path.stat() if path else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


def decide(
    tp: Touchpoint,
    identity: dict[str, str],
    *,
    page: str | None = None,
    personal: bool = True,
    record: bool = True,
    actor: str = "cli",
    now: datetime | None = None,
    write_behind: bool = False,
    reader: Engine | None = None,
) -> DecideResult:
    """The action for the visitor named by exactly one identity (anonymous_id, external_id,
    email or phone) on `page`. `personal=False` never answers a rule that would name them.
    `write_behind` (the API's widget path): the decision shown is handed to a writer thread
    that logs the decisions of many requests in one batch, instead of this request waiting its
    own turn to write (see ShownWriter). `reader`: the engine to read with (default the
    Touchpoint's; the API passes the one for its event loop)."""
    given = {k: v for k, v in identity.items() if v}
    if len(given) != 1 or next(iter(given)) not in IDENTITY_FIELDS:
        raise ValidationError(f"name the visitor by exactly one of {', '.join(IDENTITY_FIELDS)}")
    if page is not None and (len(page) > 2000 or not page.isprintable()):
        raise ValidationError("page: at most 2,000 printable characters")
    now = now or datetime.now(UTC)
    rules = load_rules(tp.settings.decision_rules_file)
    keys = lookup_keys(
        default_region=tp.settings.default_region,
        anonymous_id=given.get("anonymous_id"),
        external_id=given.get("external_id"),
        email=given.get("email"),
        phone=given.get("phone"),
    )
    with read_connection(reader or tp.engine) as conn:
        visitor = _visitor(conn, rules, keys[0], page, now)
    decision = rules_terms.decide(rules, visitor, personal=personal)
    recorded = None
    if record and decision.action != NO_ACTION and decision.rule is not None:
        recorded = _record(
            tp, given, decision.rule, decision.action, page, now, actor, write_behind
        )
    return DecideResult(
        decision.action,
        decision.rule,
        decision.message,
        decision.reasons,
        visitor.customer_id if personal else None,
        recorded,
    )


def _visitor(
    conn: Connection, rules: DecisionRules, key: str, page: str | None, now: datetime
) -> Visitor:
    queues = _queues_now(conn, rules.queues, now) if rules.queues else {}
    found = visitor_facts(conn, key)
    if found is None:
        return Visitor(now=now, page=page, queues=queues)
    customer_id, traits, stage = found
    first_name = traits.get("first_name")
    views = [
        PageView(path, at)
        for at, props in recent_page_views(conn, customer_id, now - rules.history_window)
        if (path := _path_of(props)) is not None
    ]
    return Visitor(
        now=now,
        page=page,
        customer_id=customer_id,
        first_name=first_name if isinstance(first_name, str) else None,
        stage=stage,
        views=views,
        queues=queues,
    )


def _path_of(properties: dict[str, Any]) -> str | None:
    path = properties.get("path")
    if isinstance(path, str) and path:
        return page_path(path)
    url = properties.get("url")
    return page_path(url) if isinstance(url, str) else None


def _queues_now(conn: Connection, wanted: tuple[str, ...], now: datetime) -> dict[str, QueueNow]:
    """`_queues`, reused for QUEUES_TTL_S (by database and queues asked)."""
    key = (str(conn.engine.url), wanted)
    clock = time.monotonic()
    with _queue_lock:
        found = _queue_cache.get(key)
    if found is not None and clock - found[0] < QUEUES_TTL_S:
        return found[1]
    fresh = _queues(conn, wanted, now)
    with _queue_lock:
        _queue_cache[key] = (clock, fresh)
    return fresh


def _queues(conn: Connection, wanted: tuple[str, ...], now: datetime) -> dict[str, QueueNow]:
    """Each queue the rules name: open by its calendar, and the wait a new contact would have
    (the contacts waiting, each a mean handle time, over the agents logged in to serve it)."""
    try:
        _version, config = current_config(conn)
    except Conflict:  # no contact center configured: no queue answers
        return {}
    waiting = cc_store.contacts_in(conn, WAITING_STATES)
    states = cc_store.agent_states(conn)
    found = {}
    for queue in wanted:
        if queue not in config.queues:
            continue
        calendar = config.calendars.get(queue)
        serving = sum(
            1
            for agent_id, spec in config.agents.items()
            if queue in spec.queues and states.get(agent_id, "logged_out") != "logged_out"
        )
        ahead = sum(1 for c in waiting if c["queue"] == queue)
        handle = cc_store.mean_handle_s(conn, queue) or config.default_handle_s
        found[queue] = QueueNow(
            open=(calendar is None or calendar.is_open(now)) and serving > 0,
            estimated_wait_s=estimated_wait_s(ahead + 1, serving, handle),
        )
    return found


def _record(
    tp: Touchpoint,
    identity: dict[str, str],
    rule: str,
    action: str,
    page: str | None,
    now: datetime,
    actor: str,
    write_behind: bool = False,
) -> str:
    """The decision shown, as an interaction; one per visitor, rule and minute (a widget asking
    again within the minute shows the same decision, not a new one)."""
    ((kind, value),) = identity.items()
    minute = now.replace(second=0, microsecond=0)
    who = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:20]  # no email in an id
    iid = f"decision:{who}:{rule}:{minute:%Y%m%dT%H%M}"
    properties: dict[str, Any] = {"rule": rule, "action": action}
    if page:
        properties["page"] = page
    raw = {
        "id": iid,
        "type": "custom",
        "name": DECISION_SHOWN,
        "channel": "web",
        "direction": "outbound",
        "occurred_at": minute.isoformat(),
        "customer": {kind: value},
        "properties": properties,
    }
    if write_behind:
        shown_writer(tp).put(raw, actor)
    else:
        recording.record(tp, [(0, raw)], actor=actor, keep_results=False)
    return iid


# --- decisions shown, written behind -----------------------------------------------------------

WRITE_BEHIND_S = 0.2  # the writer gathers what came in this long, then writes it as one batch
WRITE_BEHIND_MAX = 1_000  # at most this many decisions a batch


class ShownWriter:
    """Writes the decisions a server shows to the log in batches, on a thread of its own: a
    widget's request answers without waiting for a writer's turn (under 8 clients, each one's
    single-row write queued behind the others' was most of its time). A decision shown is what
    Touchpoint itself did, not data a caller sent, and its id is the same for the visitor, rule
    and minute, so a batch written twice stores nothing twice; what a crash between answering
    and writing loses is at most WRITE_BEHIND_S of impressions (the analytics SDKs' usual
    trade for impression events). `close()` (at the server's shutdown) writes what is left."""

    def __init__(self, tp: Touchpoint) -> None:
        self._tp = tp
        self._queue: SimpleQueue[tuple[dict[str, Any], str] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="touchpoint-decisions", daemon=True)
        self._thread.start()

    def put(self, raw: dict[str, Any], actor: str) -> None:
        self._queue.put((raw, actor))

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = [first], False
            deadline = time.monotonic() + WRITE_BEHIND_S
            while len(batch) < WRITE_BEHIND_MAX:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[dict[str, Any], str]]) -> None:
        """One ingest for the whole batch, whichever keys asked: a decision shown is never a
        consent change, the only kind of row whose audit entry names the actor, and each ingest
        call has a fixed cost (~4 ms) that a batch split per key paid once per key."""
        items = list(enumerate(raw for raw, _ in batch))
        actors = sorted({actor for _, actor in batch})
        actor = actors[0] if len(actors) == 1 else "decide"
        for attempt in range(3):  # busy: try again; after that the impressions are lost
            try:
                recording.record(self._tp, items, actor=actor, keep_results=False)
                return
            except Exception:
                log.exception("writing %d decisions shown failed (try %d)", len(items), attempt)
                time.sleep(0.5)


_writers: dict[int, ShownWriter] = {}
_writers_lock = threading.Lock()


def shown_writer(tp: Touchpoint) -> ShownWriter:
    with _writers_lock:
        found = _writers.get(id(tp))
        if found is None:
            found = _writers[id(tp)] = ShownWriter(tp)
        return found


def flush_shown(tp: Touchpoint) -> None:
    """Write every decision handed to the writer so far, and stop it (a new one starts on the
    next decision written behind)."""
    with _writers_lock:
        found = _writers.pop(id(tp), None)
    if found is not None:
        found.close()


def effects(
    tp: Touchpoint, *, since: datetime, until: datetime, within_days: float = 7.0
) -> list[RuleEffect]:
    """Conversion (a purchase within `within_days`) of the customers each rule was shown to in
    [since, until), beside visitors of the period shown no decision."""
    if until <= since:
        raise ValidationError("--to must be after --from")
    if not 0 < within_days <= 366:
        raise ValidationError("within_days: from more than 0 to 366 days")
    within = timedelta(days=within_days)
    with read_connection(tp.engine) as conn:
        shown = [
            (customer, str(props.get("rule")), at)
            for customer, at, props in decisions_shown(conn, since, until)
        ]
        visited = first_of_type(conn, "page_view", since, until)
        purchases = times_of_type(conn, "purchase", since, until + within)
    return rule_effects(shown, visited, purchases, within)
