"""The contact center as a SimPy discrete-event model, routed by the real policy: the same
configuration (queues, agents with skills, levels, languages and capacity per channel, rules)
and the same pure functions (`domain.routing.apply_rules` and `assignments`, hence eligibility,
strategies, relaxation and lifecycle-aware rules) the router uses, on a simulated clock.

Contacts arrive as a Poisson process whose rate is constant within each interval of the day
(`QueueDemand.rates`); each waits in its queue's line, is offered when `assignments` picks an
agent, holds the agent for its handle time and then the queue's wrap-up, or gives up when its
patience runs out (some asking for a call back: they keep their place in line and are called
when their turn comes, neither answered nor abandoned, as the KPIs count them).

Dispatch is asked only where something changed, as the router does: an arriving contact against
the free agents of its queue; an agent who becomes free against the lines of their queues; a
contact whose eligibility changes with its wait (a relaxation, the end of a team's or a
preferred agent's hold) against the free agents again. Between those moments no free agent may
take a waiting contact, so nothing else can change hands.

For speed the model asks the policy's functions only what can differ: who `eligible` accepts
per kind of contact and phase of its wait, the first free agent in the strategy's order for an
arrival, one freed agent against the merged lines of their queues; `narrow=False` hands every
such moment to `assignments` instead, and tests and bench/simulate.py check the days are equal.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

import simpy

from touchpoint.contact_center.simulation_inputs import ModelInput, QueueDemand, Shift
from touchpoint.domain import contact_center as cc
from touchpoint.domain.routing import (
    AgentView,
    ContactView,
    CustomerFacts,
    QueueSpec,
    apply_rules,
    assignments,
    choose,
    could_ever_serve,
    eligible,
    service_order,
)


@dataclass(frozen=True)
class DayFigures:
    """One simulated day's figures over the contacts counted (arrived after the warm-up)."""

    offered: int
    answered: int
    answered_within: int
    abandoned: int
    callbacks: int
    unresolved: int  # still waiting when the run ended
    wait_sum_s: float  # over answered contacts
    busy_s: float  # agent time taken by contacts (share of the agent) and wrap-up
    staffed_s: float  # agent time on duty
    at_risk: int  # counted contacts from at-risk customers
    at_risk_over_target: int  # of those, waited more than the queue's threshold
    expected_churn: float | None  # churners those waits imply (the log's relation)
    events: int  # SimPy events processed

    @property
    def service_level(self) -> float | None:
        return cc.service_level(self.answered_within, self.answered)

    @property
    def asa_s(self) -> float | None:
        return self.wait_sum_s / self.answered if self.answered else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def occupancy(self) -> float | None:
        return self.busy_s / self.staffed_s if self.staffed_s else None


def _skill(agent: AgentView, queue: QueueSpec) -> int:
    return sum(agent.skills.get(s, 0) for s in queue.skills)


# The orders in which domain.routing's strategies pick (the least wins; `order` breaks ties),
# for the strategies that pick by an order; round-robin and the random ones are asked about
# every free agent.
_ORDERS: dict[str, Callable[[AgentView, QueueSpec], tuple[Any, ...]]] = {
    "longest-idle-agent": lambda a, q: (a.idle_since, a.order),
    "least-occupied": lambda a, q: (a.occupancy(), a.idle_since, a.order),
    "fewest-calls": lambda a, q: (a.handled_today, a.idle_since, a.order),
    "linear": lambda a, q: (a.order,),
    "most-skilled": lambda a, q: (-_skill(a, q), a.idle_since, a.order),
}


