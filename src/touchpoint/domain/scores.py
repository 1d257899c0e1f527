"""Rule-based scores (a lead score, an engagement score…): score model files and the fold of one
customer's interactions into a score, its breakdown and its threshold crossings.

A score file (TOML) holds one or more `[[model]]` tables, each with its `[[model.rule]]`s (event
type, channel and property conditions -> points, positive or negative, with a cap per rule and a
cap per rolling period), its `[[model.inactivity]]` rules ("no activity for 30 days" -> points,
applied when time passes), an optional half-life (every award decays: worth half after it) and
its thresholds (a crossing is a value: "rose above 50", "fell below 20").

Every award decays at the same rate, so a score is kept as its points at a reference moment (the
last award) and decayed on read: points x 2^-(t - reference) / half_life. The fold is a function
of the history and the clock only, so a refold, an incremental update and a replay agree.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

DAY_S: Final = 86_400.0
# Interaction columns a condition may name; any other name is a property of the interaction.
INTERACTION_FIELDS: Final = (
    "direction",
    "outcome",
    "revenue",
    "duration_s",
    "source",
    "medium",
    "campaign",
    "queue",
    "agent",
    "name",
)
OPERATORS: Final = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "exists")
ACTIVITY: Final = ("inbound", "any")  # what resets the inactivity clock
ROSE: Final = "score_rose_above"
FELL: Final = "score_fell_below"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ScoreModelError(ValueError):
    """A score file that cannot be used; the message names the model or rule and the problem."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str  # one of OPERATORS
    value: Any

    def holds(self, event: ScoreEvent) -> bool:
        found = event.value_of(self.field)
        if self.op == "exists":
            return (found is not None) == bool(self.value)
        if found is None:
            return self.op == "ne"
        if self.op == "eq":
            return bool(found == self.value)
        if self.op == "ne":
            return bool(found != self.value)
        if self.op == "in":
            return found in self.value
        if not isinstance(found, int | float) or isinstance(found, bool):
            return False
        limit = float(self.value)
        return {
            "gt": found > limit,
            "gte": found >= limit,
            "lt": found < limit,
            "lte": found <= limit,
        }[self.op]


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """Interactions of these types (any if empty), on these channels (any if empty), meeting
    every condition, give `points`; at most `cap` in magnitude ever, and at most `period_cap`
    within any `period_s` seconds (rolling)."""

    name: str
    points: float
    types: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    conditions: tuple[Condition, ...] = ()
    cap: float | None = None
    period_cap: float | None = None
    period_s: float | None = None

    def matches(self, event: ScoreEvent) -> bool:
        return (
            (not self.types or event.type in self.types)
            and (not self.channels or event.channel in self.channels)
            and all(c.holds(event) for c in self.conditions)
        )


@dataclass(frozen=True, slots=True)
class InactivityRule:
    """`points` once a customer has had no activity for `after_s` seconds (once per quiet spell)."""

    name: str
    after_s: float
    points: float


