"""Routing, defined once: which agents may take a contact, which of them gets it, and in which
order waiting contacts are served. Pure: the router (contact_center/) reads the state, asks these
functions, and writes the decision with the reasons they give.

- An agent is **eligible** for a contact when they are ready (logged in, not on a break, not in
  wrap-up — wrap-up holds across every queue), serve the contact's queue, have room for its
  channel, speak its language when the queue asks for a match, hold every skill the queue
  requires at the level it requires after relaxation, and belong to the team a routing rule
  sent the contact to.
- **Room**: capacity is per channel and shared, as "1 call or 3 chats or 5 emails": each open
  contact on a channel takes 1/capacity of the agent, and a new one fits while the total stays
  at most 1 (two chats and an email fit; a call fits only an idle agent).
- **Relaxation** (Asterisk's `penaltychange`): a queue's rules lower the required skill level
  once a contact has waited long enough ("after 60 s also take level 3").
- **Order of service**: waiting contacts are served by effective priority (the queue's plus
  what routing rules added), then by their place in line (when they joined, kept through
  transfers, callbacks and expired offers), then by id. An agent in several queues therefore
  takes the highest priority first, then the longest waiting.
- **Strategies** pick among eligible agents, named as Asterisk (app_queue) and FreeSWITCH
  (mod_callcenter) name them: `longest-idle-agent` (default; Asterisk `leastrecent`),
  `least-occupied`, `fewest-calls` (Asterisk `fewestcalls`), `round-robin` (Asterisk
  `rrmemory`: the next agent after the last one this queue chose), `linear` (FreeSWITCH
  `top-down`: the configured order), `most-skilled`, `random`, `weighted-random` (Asterisk
  `wrandom`: weighted by skill level).
- **Lifecycle-aware rules** are data: each names a condition on the customer (stage, VIP trait,
  open ticket owner, last agent within N days, a predicted churn or conversion probability at
  least some value, when the customer has been scored) and what follows (a priority boost, a
  target team, a preferred agent held for some seconds). The first rule that sets a team wins;
  boosts add up. Every decision says which rules applied and who the candidates were.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cached_property
from typing import Final

STRATEGIES: Final = (
    "longest-idle-agent",
    "least-occupied",
    "fewest-calls",
    "round-robin",
    "linear",
    "most-skilled",
    "random",
    "weighted-random",
)
STRATEGY_ALIASES: Final = {  # Asterisk / FreeSWITCH names for the same thing
    "leastrecent": "longest-idle-agent",
    "fewestcalls": "fewest-calls",
    "agent-with-fewest-calls": "fewest-calls",
    "rrmemory": "round-robin",
    "top-down": "linear",
    "wrandom": "weighted-random",
}

AGENT_STATES: Final = ("logged_out", "ready", "not_ready", "wrap_up")
CONTACT_STATES: Final = ("waiting", "reserved", "assigned", "completed", "abandoned", "callback")
OPEN_CONTACT_STATES: Final = ("reserved", "assigned")  # what takes room in an agent
WAITING_STATES: Final = ("waiting", "callback")  # what waits for an agent


@dataclass(frozen=True)
class Relaxation:
    """After `after_s` seconds of waiting, a required skill level of `min_level` is enough."""

    after_s: float
    min_level: int


@dataclass(frozen=True)
class QueueSpec:
    id: str
    channels: tuple[str, ...]
    skills: Mapping[str, int]  # required skill -> least level (1-10)
    priority: int = 0
    strategy: str = "longest-idle-agent"
    language_match: bool = False
    wrapup_s: float = 0.0
    relaxations: tuple[Relaxation, ...] = ()

    @cached_property
    def least_levels(self) -> dict[str, int]:
        """Each required skill's level once every relaxation applies."""
        return {
            skill: min([level, *(r.min_level for r in self.relaxations)])
            for skill, level in self.skills.items()
        }

    def required_level(self, skill: str, waited_s: float) -> int:
        level = self.skills[skill]
        for rule in self.relaxations:
            if waited_s >= rule.after_s:
                level = min(level, rule.min_level)
        return level