class _Contact:
    __slots__ = (
        "id",
        "queue",
        "channel",
        "stage",
        "joined",
        "handle_s",
        "view",
        "state",
        "wait",
        "callback",
        "agent",
        "kind",
    )

    def __init__(self, id_: str, queue: str, channel: str, stage: str | None, joined: float):
        self.id, self.queue, self.channel, self.stage = id_, queue, channel, stage
        self.joined, self.handle_s = joined, 0.0
        self.view: ContactView
        self.state = "waiting"  # waiting | callback | assigned | abandoned
        self.wait: float | None = None
        self.callback = False  # asked to be called back: neither answered nor abandoned
        self.agent: str | None = None  # who took it
        # what `eligible` reads of it besides its wait: queue, channel, language, the team it
        # is held for and how long
        self.kind: tuple[Any, ...] = ()


class _Call(simpy.Event):
    """A moment at which the model does something: what `env.timeout(delay)` with a callback
    would be (an event already triggered, scheduled `delay` ahead, in the same place of SimPy's
    queue), without a timeout's checks and a closure per call."""

    def __init__(self, env: simpy.Environment, action: Callable[..., None], args: tuple[Any, ...]):
        self.env = env
        self.callbacks = [_fire]
        self._value = None
        self._ok = True
        self.action, self.args = action, args


def _fire(event: Any) -> None:
    event.action(*event.args)


# What an agent's view works out from its other fields when made (AgentView's fields that are
# not arguments): the model keeps them per agent, state and load — all they depend on — so a
# view changed only in when the agent became idle or how many they handled reuses them.
_WORKED_OUT: tuple[str, ...] = tuple(f.name for f in fields(AgentView) if not f.init)


def _draw(shares: Mapping[str, float], rng: random.Random) -> str | None:
    """A key drawn with its share (shares may add up to less than 1: the rest is None)."""
    pick, acc = rng.random(), 0.0
    for key, share in shares.items():
        acc += share
        if pick < acc:
            return key
    return None