@dataclass(frozen=True, slots=True)
class ScoreModel:
    name: str
    rules: tuple[ScoreRule, ...]
    inactivity: tuple[InactivityRule, ...] = ()
    half_life_s: float | None = None  # None: awards never decay
    thresholds: tuple[float, ...] = ()
    activity: str = "inbound"
    description: str = ""
    # type -> the rules an interaction of that type may match, filled as the folds ask
    by_type: dict[str, tuple[ScoreRule, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def is_activity(self, event: ScoreEvent) -> bool:
        return self.activity == "any" or event.direction == "inbound"

    def rules_for(self, type_: str) -> tuple[ScoreRule, ...]:
        """The rules an interaction of this type may match, in file order (a fold asks once per
        event: only these are checked)."""
        found = self.by_type.get(type_)
        if found is None:
            found = tuple(r for r in self.rules if not r.types or type_ in r.types)
            self.by_type[type_] = found
        return found


@dataclass(frozen=True, slots=True)
class ScoreEvent:
    """One interaction as a score reads it; `at` in epoch seconds (UTC)."""

    at: float
    id: str
    type: str
    channel: str
    direction: str
    fields: Mapping[str, Any] = field(default_factory=dict)  # INTERACTION_FIELDS present
    properties: Mapping[str, Any] = field(default_factory=dict)

    def value_of(self, name: str) -> Any:
        if name in INTERACTION_FIELDS:
            return self.fields.get(name)
        return self.properties.get(name)


@dataclass(frozen=True, slots=True)
class Award:
    """Points a rule gave (after its caps) at a moment; `interaction_id` None: time passing."""

    rule: str
    at: float
    points: float
    interaction_id: str | None


@dataclass(frozen=True, slots=True)
class Crossing:
    kind: str  # ROSE or FELL
    threshold: float
    at: float
    cause: str | None  # the interaction whose award crossed it; None: decay or inactivity

    def key(self, model: str, customer_id: str) -> str:
        """Names the change itself, so a refold finds the same crossing again."""
        when = from_epoch(self.at).isoformat()
        return f"{self.kind}:{model}:{self.threshold:g}:{customer_id}@{when}#{self.cause or 'time'}"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A customer's score under one model, folded up to a horizon."""

    points: float  # the score at `reference_at` (the last award), before decay since
    reference_at: float | None  # None: no award yet
    awards: tuple[Award, ...]
    crossings: tuple[Crossing, ...]
    due_at: float | None  # the next moment time alone changes something (inactivity, crossing)
    last_activity_at: float | None


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def decayed(
    points: float, reference_at: float | None, at: float, half_life_s: float | None
) -> float:
    """`points` held at `reference_at`, as they stand at `at` (never grown: `at` before the
    reference gives the points as they were at the reference)."""
    if half_life_s is None or reference_at is None or at <= reference_at:
        return points
    return points * math.pow(2.0, -(at - reference_at) / half_life_s)


def _decay_crossing(
    points: float, reference_at: float, threshold: float, half_life_s: float | None
) -> Crossing | None:
    """The crossing decay alone makes from `points` at `reference_at`, if any (toward zero)."""
    if half_life_s is None:
        return None
    if points >= threshold > 0:
        return Crossing(
            FELL, threshold, reference_at + half_life_s * math.log2(points / threshold), None
        )
    if points < threshold < 0:
        return Crossing(
            ROSE, threshold, reference_at + half_life_s * math.log2(points / threshold), None
        )
    return None


class _Fold:
    """One customer's fold under one model (the state of `fold_score`)."""

    def __init__(self, model: ScoreModel) -> None:
        self.model = model
        self.points = 0.0
        self.reference_at: float | None = None
        self.awards: list[Award] = []
        self.crossings: list[Crossing] = []
        self.used: dict[str, float] = {}
        self.windows: dict[str, deque[tuple[float, float]]] = {}
        self.last_activity: float | None = None
        self.fired: set[str] = set()
        self.shortest_quiet = min((r.after_s for r in model.inactivity), default=math.inf)

    def decay_until(self, t: float, *, inclusive: bool) -> None:
        """Record the crossings decay makes before `t` (or at it, if inclusive)."""
        if self.reference_at is None:
            return
        for threshold in self.model.thresholds:
            found = _decay_crossing(
                self.points, self.reference_at, threshold, self.model.half_life_s
            )
            if found and (found.at < t or (inclusive and found.at <= t)):
                self.crossings.append(found)

    def award(self, rule: str, at: float, points: float, cause: str | None) -> None:
        self.decay_until(at, inclusive=False)
        before = decayed(self.points, self.reference_at, at, self.model.half_life_s)
        after = before + points
        self.awards.append(Award(rule, at, points, cause))
        self.points, self.reference_at = after, at
        for threshold in self.model.thresholds:
            if before < threshold <= after:
                self.crossings.append(Crossing(ROSE, threshold, at, cause))
            elif after < threshold <= before:
                self.crossings.append(Crossing(FELL, threshold, at, cause))

    def capped(self, rule: ScoreRule, at: float) -> float:
        magnitude = abs(rule.points)
        if rule.cap is not None:
            magnitude = min(magnitude, rule.cap - self.used.get(rule.name, 0.0))
        if rule.period_cap is not None and rule.period_s is not None:
            window = self.windows.setdefault(rule.name, deque())
            while window and window[0][0] <= at - rule.period_s:
                window.popleft()
            magnitude = min(magnitude, rule.period_cap - sum(m for _, m in window))
        return max(magnitude, 0.0)

    def score_event(self, event: ScoreEvent) -> None:
        for rule in self.model.rules_for(event.type):
            if not rule.matches(event):
                continue
            magnitude = self.capped(rule, event.at)
            if magnitude <= 0:
                continue
            self.used[rule.name] = self.used.get(rule.name, 0.0) + magnitude
            if rule.period_s is not None:
                self.windows.setdefault(rule.name, deque()).append((event.at, magnitude))
            self.award(rule.name, event.at, math.copysign(magnitude, rule.points), event.id)

    def inactivity_due(self) -> list[tuple[float, InactivityRule]]:
        if self.last_activity is None:
            return []
        last = self.last_activity
        due = [(last + r.after_s, r) for r in self.model.inactivity if r.name not in self.fired]
        return sorted(due, key=lambda d: (d[0], d[1].name))

    def pass_time(self, t: float, *, inclusive: bool) -> None:
        """Apply the inactivity rules that fall due before `t` (or at it, if inclusive)."""
        if self.last_activity is None or self.last_activity + self.shortest_quiet > t:
            return  # nothing can be due yet (the common case: the customer was active lately)
        for at, rule in self.inactivity_due():
            if at < t or (inclusive and at <= t):
                self.fired.add(rule.name)
                self.award(rule.name, at, rule.points, None)


def fold_score(
    model: ScoreModel, events: Iterable[ScoreEvent], *, clock: float | None = None
) -> ScoreResult:
    """Fold one customer's events (in (at, id) order) with time passed up to the later of
    `clock` and the last event: awards with their caps, inactivity rules that fell due, and every
    threshold crossing (by an award, or by decay alone) up to then."""
    return _run(_Fold(model), events, clock, None)


@dataclass(frozen=True, slots=True)
class FoldState:
    """Where a customer's fold under a model stood, enough to go on from: the points at their
    reference moment (the last award, which an interaction gave), the last activity, how much
    each rule gave so far (for `cap`), each period-capped rule's awards of the last period, and
    the inactivity rules fired since the last activity."""

    points: float = 0.0
    reference_at: float | None = None
    last_activity_at: float | None = None
    used: Mapping[str, float] = field(default_factory=dict)
    windows: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    fired: frozenset[str] = frozenset()
    last_at: float | None = None  # the last event folded (None: none yet)


def resume_score(
    model: ScoreModel,
    state: FoldState,
    events: Iterable[ScoreEvent],
    *,
    clock: float | None = None,
) -> ScoreResult:
    """Go on folding from `state` with events that all occurred after both the state's last event
    and the clock it was folded to (the caller checks): the result is what `fold_score` over the
    whole history gives, but its awards are only the new ones, and its crossings those found
    from `state` on (a crossing the state had already recorded may be found again: same key)."""
    fold = _Fold(model)
    fold.points, fold.reference_at = state.points, state.reference_at
    fold.last_activity = state.last_activity_at
    fold.used = dict(state.used)
    fold.windows = {name: deque(held) for name, held in state.windows.items()}
    fold.fired = set(state.fired)
    return _run(fold, events, clock, state.last_at)


def _run(
    state: _Fold, events: Iterable[ScoreEvent], clock: float | None, last_at: float | None
) -> ScoreResult:
    model = state.model
    for event in events:
        state.pass_time(event.at, inclusive=False)
        if model.is_activity(event):
            state.last_activity = event.at
            state.fired = set()
        state.score_event(event)
        last_at = event.at
    horizon = max((t for t in (clock, last_at) if t is not None), default=None)
    if horizon is not None:
        state.pass_time(horizon, inclusive=True)
        state.decay_until(horizon, inclusive=True)
    # what falls due after the horizon (what fell due by then is in the result already)
    due = _next_after(state, -math.inf if horizon is None else horizon)
    return ScoreResult(
        points=state.points,
        reference_at=state.reference_at,
        awards=tuple(state.awards),
        crossings=tuple(state.crossings),
        due_at=due,
        last_activity_at=state.last_activity,
    )


def _next_after(state: _Fold, horizon: float) -> float | None:
    later = [at for at, _ in state.inactivity_due() if at > horizon]
    if state.reference_at is not None:
        for threshold in state.model.thresholds:
            found = _decay_crossing(
                state.points, state.reference_at, threshold, state.model.half_life_s
            )
            if found and found.at > horizon:
                later.append(found.at)
    return min(later, default=None)


# --- score files ------------------------------------------------------------------------------


def parse_score_models(text: str) -> tuple[ScoreModel, ...]:
    """The models of a score file, or one ScoreModelError naming the model/rule, the problem and
    the line where it can."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScoreModelError(f"not valid TOML: {exc}") from None
    unknown = set(document) - {"model"}
    if unknown:
        raise ScoreModelError(f"unknown top-level key {sorted(unknown)[0]!r} (expected [[model]])")
    models = document.get("model")
    if not isinstance(models, list) or not models:
        raise ScoreModelError("no [[model]] table: a score file names at least one model")
    parsed = tuple(_model(text, m, i) for i, m in enumerate(models))
    names = [m.name for m in parsed]
    for name in names:
        if names.count(name) > 1:
            raise ScoreModelError(f"model {name!r}{_line(text, name)}: defined twice")
    return parsed


def _line(text: str, name: str) -> str:
    """' (line N)' of the first `name = "…"` naming `name`, or '' when it cannot be found."""
    pattern = re.compile(rf"""^\s*name\s*=\s*["']{re.escape(name)}["']""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return f" (line {number})"
    return ""


def _model(text: str, raw: Any, index: int) -> ScoreModel:
    if not isinstance(raw, dict):
        raise ScoreModelError(f"model #{index + 1}: must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScoreModelError(
            f"model #{index + 1}: needs a name of lowercase letters, digits and _ (got {name!r})"
        )
    where = f"model {name!r}{_line(text, name)}"
    known = {
        "name",
        "description",
        "half_life_days",
        "thresholds",
        "activity",
        "rule",
        "inactivity",
    }
    _no_unknown(raw, known, where)
    half_life = raw.get("half_life_days")
    if half_life is not None and not _positive(half_life):
        raise ScoreModelError(f"{where}: half_life_days must be a positive number")
    thresholds = raw.get("thresholds", [])
    if not isinstance(thresholds, list) or not all(_number(t) for t in thresholds):
        raise ScoreModelError(f"{where}: thresholds must be a list of numbers")
    activity = raw.get("activity", "inbound")
    if activity not in ACTIVITY:
        raise ScoreModelError(f"{where}: activity must be one of {', '.join(ACTIVITY)}")
    rules = tuple(_rule(text, name, r) for r in _tables(raw.get("rule", []), where, "rule"))
    quiet = tuple(
        _inactivity(text, name, r) for r in _tables(raw.get("inactivity", []), where, "inactivity")
    )
    if not rules and not quiet:
        raise ScoreModelError(f"{where}: has no [[model.rule]] nor [[model.inactivity]]")
    every = [r.name for r in rules] + [r.name for r in quiet]
    for rule_name in every:
        if every.count(rule_name) > 1:
            raise ScoreModelError(
                f"{where}: rule {rule_name!r}{_line(text, rule_name)} is defined twice"
            )
    return ScoreModel(
        name=name,
        rules=rules,
        inactivity=quiet,
        half_life_s=float(half_life) * DAY_S if half_life is not None else None,
        thresholds=tuple(sorted({float(t) for t in thresholds})),
        activity=activity,
        description=str(raw.get("description", "")),
    )


def _tables(value: Any, where: str, kind: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScoreModelError(f"{where}: {kind} must be [[model.{kind}]] tables")
    return value


def _rule_where(text: str, model: str, raw: dict[str, Any], kind: str) -> tuple[str, str]:
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScoreModelError(
            f"model {model!r}: a {kind} needs a name of lowercase letters, digits and _ "
            f"(got {name!r})"
        )
    return name, f"model {model!r}, rule {name!r}{_line(text, name)}"


def _rule(text: str, model: str, raw: dict[str, Any]) -> ScoreRule:
    name, where = _rule_where(text, model, raw, "rule")
    known = {"name", "type", "types", "channel", "channels", "where", "points", "cap"}
    _no_unknown(raw, known | {"period_cap", "period_days"}, where)
    points = raw.get("points")
    if not _number(points) or points == 0:
        raise ScoreModelError(f"{where}: points must be a number other than 0")
    cap = raw.get("cap")
    if cap is not None and not _positive(cap):
        raise ScoreModelError(f"{where}: cap must be a positive number")
    period_cap, period_days = raw.get("period_cap"), raw.get("period_days")
    if (period_cap is None) != (period_days is None):
        raise ScoreModelError(f"{where}: period_cap and period_days go together")
    if period_cap is not None and not (_positive(period_cap) and _positive(period_days)):
        raise ScoreModelError(f"{where}: period_cap and period_days must be positive numbers")
    return ScoreRule(
        name=name,
        points=float(points or 0),
        types=_names(raw, "type", where),
        channels=_names(raw, "channel", where),
        conditions=_conditions(raw.get("where", {}), where),
        cap=float(cap) if cap is not None else None,
        period_cap=float(period_cap) if period_cap is not None else None,
        period_s=float(period_days) * DAY_S if period_days is not None else None,
    )


def _inactivity(text: str, model: str, raw: dict[str, Any]) -> InactivityRule:
    name, where = _rule_where(text, model, raw, "inactivity rule")
    _no_unknown(raw, {"name", "days", "points"}, where)
    if not _positive(raw.get("days")):
        raise ScoreModelError(f"{where}: days (of no activity) must be a positive number")
    points = raw.get("points")
    if not _number(points) or points == 0:
        raise ScoreModelError(f"{where}: points must be a number other than 0")
    return InactivityRule(name, float(raw["days"]) * DAY_S, float(points or 0))


def _names(raw: dict[str, Any], key: str, where: str) -> frozenset[str]:
    one, many = raw.get(key), raw.get(f"{key}s")
    if one is not None and many is not None:
        raise ScoreModelError(f"{where}: give {key} or {key}s, not both")
    values = [one] if one is not None else many or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ScoreModelError(f"{where}: {key}s must be a list of names")
    return frozenset(values)


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise ScoreModelError(f"{where}: where must be a table of field = value")
    found: list[Condition] = []
    for name, value in raw.items():
        if isinstance(value, dict):
            for op, operand in value.items():
                found.append(_condition(name, op, operand, where))
        elif isinstance(value, list):
            found.append(Condition(name, "in", tuple(value)))
        else:
            found.append(Condition(name, "eq", value))
    return tuple(found)


def _condition(name: str, op: str, operand: Any, where: str) -> Condition:
    if op not in OPERATORS:
        raise ScoreModelError(
            f"{where}: unknown operator {op!r} for {name!r}; use one of {', '.join(OPERATORS)}"
        )
    if op in ("gt", "gte", "lt", "lte") and not _number(operand):
        raise ScoreModelError(f"{where}: {name}.{op} needs a number")
    if op == "in":
        if not isinstance(operand, list):
            raise ScoreModelError(f"{where}: {name}.in needs a list")
        operand = tuple(operand)
    if op == "exists" and not isinstance(operand, bool):
        raise ScoreModelError(f"{where}: {name}.exists needs true or false")
    return Condition(name, op, operand)


def _no_unknown(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ScoreModelError(f"{where}: unknown key {unknown[0]!r}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value: Any) -> bool:
    return _number(value) and value > 0


def model_named(models: Sequence[ScoreModel], name: str) -> ScoreModel:
    for model in models:
        if model.name == name:
            return model
    raise KeyError(name)