@dataclass(frozen=True)
class AgentView:
    """An agent as routing sees them at one moment."""

    id: str
    order: int  # position in the configuration (linear strategy; a stable tie-break)
    state: str
    queues: frozenset[str]
    skills: Mapping[str, int]
    languages: frozenset[str]
    team: str | None
    capacity: Mapping[str, int]  # channel -> how many at once (absent: the channel is not taken)
    load: Mapping[str, int]  # channel -> open contacts now
    idle_since: datetime  # when their last contact ended (or they became ready)
    handled_today: int
    wrap_until: datetime | None = None

    # worked out once per view (every question about room reads them; a view never changes)
    _occupancy: float = field(init=False, repr=False, compare=False)
    _smallest_unit: float = field(init=False, repr=False, compare=False)
    _roomy: bool = field(init=False, repr=False, compare=False)  # has_room_for_any()

    def __post_init__(self) -> None:
        occupancy, smallest = _occupancy_and_unit(self.capacity, self.load)
        object.__setattr__(self, "_occupancy", occupancy)
        object.__setattr__(self, "_smallest_unit", smallest)
        object.__setattr__(self, "_roomy", occupancy + smallest <= 1 + 1e-9)

    def occupancy(self) -> float:
        """Share of the agent taken: each open contact takes 1/capacity of its channel."""
        return self._occupancy

    def has_room(self, channel: str) -> bool:
        cap = self.capacity.get(channel, 0)
        return cap > 0 and self._occupancy + 1 / cap <= 1 + 1e-9

    def has_room_for_any(self) -> bool:
        """Room for one more contact on some channel (the one whose contacts take least)."""
        return self._roomy

    def ready_at(self, now: datetime) -> bool:
        return self.state == "ready" and (self.wrap_until is None or self.wrap_until <= now)


_AGENT_FIELDS: Final = frozenset(f.name for f in fields(AgentView) if f.init)


def _occupancy_and_unit(
    capacity: Mapping[str, int], load: Mapping[str, int]
) -> tuple[float, float]:
    """The share of an agent their open contacts take, and the least share one more takes."""
    occupancy = sum(n / capacity[c] for c, n in load.items() if capacity.get(c))
    smallest = min((1 / cap for cap in capacity.values() if cap > 0), default=2.0)
    return occupancy, smallest


def room_for_any(capacity: Mapping[str, int], load: Mapping[str, int]) -> bool:
    """AgentView.has_room_for_any() before there is a view: a caller holding many agents'
    capacities and loads makes views only of those who could take something."""
    occupancy, smallest = _occupancy_and_unit(capacity, load)
    return occupancy + smallest <= 1 + 1e-9


@dataclass(frozen=True)
class ContactView:
    id: str
    queue: str
    channel: str
    language: str | None
    joined_at: datetime  # place in line
    priority: int = 0  # boost from routing rules
    team: str | None = None  # a rule's target team
    team_until: datetime | None = None  # held for that team until then (None: always)
    preferred_agent: str | None = None  # sticky / ticket owner
    prefer_until: datetime | None = None  # held for the preferred agent until then
    preferred_by: str | None = None  # the rule (or "transfer") that named the preferred agent
    not_before: datetime | None = None  # a callback at a chosen time


@dataclass(frozen=True)
class Decision:
    agent: str | None
    strategy: str
    candidates: tuple[str, ...]
    reason: str


def service_order(contact: ContactView, queue: QueueSpec) -> tuple[int, datetime, str]:
    """Sort key of waiting contacts: highest effective priority, then longest waiting, then id."""
    return (-(queue.priority + contact.priority), contact.joined_at, contact.id)


def eligible(agent: AgentView, contact: ContactView, queue: QueueSpec, now: datetime) -> bool:
    if not agent.ready_at(now) or contact.queue not in agent.queues:
        return False
    if not agent.has_room(contact.channel):
        return False
    if queue.language_match and contact.language and contact.language not in agent.languages:
        return False
    if contact.team is not None and agent.team != contact.team:
        if contact.team_until is None or now < contact.team_until:
            return False
    if not queue.skills:
        return True
    waited = (now - contact.joined_at).total_seconds()
    return all(
        agent.skills.get(skill, 0) >= queue.required_level(skill, waited) for skill in queue.skills
    )