class CenterModel:
    """One replication of one simulated day."""

    def __init__(self, model: ModelInput, seed: int, *, narrow: bool = True) -> None:
        self.m = model
        self.narrow = narrow  # ask the longest idle first (False: every free agent, the baseline)
        self.config = model.config
        self.queues: dict[str, QueueSpec] = dict(model.config.queues)
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        self.route_rng = random.Random(seed + 1)
        self.seed = seed
        self.events = 0
        self.lines: dict[str, dict[int, dict[str, _Contact]]] = {q: {} for q in self.queues}
        self.contacts: dict[str, _Contact] = {}
        self.views: dict[str, AgentView] = {}
        self.on_duty: set[str] = set()
        self.wrapping: set[str] = set()
        self.free: dict[str, dict[str, AgentView]] = {q: {} for q in self.queues}
        self.rank: dict[str, dict[str, tuple[Any, ...]]] = {q: {} for q in self.queues}
        self.waiting: dict[str, int] = dict.fromkeys(self.queues, 0)
        # the contacts in each queue's line by kind, each kind's in arrival order (the first
        # has waited longest)
        self.kinds: dict[str, dict[tuple[Any, ...], dict[str, _Contact]]] = {
            q: {} for q in self.queues
        }
        # Who `eligible` accepts for a contact, per kind of contact (queue, channel, language,
        # team held for and how long) and phase of its wait (how many of the queue's
        # relaxations it has reached, whether its team hold has ended): it depends on nothing
        # else but the agent being ready with room, which `roomy` says — so each agent is
        # asked once per kind and phase, as they are when ready and idle (`ready`).
        self.known: dict[tuple[Any, ...], set[str]] = {}
        self.ready: dict[str, AgentView] = {}
        self.facts: dict[str | None, CustomerFacts] = {}  # the customer's facts per stage
        # free agents with room for a channel, per queue and channel (has_room's answer)
        self.roomy: dict[tuple[str, str], dict[str, None]] = {
            (q, c): {} for q, spec in self.queues.items() for c in spec.channels
        }
        self.serves: dict[str, tuple[str, ...]] = {}
        self.last_chosen: dict[str, str | None] = {}
        self.counted: list[_Contact] = []
        self.busy_s = 0.0
        self.staffed_s = 0.0
        self.serial = 0
        self._now_s, self._now = 0.0, model.day_start
        # per agent, each queue they serve with its strategy's order and the free-with-room
        # sets of its channels (what _set_view keeps up to date)
        self.places: dict[str, list[Any]] = {}
        self.relaxed_after = {
            q: sorted(r.after_s for r in spec.relaxations) for q, spec in self.queues.items()
        }
        self.logins: dict[str, list[float]] = {}  # each agent's log-in moments, in order
        self.worked_out: dict[tuple[Any, ...], dict[str, Any]] = {}  # see `changed`
        # each queue's handle-time and patience draws per channel
        self.draws = {
            q: (
                {c: d.sampler() for c, d in demand.handle.items()},
                {c: d.sampler() for c, d in demand.patience.items()},
            )
            for q, demand in model.demand.items()
        }

    # --- the clock ---------------------------------------------------------------------------
    def now(self) -> Any:
        """The simulated moment as a datetime (made once per moment: many decisions ask)."""
        if self.env.now != self._now_s:
            self._now_s = self.env.now
            self._now = self.m.day_start + timedelta(seconds=self._now_s)
        return self._now

    def at(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        self.events += 1
        self.env.schedule(_Call(self.env, action, args), simpy.core.NORMAL, max(0.0, delay))

    def changed(self, view: AgentView, **changes: Any) -> AgentView:
        """`domain.routing.updated(view, **changes)` (a test checks it is), with what the view
        works out from its load reused when the agent has been in that state and load before.
        Only idle_since, handled_today and load may change."""
        made = object.__new__(AgentView)
        fields_ = made.__dict__
        fields_.update(view.__dict__)
        fields_.update(changes)
        load = fields_["load"]
        key = (view.id, fields_["state"], *load.items())
        worked_out = self.worked_out.get(key)
        if worked_out is None:
            made.__post_init__()
            self.worked_out[key] = {name: fields_[name] for name in _WORKED_OUT}
        else:
            fields_.update(worked_out)
        return made

    def taking(self, view: AgentView, channel: str) -> AgentView:
        """`domain.routing.taking`: the agent with one more contact on `channel`."""
        load = dict(view.load)
        load[channel] = load.get(channel, 0) + 1
        return self.changed(view, load=load)

    # --- running -----------------------------------------------------------------------------
    def run(self) -> DayFigures:
        for shift in self.m.shifts:
            self._add_shift(shift)
        for demand in self.m.demand.values():
            if demand.queue in self.queues and demand.expected() > 0:
                rng = random.Random(f"{self.seed}:{demand.queue}")
                # first thing at time 0, as a SimPy process starts
                call = _Call(self.env, self._next_arrival, (demand, rng))
                self.env.schedule(call, simpy.core.URGENT)
        self.env.run(until=self.m.horizon_s + 6 * 3600)  # time to drain what arrived late
        return self._figures()

    def _add_shift(self, shift: Shift) -> None:
        if shift.agent not in self.views:
            self.views[shift.agent] = self.config.agent_view(
                shift.agent,
                state="logged_out",
                load={},
                idle_since=self.m.day_start,
                handled_today=0,
            )
            self.ready[shift.agent] = replace(self.views[shift.agent], state="ready")
            self.serves[shift.agent] = tuple(
                q
                for q in self.config.agents[shift.agent].queues
                if q in self.queues and could_ever_serve(self.views[shift.agent], self.queues[q])
            )
        start, end = max(shift.start_s, 0.0), shift.end_s
        if end > start:  # staffed time is counted over the measured window only
            counted = min(end, self.m.horizon_s) - max(start, self.m.warmup_s)
            self.staffed_s += max(0.0, counted)
            self.at(start, self._log_in, shift.agent)
            insort(self.logins.setdefault(shift.agent, []), start)
            self.at(end, self._log_out, shift.agent)

    def _next_arrival(self, demand: QueueDemand, rng: random.Random) -> None:
        """Schedule the queue's next arrival: Poisson at the rate of the interval it falls in."""
        now = self.env.now
        if now >= self.m.horizon_s:
            return
        rate = demand.rate_at(now)
        boundary = min((now // demand.interval_s + 1) * demand.interval_s, self.m.horizon_s)
        gap = rng.expovariate(rate) if rate > 0 else math.inf
        if now + gap >= boundary:  # memoryless: start again at the next interval
            self.at(boundary - now, self._next_arrival, demand, rng)
        else:
            self.at(gap, self._arrival, demand, rng)

    def _arrival(self, demand: QueueDemand, rng: random.Random) -> None:
        self._arrive(demand, rng)
        self._next_arrival(demand, rng)

    # --- contacts ----------------------------------------------------------------------------
    def _arrive(self, demand: QueueDemand, rng: random.Random) -> None:
        channel = _draw(demand.channels, rng) or next(iter(demand.channels))
        stage = _draw(demand.stages, rng)
        language = _draw(demand.languages, rng)
        self.serial += 1
        contact = _Contact(f"s{self.serial:08d}", demand.queue, channel, stage, self.env.now)
        handle, patience_of = self.draws[demand.queue]
        contact.handle_s = handle[channel](rng)
        patience = patience_of[channel](rng)
        wants_callback = channel == "phone" and rng.random() < demand.callback_share
        now = self.now()
        facts = self.facts.get(stage)
        if facts is None:
            facts = self.facts[stage] = CustomerFacts(stage=stage)
        outcome = apply_rules(self.config.rules, facts, demand.queue, now)
        contact.view = ContactView(
            id=contact.id,
            queue=demand.queue,
            channel=channel,
            language=language,
            joined_at=now,
            priority=outcome.priority,
            team=outcome.team,
            team_until=outcome.team_until,
        )
        self.contacts[contact.id] = contact
        if contact.joined >= self.m.warmup_s:
            self.counted.append(contact)
        hold = None if outcome.team_until is None else outcome.team_until - now
        contact.kind = (demand.queue, channel, language, outcome.team, hold)
        self.lines[demand.queue].setdefault(-outcome.priority, {})[contact.id] = contact
        self.kinds[demand.queue].setdefault(contact.kind, {})[contact.id] = contact
        self.waiting[demand.queue] += 1
        self._offer_contact(contact)
        if contact.state != "waiting":  # taken at once: its patience and holds never matter
            return
        if math.isfinite(patience):
            self.at(patience, self._give_up, contact, wants_callback)
        for moment in self._eligibility_changes(contact):
            self.at(moment, self._offer_contact, contact)

    def _eligibility_changes(self, contact: _Contact) -> list[float]:
        """Delays after which the contact may be taken by agents who may not take it now."""
        delays = [r.after_s for r in self.queues[contact.queue].relaxations if r.after_s > 0]
        if contact.view.team_until is not None:
            delays.append((contact.view.team_until - contact.view.joined_at).total_seconds())
        return delays

    def _give_up(self, contact: _Contact, wants_callback: bool) -> None:
        if contact.state != "waiting":
            return
        contact.wait = self.env.now - contact.joined
        if wants_callback:
            contact.state = "callback"  # keeps its place; the agent calls when its turn comes
            contact.callback = True
            return
        contact.state = "abandoned"
        self._leave_line(contact)

    def _leave_line(self, contact: _Contact) -> None:
        del self.lines[contact.queue][-contact.view.priority][contact.id]
        kinds = self.kinds[contact.queue]
        alike = kinds[contact.kind]
        del alike[contact.id]
        if not alike:
            del kinds[contact.kind]
        self.waiting[contact.queue] -= 1
        del self.contacts[contact.id]

    def _line(self, queue: str) -> Iterator[ContactView]:
        for _boost, line in sorted(self.lines[queue].items()):
            for contact in line.values():
                yield contact.view

    # --- dispatch ----------------------------------------------------------------------------
    def _offer_contact(self, contact: _Contact) -> None:
        """Offer one contact to the free agents of its queue. Where the queue's strategy picks
        the least of an order (longest idle, least occupied, …), only the first in that order
        among those `eligible` says may take it is asked about — `choose` with that one agent,
        as `assignments` would ask it: the one it would choose among all of them (a test and
        the bench check the days come out the same), without building every free agent's
        candidacy in a large center."""
        free = self.free[contact.queue]
        if contact.state not in ("waiting", "callback") or not free:
            return
        queue = self.queues[contact.queue]
        key = _ORDERS.get(queue.strategy)
        if not self.narrow or key is None or contact.view.preferred_agent is not None:
            self._dispatch({contact.queue: (contact.view,)}, free)
            return
        now, view = self.now(), contact.view
        roomy = self.roomy[(contact.queue, view.channel)]
        able = roomy.keys() & self._accepted(contact, now)
        if able:
            # `choose` among these agents picks the least in the strategy's order (`_ORDERS`
            # is `_pick`'s keys): with no preferred agent and no callback time, that is the
            # first of them, and the agent takes it, as `assignments` would have it
            first = free[min(able, key=self.rank[contact.queue].__getitem__)]
            self.last_chosen[queue.id] = first.id
            self._start(contact, self.taking(first, view.channel))

    def _accepted(self, contact: _Contact, now: Any) -> set[str]:
        """The agents `eligible` accepts for the contact now when ready with room: it reads the
        wait only against the queue's relaxations (`required_level`: the rules reached) and the
        team hold's end, so contacts of a kind in the same phase share one answer."""
        view, queue = contact.view, self.queues[contact.queue]
        waited = (now - view.joined_at).total_seconds()
        reached = bisect_right(self.relaxed_after[contact.queue], waited)  # rules it reached
        released = view.team_until is not None and now >= view.team_until
        key = (contact.kind, reached, released)
        accepted = self.known.get(key)
        if accepted is None:
            accepted = self.known[key] = {
                a
                for a, ready in self.ready.items()
                if view.queue in self.serves[a] and eligible(ready, view, queue, now)
            }
        return accepted

    def _offer_agent(self, agent_id: str) -> int:
        """Offer a free agent the lines of their queues; how many contacts they took."""
        view = self.views[agent_id]
        if agent_id not in self.on_duty or agent_id in self.wrapping:
            return 0
        if not view.has_room_for_any():
            return 0
        now = self.now()
        if not view.ready_at(now):  # what `eligible` asks first, of every contact alike
            return 0
        queues = [q for q in self.serves[agent_id] if self.waiting[q]]
        # `assignments` offers a contact to the agent only if `eligible` accepts them for it:
        # when it accepts them for none of those waiting (most often, a line of contacts held
        # for another team or speaking another language), nothing can change hands. A
        # contact's wait only widens who may take it (relaxations lower the levels required, a
        # team hold ends), so of each kind the one who has waited longest is asked.
        for q in queues:
            for kind, alike in self.kinds[q].items():
                if view.has_room(kind[1]) and agent_id in self._accepted(
                    next(iter(alike.values())), now
                ):
                    if not self.narrow:
                        return self._dispatch({q: self._line(q) for q in queues}, {agent_id: view})
                    return self._serve(view, queues, now)
        return 0

    def _serve(self, view: AgentView, queues: list[str], now: Any) -> int:
        """What `assignments` does with one agent: the lines of their queues merged in service
        order, each contact `eligible` accepts them for (the kind's answer, their room) put to
        `choose` with that agent, taken while they have room — without a heap over every
        queue and a pass over every agent. The baseline (`narrow=False`) asks `assignments`
        itself, and a test and the bench check the two give the same day."""
        lines = [self._line(q) for q in queues]
        merged = lines[0] if len(lines) == 1 else heapq.merge(*lines, key=self._service_order)
        taken: list[tuple[_Contact, AgentView]] = []
        for contact_view in merged:
            if not view.has_room(contact_view.channel):
                continue
            contact = self.contacts[contact_view.id]
            if view.id not in self._accepted(contact, now):
                continue
            queue = self.queues[contact_view.queue]
            decision = choose(
                contact_view,
                queue,
                (view,),
                now,
                last_chosen=self.last_chosen.get(queue.id),
                rng=self.route_rng,
            )
            if decision.agent is None:
                continue
            self.last_chosen[queue.id] = decision.agent
            view = self.taking(view, contact_view.channel)
            taken.append((contact, view))
            if not view.has_room_for_any():
                break
        for contact, after in taken:  # once the lines are read: starting takes it out of line
            self._start(contact, after)
        return len(taken)

    def _service_order(self, contact: ContactView) -> tuple[int, Any, str]:
        return service_order(contact, self.queues[contact.queue])

    def _dispatch(self, lines: Mapping[str, Any], agents: Mapping[str, AgentView]) -> int:
        now = self.now()
        made = list(
            assignments(
                lines,
                self.queues,
                agents,
                now,
                last_chosen=self.last_chosen,
                rng=self.route_rng,
            )
        )
        for view, decision, taken in made:
            contact = self.contacts[view.id]
            self.last_chosen[view.queue] = decision.agent
            self._start(contact, taken)
        return len(made)

    def _start(self, contact: _Contact, agent: AgentView) -> None:
        if contact.state == "waiting":
            contact.wait = self.env.now - contact.joined
        contact.state = "assigned"
        contact.agent = agent.id
        self._leave_line(contact)
        self._set_view(agent)
        share = 1 / agent.capacity[contact.channel]
        wrap = self.queues[contact.queue].wrapup_s
        now = self.env.now
        if now >= self.m.warmup_s:
            self.busy_s += contact.handle_s * share + wrap
        ended = now + contact.handle_s  # the moment SimPy gives the end
        if wrap > 0 and share == 1 and self._alone_until(agent.id, ended + wrap):
            # The contact takes all of an agent who held nothing: until their wrap-up ends
            # they can take nothing, and nothing they hold can end, so the end and the end of
            # the wrap-up are one event (when SimPy's clock reaches that moment exactly)
            delay = ended + wrap - now
            if now + delay == ended + wrap:
                self.at(delay, self._end_and_wrap, contact, agent.id, ended)
                return
        self.at(contact.handle_s, self._end, contact, agent.id)

    def _alone_until(self, agent_id: str, until: float) -> bool:
        """No log-in of the agent between now and `until` (one would make them ready then)."""
        logins = self.logins.get(agent_id, ())
        return bisect_left(logins, self.env.now) == bisect_right(logins, until)

    def _end_and_wrap(self, contact: _Contact, agent_id: str, ended: float) -> None:
        """`_end` at `ended` then `_wrapped` now, for an agent nobody could offer anything in
        between (not free: no room, then in wrap-up)."""
        view = self.views[agent_id]
        load = dict(view.load)
        load[contact.channel] -= 1
        self.views[agent_id] = self.changed(
            view,
            load=load,
            idle_since=self.m.day_start + timedelta(seconds=ended),
            handled_today=view.handled_today + 1,
        )
        if not self._offer_agent(agent_id):
            self._set_view(self.views[agent_id])

    def _end(self, contact: _Contact, agent_id: str) -> None:
        view = self.views[agent_id]
        load = dict(view.load)
        load[contact.channel] -= 1
        wrap = self.queues[contact.queue].wrapup_s
        if wrap > 0:
            self.wrapping.add(agent_id)
        self._set_view(
            self.changed(
                view, load=load, idle_since=self.now(), handled_today=view.handled_today + 1
            )
        )
        if wrap > 0:
            self.at(wrap, self._wrapped, agent_id)
        else:
            self._offer_agent(agent_id)

    def _wrapped(self, agent_id: str) -> None:
        self.wrapping.discard(agent_id)
        if not self._offer_agent(agent_id):  # what they took has set their view already
            self._set_view(self.views[agent_id])

    # --- agents ------------------------------------------------------------------------------
    def _log_in(self, agent_id: str) -> None:
        self.on_duty.add(agent_id)
        self._set_view(replace(self.views[agent_id], state="ready", idle_since=self.now()))
        self._offer_agent(agent_id)

    def _log_out(self, agent_id: str) -> None:
        self.on_duty.discard(agent_id)  # finishes what they hold, takes nothing more
        self._set_view(replace(self.views[agent_id], state="logged_out"))

    def _set_view(self, view: AgentView) -> None:
        """Keep the agent's view and the free agents of each queue they serve up to date."""
        agent_id = view.id
        self.views[agent_id] = view
        places = self.places.get(agent_id)
        if places is None:
            places = self.places[agent_id] = [
                (
                    self.free[q],
                    self.rank[q],
                    _ORDERS.get(self.queues[q].strategy),
                    self.queues[q],
                    [(c, self.roomy[(q, c)]) for c in self.queues[q].channels],
                )
                for q in self.serves[agent_id]
            ]
        free = (
            agent_id in self.on_duty and agent_id not in self.wrapping and view.has_room_for_any()
        )
        for free_agents, rank, key, spec, roomy in places:
            if free:
                free_agents[agent_id] = view
                if key is not None:
                    rank[agent_id] = key(view, spec)
                for channel, agents in roomy:
                    if view.has_room(channel):
                        agents[agent_id] = None
                    else:
                        agents.pop(agent_id, None)
            else:
                free_agents.pop(agent_id, None)
                for _channel, agents in roomy:
                    agents.pop(agent_id, None)

    # --- figures -----------------------------------------------------------------------------
    def outcomes(self) -> list[tuple[Any, ...]]:
        """Each counted contact's day after `run`, in arrival order: id, queue, channel, stage,
        arrival (s), outcome, wait (s), whether it asked a callback, the agent who took it —
        what two runs must agree on to be the same day."""
        return [
            (c.id, c.queue, c.channel, c.stage, c.joined, c.state, c.wait, c.callback, c.agent)
            for c in self.counted
        ]

    def _figures(self) -> DayFigures:
        answered = within = abandoned = callbacks = unresolved = at_risk = over = 0
        wait_sum = 0.0
        stages = set(self.m.at_risk_stages)
        for c in self.counted:
            threshold = self.m.thresholds.get(c.queue, cc.DEFAULT_THRESHOLD_S)
            if c.callback:
                callbacks += 1
            elif c.state == "assigned" and c.wait is not None:
                answered += 1
                wait_sum += c.wait
                within += cc.is_within(c.wait, threshold)
            elif c.state == "abandoned":
                abandoned += 1
            else:
                unresolved += 1
            if c.stage in stages:
                at_risk += 1
                waited = c.wait if c.wait is not None else self.env.now - c.joined
                over += waited > threshold
        churn = self.m.churn.expected(over, at_risk - over) if self.m.churn else None
        return DayFigures(
            offered=len(self.counted),
            answered=answered,
            answered_within=within,
            abandoned=abandoned,
            callbacks=callbacks,
            unresolved=unresolved,
            wait_sum_s=wait_sum,
            busy_s=self.busy_s,
            staffed_s=self.staffed_s,
            at_risk=at_risk,
            at_risk_over_target=over,
            expected_churn=churn,
            events=self.events,
        )


def simulate_day(model: ModelInput, seed: int, *, narrow: bool = True) -> DayFigures:
    """One replication of the day `model` describes, with its own random streams from `seed`."""
    return CenterModel(model, seed, narrow=narrow).run()
