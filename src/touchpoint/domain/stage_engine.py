"""The stage engine: fold one customer's interactions, in (occurred_at, id) order, through a model.

Pure and incremental: `advance` continues from a saved `StageState`, so folding a history in one go
or in pieces gives the same stages and transitions. Time-based overlays (inactivity) fire at the
moment they fall due — between two events, or up to a clock the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from touchpoint.domain.stages import Rule, StageModel

# (occurred_at as epoch seconds, interaction id, type, channel, direction, revenue, properties)
Event = tuple[float, str, str, str, str, float | None, dict[str, Any] | None]


class Transition(NamedTuple):  # a tuple: millions are made in a replay
    from_stage: str | None
    to_stage: str
    at: float
    interaction_id: str | None
    reason: str


@dataclass(slots=True)
class StageState:
    """Everything the fold needs to continue: position, stages and the counters rules look at."""

    base: int = -1  # progression rank reached (-1: none yet)
    overlay: str | None = None
    stage: str | None = None  # what the customer shows: the overlay, else the progression stage
    since: float = 0.0
    last_at: float = float("-inf")
    last_id: str = ""
    horizon: float = float("-inf")  # the latest moment already folded in (event or timed move)
    last_activity: float | None = None
    purchases: int = 0
    spend: float = 0.0
    open_complaints: int = 0
    money: list[list[Any]] = field(default_factory=list)  # recent [ts, revenue, is_purchase]

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "overlay": self.overlay,
            "stage": self.stage,
            "since": self.since,
            "last_at": self.last_at,
            "last_id": self.last_id,
            "horizon": self.horizon,
            "last_activity": self.last_activity,
            "purchases": self.purchases,
            "spend": self.spend,
            "open_complaints": self.open_complaints,
            "money": self.money,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageState:
        return cls(**data)

    def accepts_in_order(self, at: float, interaction_id: str) -> bool:
        """Whether an event can be folded on top of this state (else the history is refolded)."""
        return at > self.horizon or (
            at == self.horizon == self.last_at and interaction_id > self.last_id
        )


class StageEngine:
    """A model compiled for speed: rules dispatched by interaction type."""

    def __init__(self, model: StageModel) -> None:
        self.model = model
        self.stages = model.stages
        self.rank = {name: i for i, name in enumerate(model.stages)}
        self.by_type, self.any_rules, self.counter_rules = _dispatch(model.stage_rules)
        enter = [r for o in sorted(model.overlays, key=lambda o: -o.level) for r in o.enter]
        timed = [r for r in enter if r.inactive_s is not None]
        self.timed = sorted(timed, key=lambda r: r.inactive_s or 0.0)
        self.o_by_type, self.o_any, self.o_counter = _dispatch(
            [r for r in enter if r.inactive_s is None]
        )
        self.level = {o.name: o.level for o in model.overlays}
        self.exits: dict[str, _Dispatch] = {o.name: _dispatch(o.exit) for o in model.overlays}
        self.window = max(
            [r.within_s for r in (*model.stage_rules, *enter) if r.within_s is not None],
            default=0.0,
        )
        self.activity_directions = model.activity_directions
        self.inactive_types = model.activity_exclude_types
        self.purchase_types = model.purchase_types
        self.complaint_types = model.complaint_types
        self.resolution_types = model.resolution_types
        self._plan_sparse_replay(enter)
        self._plan_dispatch()

    def _plan_dispatch(self) -> None:
        """Per interaction type, the candidate rules in the order the fold tries them."""
        self.count_types = self.purchase_types | self.complaint_types | self.resolution_types

        def ranked(rules: list[Rule]) -> tuple[tuple[int, Rule, bool], ...]:
            ordered = sorted(rules, key=lambda r: -self.rank[r.target])
            return tuple((self.rank[r.target], r, _is_plain(r)) for r in ordered)

        self.prog_typed = {t: ranked(rules + self.any_rules) for t, rules in self.by_type.items()}
        self.prog_any = ranked(self.any_rules)
        self.prog_counter = ranked(self.counter_rules)
        self.may_demote = not self.model.forward_only and any(
            r.from_ is not None for r in self.model.stage_rules
        )
        self.o_typed = {t: tuple(rules + self.o_any) for t, rules in self.o_by_type.items()}
        self.o_any = list(self.o_any)
        # types an overlay may enter on (any type, when some rule takes every type)
        self.o_types: frozenset[str] | _Everything = (
            _Everything() if self.o_any else frozenset(self.o_typed)
        )
        self.exit_rules = {
            name: ({t: tuple(r + any_) for t, r in typed.items()}, tuple(any_), tuple(counter))
            for name, (typed, any_, counter) in self.exits.items()
        }

    def _plan_sparse_replay(self, enter: list[Rule]) -> None:
        """Which events a replay must visit: the rest can only move the activity clock."""
        exits = [r for o in self.model.overlays for r in o.exit]
        typed = [*self.model.stage_rules, *enter, *exits]
        self.visit_types = frozenset(
            {t for r in typed if r.types for t in r.types if t != "*"}
            | self.purchase_types
            | self.complaint_types
            | self.resolution_types
        )
        first_stage_only = all(
            r.target == self.stages[0] and r == Rule(r.target, r.reason, types=r.types)
            for r in self.any_rules
        )
        self.visits_everything = (
            bool(self.o_any)
            or not first_stage_only
            or any(any_rules for _, any_rules, _ in self.exits.values())
        )
        self.min_inactive_s = min((r.inactive_s or 0.0 for r in self.timed), default=None)
        self.property_types: frozenset[str] | None = frozenset(
            t
            for r in typed
            if r.property_equals or r.property_min or r.property_max
            for t in (r.types or ())
        )
        if any(
            (r.property_equals or r.property_min or r.property_max)
            and (not r.types or "*" in r.types)
            for r in typed
        ):
            self.property_types = None  # some rule reads properties of any interaction

    # --- folding -------------------------------------------------------------------------
    def advance(
        self, state: StageState, events: list[Event], until: float | None = None
    ) -> list[Transition]:
        """Fold events (sorted by (at, id), all accepted in order) and then let time run to `until`."""
        out: list[Transition] = []
        for event in events:
            if self.timed and state.last_activity is not None:
                self._time_passes(state, event[0], out, inclusive=False)
            self._apply(state, event, out)
        if until is not None and self.timed and state.last_activity is not None:
            self._time_passes(state, until, out, inclusive=True)
        return out

    def advance_sparse(
        self,
        state: StageState,
        events: list[Event],
        prev_activity: list[float | None],
        last: tuple[float, str, float | None],
        until: float | None = None,
    ) -> list[Transition]:
        """`advance` over only the events a replay must visit (see `stage_replay`), for speed.

        `prev_activity[i]` is the customer's last activity before `events[i]` (skipped events
        included); `last` is (at, id, last activity) after the customer's final event.
        """
        out: list[Transition] = []
        first_due = self.min_inactive_s
        apply = self._apply
        for event, prev in zip(events, prev_activity, strict=True):
            if prev is not None:
                state.last_activity = prev
                if first_due is not None and prev + first_due < event[0]:  # a timed move is due
                    self._time_passes(state, event[0], out, inclusive=False)
            apply(state, event, out)
        state.last_at, state.last_id, state.last_activity = last
        state.horizon = max(state.horizon, state.last_at)
        if until is not None and first_due is not None and state.last_activity is not None:
            self._time_passes(state, until, out, inclusive=True)
        return out

    def next_due(self, state: StageState) -> float | None:
        """When a timed overlay could next fire for this state (None: not without new events)."""
        if state.last_activity is None:
            return None
        for rule in self.timed:
            due = state.last_activity + (rule.inactive_s or 0.0)
            if due > state.since and self._may_enter(state, rule):
                return due
        return None

    def _time_passes(
        self, state: StageState, now: float, out: list[Transition], *, inclusive: bool
    ) -> None:
        assert state.last_activity is not None
        for rule in self.timed:
            due = state.last_activity + (rule.inactive_s or 0.0)
            if due > now or (due == now and not inclusive):
                break
            if due > state.since and self._may_enter(state, rule):
                state.overlay = rule.target
                state.horizon = max(state.horizon, due)
                self._show(state, due, None, rule.reason, out)

    def _may_enter(self, state: StageState, rule: Rule) -> bool:
        if state.base < rule.requires_rank:
            return False
        if rule.from_ is not None:
            return self._current_in(state, rule.from_)
        current = self.level.get(state.overlay, -1) if state.overlay else -1
        return self.level[rule.target] > current

    def _current_in(self, state: StageState, names: frozenset[str]) -> bool:
        if state.overlay is not None:
            return state.overlay in names
        return state.base >= 0 and self.stages[state.base] in names

    def _apply(self, state: StageState, event: Event, out: list[Transition]) -> None:
        at, interaction_id, type_, _, direction, revenue, _ = event
        counted = (revenue is not None or type_ in self.count_types) and self._count(state, event)
        reason = None
        rule = self._progression(state, event, counted)
        if rule is not None:
            state.base = self.rank[rule.target]
            reason = rule.reason
        if state.overlay is not None or type_ in self.o_types or (counted and self.o_counter):
            overlay_rule = self._overlay(state, event, counted)
            if overlay_rule is not None:
                reason = overlay_rule.reason
        if (self.activity_directions is None or direction in self.activity_directions) and (
            type_ not in self.inactive_types
        ):
            state.last_activity = at
        state.last_at, state.last_id = at, interaction_id
        if at > state.horizon:
            state.horizon = at
        if reason is not None:
            self._show(state, at, interaction_id, reason, out)

    def _count(self, state: StageState, event: Event) -> bool:
        at, _, type_, _, _, revenue, _ = event
        changed = False
        is_purchase = type_ in self.purchase_types
        if is_purchase:
            state.purchases += 1
            changed = True
        if revenue is not None:
            state.spend += revenue
            changed = True
        if changed and self.window:
            money = state.money
            money.append([at, revenue or 0.0, is_purchase])
            cutoff = at - self.window
            while money and money[0][0] < cutoff:
                money.pop(0)
        if type_ in self.complaint_types:
            state.open_complaints += 1
            changed = True
        elif type_ in self.resolution_types and state.open_complaints:
            state.open_complaints -= 1
            changed = True
        return changed

    def _progression(self, state: StageState, event: Event, counted: bool) -> Rule | None:
        """The highest stage above the current one whose rule matches; else a demotion, if any."""
        best: Rule | None = None
        best_rank = state.base
        typed = self.prog_typed.get(event[2], self.prog_any)
        for ranked in (typed, self.prog_counter) if counted else (typed,):
            for rank, rule, plain in ranked:  # highest stage first
                if rank <= best_rank:
                    break
                if plain or (self._from_ok(state, rule) and self._matches(state, rule, event)):
                    best, best_rank = rule, rank
                    break
        if best is None and self.may_demote:
            return self._demotion(state, event, counted)
        return best

    def _demotion(self, state: StageState, event: Event, counted: bool) -> Rule | None:
        typed = self.prog_typed.get(event[2], self.prog_any)
        for ranked in (typed, self.prog_counter) if counted else (typed,):
            for rank, rule, _ in ranked:
                if self._demotes(state, rule, rank) and self._matches(state, rule, event):
                    return rule
        return None

    def _from_ok(self, state: StageState, rule: Rule) -> bool:
        return rule.from_ is None or (state.base >= 0 and self.stages[state.base] in rule.from_)

    def _demotes(self, state: StageState, rule: Rule, rank: int) -> bool:
        """A rule naming the current stage in `from` may move back, unless the model is forward-only."""
        return (
            not self.model.forward_only
            and rule.from_ is not None
            and rank < state.base
            and self.stages[state.base] in rule.from_
        )

    def _overlay(self, state: StageState, event: Event, counted: bool) -> Rule | None:
        type_ = event[2]
        typed = self.o_typed.get(type_, self.o_any)
        for rules in (typed, self.o_counter) if counted else (typed,):
            for rule in rules:
                if self._may_enter(state, rule) and self._matches(state, rule, event):
                    state.overlay = rule.target
                    return rule
        if state.overlay is not None:
            exit_typed, exit_any, exit_counter = self.exit_rules[state.overlay]
            typed = exit_typed.get(type_, exit_any)
            for rules in (typed, exit_counter) if counted else (typed,):
                for rule in rules:
                    if self._matches(state, rule, event):
                        state.overlay = None
                        return rule
        return None

    def _matches(self, state: StageState, rule: Rule, event: Event) -> bool:
        at, _, _, channel, direction, revenue, props = event
        if rule.channels is not None and channel not in rule.channels:
            return False
        if rule.directions is not None and direction not in rule.directions:
            return False
        if state.base < rule.requires_rank:
            return False
        if rule.revenue_min is not None and (revenue is None or revenue < rule.revenue_min):
            return False
        if rule.property_equals or rule.property_min or rule.property_max:
            if not _properties_match(rule, props or {}):
                return False
        if rule.purchases_at_least is not None or rule.spend_at_least is not None:
            purchases, spend = self._totals(state, at, rule.within_s)
            if rule.purchases_at_least is not None and purchases < rule.purchases_at_least:
                return False
            if rule.spend_at_least is not None and spend < rule.spend_at_least:
                return False
        if rule.open_complaints_at_least is not None:
            return state.open_complaints >= rule.open_complaints_at_least
        return True

    @staticmethod
    def _totals(state: StageState, at: float, within_s: float | None) -> tuple[int, float]:
        if within_s is None:
            return state.purchases, state.spend
        cutoff = at - within_s
        recent = [m for m in state.money if m[0] >= cutoff]
        return sum(1 for m in recent if m[2]), sum(m[1] for m in recent)

    def _show(
        self,
        state: StageState,
        at: float,
        interaction_id: str | None,
        reason: str,
        out: list[Transition],
    ) -> None:
        shown = state.overlay or (self.stages[state.base] if state.base >= 0 else None)
        if shown is None or shown == state.stage:
            return
        out.append(Transition(state.stage, shown, at, interaction_id, reason))
        state.stage, state.since = shown, at


_Dispatch = tuple[dict[str, list[Rule]], list[Rule], list[Rule]]


def _dispatch(rules: list[Rule] | tuple[Rule, ...]) -> _Dispatch:
    """Rules by interaction type, rules for any type, and rules that only look at counters."""
    by_type: dict[str, list[Rule]] = {}
    any_rules: list[Rule] = []
    counter_rules: list[Rule] = []
    for rule in rules:
        if rule.types is None:
            counter_rules.append(rule)
        elif "*" in rule.types:
            any_rules.append(rule)
        else:
            for type_ in rule.types:
                by_type.setdefault(type_, []).append(rule)
    return by_type, any_rules, counter_rules


class _Everything:
    """A set that contains everything."""

    def __contains__(self, item: object) -> bool:
        return True


def _is_plain(rule: Rule) -> bool:
    """A rule that holds for every interaction of its types (nothing else to check)."""
    return rule == Rule(rule.target, rule.reason, types=rule.types)


def _properties_match(rule: Rule, props: dict[str, Any]) -> bool:
    for key, expected in rule.property_equals:
        if props.get(key) != expected:
            return False
    for key, low in rule.property_min:
        value = props.get(key)
        if not isinstance(value, int | float) or value < low:
            return False
    for key, high in rule.property_max:
        value = props.get(key)
        if not isinstance(value, int | float) or value > high:
            return False
    return True