def choose(
    contact: ContactView,
    queue: QueueSpec,
    agents: Sequence[AgentView],
    now: datetime,
    *,
    last_chosen: str | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """The agent to offer `contact` to now, or None (it waits), with the candidates and why."""
    strategy = STRATEGY_ALIASES.get(queue.strategy, queue.strategy)
    if contact.not_before is not None and now < contact.not_before:
        return Decision(None, strategy, (), "a callback for later")
    pool = [a for a in agents if eligible(a, contact, queue, now)]
    names = tuple([a.id for a in pool])
    if contact.preferred_agent is not None and (
        contact.prefer_until is None or now < contact.prefer_until
    ):
        by = f" ({contact.preferred_by})" if contact.preferred_by else ""
        preferred = [a for a in pool if a.id == contact.preferred_agent]
        if preferred:
            return Decision(
                preferred[0].id, "preferred", names, f"the preferred agent is ready{by}"
            )
        if contact.prefer_until is not None:
            return Decision(None, "preferred", names, f"held for the preferred agent{by}")
    if not pool:
        return Decision(None, strategy, (), "no eligible agent is ready")
    chosen = _pick(strategy, pool, queue, last_chosen, rng or random.Random())
    return Decision(chosen.id, strategy, names, f"{strategy} among {len(pool)}")


def _pick(
    strategy: str,
    pool: list[AgentView],
    queue: QueueSpec,
    last_chosen: str | None,
    rng: random.Random,
) -> AgentView:
    def skill(agent: AgentView) -> int:
        return sum(agent.skills.get(s, 0) for s in queue.skills)

    if strategy == "longest-idle-agent":
        return min(pool, key=lambda a: (a.idle_since, a.order))
    if strategy == "least-occupied":
        return min(pool, key=lambda a: (a.occupancy(), a.idle_since, a.order))
    if strategy == "fewest-calls":
        return min(pool, key=lambda a: (a.handled_today, a.idle_since, a.order))
    if strategy == "linear":
        return min(pool, key=lambda a: a.order)
    if strategy == "most-skilled":
        return min(pool, key=lambda a: (-skill(a), a.idle_since, a.order))
    if strategy == "round-robin":
        ordered = sorted(pool, key=lambda a: a.id)
        later = [a for a in ordered if last_chosen is not None and a.id > last_chosen]
        return later[0] if later else ordered[0]
    if strategy == "random":
        return rng.choice(sorted(pool, key=lambda a: a.order))
    if strategy == "weighted-random":
        ordered = sorted(pool, key=lambda a: a.order)
        return rng.choices(ordered, weights=[max(1, skill(a)) for a in ordered])[0]
    raise ValueError(f"unknown strategy {strategy!r}")  # config validation names it first


# --- lifecycle-aware rules -------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFacts:
    """What Touchpoint knows about the customer on the line, for routing rules."""

    stage: str | None = None
    traits: Mapping[str, object] = field(default_factory=dict)
    last_agent: str | None = None
    last_agent_at: datetime | None = None
    ticket_owner: str | None = None
    predicted: Mapping[str, float] = field(default_factory=dict)  # model -> probability now


@dataclass(frozen=True)
class RoutingRule:
    name: str
    stages: tuple[str, ...] = ()  # customer in one of these stages
    trait: str | None = None  # a truthy trait, e.g. vip
    open_ticket: bool = False  # the customer has an open ticket with an owner
    last_agent_within_days: float | None = None  # sticky agent
    predicted: str | None = None  # a predictive model (churn, conversion) whose score …
    predicted_above: float = 0.5  # … is at least this (a customer not scored: no match)
    queues: tuple[str, ...] = ()  # only for these queues (empty: all)
    priority: int = 0
    team: str | None = None
    team_for_s: float | None = None  # hold for the team this long, then anyone (None: always)
    prefer_agent_s: float | None = None  # hold for the sticky agent / ticket owner this long

    def matches(self, facts: CustomerFacts, queue: str, now: datetime) -> bool:
        if self.queues and queue not in self.queues:
            return False
        if self.stages and facts.stage not in self.stages:
            return False
        if self.trait is not None and not facts.traits.get(self.trait):
            return False
        if self.open_ticket and facts.ticket_owner is None:
            return False
        if self.predicted is not None:
            probability = facts.predicted.get(self.predicted)
            if probability is None or probability < self.predicted_above:
                return False
        if self.last_agent_within_days is not None:
            if facts.last_agent is None or facts.last_agent_at is None:
                return False
            if now - facts.last_agent_at > timedelta(days=self.last_agent_within_days):
                return False
        return True


@dataclass(frozen=True)
class RuleOutcome:
    priority: int
    team: str | None
    team_until: datetime | None
    preferred_agent: str | None
    prefer_until: datetime | None
    applied: tuple[str, ...]
    prefer_rule: str | None = None  # the rule that named the preferred agent


def apply_rules(
    rules: Sequence[RoutingRule], facts: CustomerFacts, queue: str, now: datetime
) -> RuleOutcome:
    """Priority boosts add up; the first rule naming a team or a preferred agent sets it."""
    priority, team, team_until, agent, until, by = 0, None, None, None, None, None
    applied: list[str] = []
    for rule in rules:
        if not rule.matches(facts, queue, now):
            continue
        applied.append(rule.name)
        priority += rule.priority
        if team is None and rule.team is not None:
            team = rule.team
            if rule.team_for_s is not None:
                team_until = now + timedelta(seconds=rule.team_for_s)
        if agent is None and rule.prefer_agent_s is not None:
            agent = facts.ticket_owner if rule.open_ticket else facts.last_agent
            until = now + timedelta(seconds=rule.prefer_agent_s)
            by = rule.name
    return RuleOutcome(priority, team, team_until, agent, until, tuple(applied), by)


def estimated_wait_s(position: int, agents_serving: int, handle_s: float) -> float:
    """A rough wait for the contact at `position` (1 = next): the contacts ahead of it, each
    taking a handle time, spread over the agents serving the queue (Erlang C is issue 12's)."""
    return position * handle_s / max(1, agents_serving) if position > 0 else 0.0


# --- dispatch: many decisions at once ----------------------------------------------------------


def assignments(
    lines: Mapping[str, Iterable[ContactView]],
    queues: Mapping[str, QueueSpec],
    agents: Mapping[str, AgentView],
    now: datetime,
    *,
    last_chosen: Mapping[str, str | None] | None = None,
    rng: random.Random | None = None,
) -> Iterator[tuple[ContactView, Decision, AgentView]]:
    """The offers to make now: waiting contacts in service order across every queue (a merge of
    the queues' lines, each given in its own service order), each to the agent `choose` picks
    among the ready agents with room; yields (contact, decision, the agent after taking it).

    Only what can change hands is looked at: a queue's line is read only while some agent
    serving it has room, and only as far as needed — a center with 10,000 waiting and one free
    agent reads a few contacts, not 10,000."""
    memory = dict(last_chosen or {})
    # The one pass over every agent, so it is written out: room first (a busy center's agents
    # mostly have none), then ready_at(now).
    free: dict[str, AgentView] = {
        a.id: a
        for a in agents.values()
        if a._roomy and a.state == "ready" and (a.wrap_until is None or a.wrap_until <= now)
    }
    serving: dict[str, dict[str, AgentView]] = {}
    for agent in free.values():
        for queue_id in agent.queues:  # only queues with a line can change hands
            if (
                queue_id in lines
                and queue_id in queues
                and could_ever_serve(agent, queues[queue_id])
            ):
                serving.setdefault(queue_id, {})[agent.id] = agent
    heap: list[tuple[tuple[int, datetime, str], int, ContactView, Iterator[ContactView]]] = []
    for n, queue_id in enumerate(sorted(serving)):
        line = iter(lines.get(queue_id, ()))
        first = next(line, None)
        if first is not None:
            heap.append((service_order(first, queues[queue_id]), n, first, line))
    heapq.heapify(heap)
    while heap and free:
        _key, n, contact, line = heapq.heappop(heap)
        queue = queues[contact.queue]
        # choose() offers only to an eligible agent: with none, it would answer "wait" anyway
        pool = [
            a
            for a in serving.get(contact.queue, {}).values()
            if a.has_room(contact.channel) and eligible(a, contact, queue, now)
        ]
        if pool:
            decision = choose(contact, queue, pool, now, last_chosen=memory.get(queue.id), rng=rng)
            if decision.agent is not None:
                taken = taking(free[decision.agent], contact.channel)
                memory[queue.id] = taken.id
                for queue_id in taken.queues:
                    if taken.id in serving.get(queue_id, {}):
                        del serving[queue_id][taken.id]
                        if _room_for_any(taken):
                            serving[queue_id][taken.id] = taken
                if _room_for_any(taken):
                    free[taken.id] = taken
                else:
                    del free[taken.id]
                yield contact, decision, taken
        if serving.get(contact.queue):  # agents left for this queue: read its line further
            following = next(line, None)
            if following is not None:
                heapq.heappush(
                    heap, (service_order(following, queues[following.queue]), n, following, line)
                )


def taking(agent: AgentView, channel: str) -> AgentView:
    """The agent after taking one more contact on `channel` (its room shrinks)."""
    load = dict(agent.load)
    load[channel] = load.get(channel, 0) + 1
    return updated(agent, load=load)


def updated(agent: AgentView, **changes: object) -> AgentView:
    """`dataclasses.replace(agent, **changes)` at a fraction of its cost (dispatch and the
    simulation make a new view at every step): a copy with those fields changed."""
    unknown = changes.keys() - _AGENT_FIELDS
    if unknown:
        raise TypeError(f"AgentView has no field {sorted(unknown)[0]!r}")
    view = object.__new__(AgentView)
    view.__dict__.update(agent.__dict__)
    view.__dict__.update(changes)
    view.__post_init__()
    return view


def could_ever_serve(agent: AgentView, queue: QueueSpec) -> bool:
    """The agent holds every skill the queue requires at its most relaxed level (a queue they
    can never take is not read for them) and takes one of its channels."""
    if not any(agent.capacity.get(channel) for channel in queue.channels):
        return False
    return all(agent.skills.get(skill, 0) >= least for skill, least in queue.least_levels.items())


def _room_for_any(agent: AgentView) -> bool:
    return agent.has_room_for_any()
