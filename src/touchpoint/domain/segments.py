"""Segments: saved rules over traits, stage, consent, scores, predictions, behaviour over time.

A rule is written in a small language (the grammar is `segments.lark` beside this module; see
docs/segments.md) or as its JSON form; both give the same tree of frozen dataclasses, which the
store compiles into one set-based query. Pure: parsing, checking, the JSON form, and the moments
a rolling window moves past — no I/O (the grammar file is read once, like a constant).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import VisitError

from touchpoint.domain.predictions import TARGETS as PREDICTION_MODELS
from touchpoint.domain.rfm import GROUPS as RFM_GROUPS

TRAITS: Final = ("age", "gender", "income_band", "occupation", "country", "language")
NUMERIC_TRAITS: Final = frozenset({"age"})
OPERATORS: Final = (">=", "<=", "!=", "=", ">", "<", "in")
COUNT_OPERATORS: Final = (">=", "<=", "!=", "=", ">", "<")
PERIODS: Final = ("day", "week", "month", "year")
DEFAULT_PURPOSE: Final = "marketing"  # as domain.consent: the purpose a change without one has
GRANTED: Final = "granted"  # domain.consent's statuses (domain imports nothing of itself)
WITHDRAWN: Final = "withdrawn"
MAX_NAME_LENGTH: Final = 100
MAX_RULE_LENGTH: Final = 10_000
MAX_DEPTH: Final = 32

# What each behavioural phrase counts: interaction types (domain.vocabulary.InteractionType).
PURCHASE: Final = "purchase"
CALL: Final = "call"
EMAIL_OPENED: Final = "email_opened"
INBOUND: Final = "inbound"

_UNIT_SECONDS: Final = {"minute": 60, "hour": 3_600, "day": 86_400, "week": 7 * 86_400}


class RuleError(ValueError):
    """A rule that cannot be parsed or checked; the message names the rule, line and column."""


# --- the tree -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trait:
    """A trait compared with a value (`in`: one of `values`)."""

    trait: str
    op: str
    values: tuple[str | float, ...]


@dataclass(frozen=True, slots=True)
class Stage:
    """The customer's lifecycle stage is one of `stages`."""

    stages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Consent:
    """The consent in force for (channel, purpose) has `status`: granted (no change recorded:
    not granted — opt-in) or withdrawn (no change recorded: not withdrawn)."""

    channel: str
    purpose: str = DEFAULT_PURPOSE
    status: str = GRANTED


@dataclass(frozen=True, slots=True)
class Score:
    """A named score model's current score compared with a value."""

    model: str
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class Predicted:
    """A predictive model's (domain.predictions.TARGETS) latest probability for the customer,
    compared with a value; a customer the model has not scored has none."""

    model: str
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class Rfm:
    """The customer's RFM group (domain.rfm.GROUPS, as of the evaluation) is one of `groups`;
    a customer who never purchased has none."""

    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which interactions a behaviour counts: a type, and optionally a direction, a queue, a
    product category (the `category` property) and a wait above some seconds (`wait_s`)."""

    type: str
    direction: str | None = None
    queue: str | None = None
    category: str | None = None
    wait_over_s: float | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """When the counted interactions occurred: the last `seconds` up to now, the calendar
    `period` so far (UTC), or ever (both None)."""

    seconds: float | None = None
    period: str | None = None

    @property
    def rolls(self) -> bool:
        return self.seconds is not None or self.period is not None


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How many matching interactions occurred in the window, compared with `count`."""

    event: EventFilter
    op: str = ">="
    count: int = 1
    window: Window = Window()


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Rule


Condition = Trait | Stage | Consent | Score | Predicted | Rfm | Behaviour
Rule = Condition | AllOf | AnyOf | Not


def conditions(rule: Rule) -> Iterator[Condition]:
    """Every condition of the rule, depth first."""
    if isinstance(rule, AllOf | AnyOf):
        for item in rule.items:
            yield from conditions(item)
    elif isinstance(rule, Not):
        yield from conditions(rule.item)
    else:
        yield rule


def rolling_behaviours(rule: Rule) -> list[Behaviour]:
    """The behaviours whose truth can change with time alone (a window that rolls)."""
    return [c for c in conditions(rule) if isinstance(c, Behaviour) and c.window.rolls]


def reads_rfm(rule: Rule) -> bool:
    return any(isinstance(c, Rfm) for c in conditions(rule))


def reads_predictions(rule: Rule) -> bool:
    return any(isinstance(c, Predicted) for c in conditions(rule))


def score_models(rule: Rule) -> set[str]:
    return {c.model for c in conditions(rule) if isinstance(c, Score)}


def holds_for_zero(op: str, count: int) -> bool:
    """Whether a customer with no matching interaction satisfies `op count`."""
    return compare(0, op, count)


# The rule language's comparisons, once: numbers here, SQL expressions in store.segment_rules.
COMPARISONS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    "!=": operator.ne,
}


def comparison(op: str) -> Callable[[Any, Any], Any]:
    """The comparison `op` names; ValueError for one the language does not have."""
    found = COMPARISONS.get(op)
    if found is None:
        raise ValueError(f"unknown operator {op!r}")
    return found


def compare(left: float, op: str, right: float) -> bool:
    return bool(comparison(op)(left, right))


# --- time ---------------------------------------------------------------------------------------


def period_start(period: str, now: datetime) -> datetime:
    """The start (UTC) of the calendar day, ISO week, month or year holding `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_period_start(period: str, now: datetime) -> datetime:
    start = period_start(period, now)
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start + timedelta(days=32)).replace(day=1)
    return start.replace(year=start.year + 1)


def window_start(window: Window, now: datetime) -> datetime | None:
    """The window holds interactions with start < occurred_at <= now (a period: start <=); None:
    no lower bound."""
    if window.seconds is not None:
        return now - timedelta(seconds=window.seconds)
    if window.period is not None:
        return period_start(window.period, now)
    return None


def crossings(window: Window, before: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The spans of occurred_at (both ends included) whose interactions entered or left the
    window while the clock moved from `before` to `now`: a customer with one of them may have
    changed; nobody else did. Entering: occurred after `before` (an interaction dated ahead).
    Leaving: a rolling window's (before - W, now - W], a period's earlier periods."""
    spans = [(before, now)]
    if window.seconds is not None:
        width = timedelta(seconds=window.seconds)
        spans.append((before - width, now - width))
    elif window.period is not None:
        old, new = period_start(window.period, before), period_start(window.period, now)
        if new > old:
            spans.append((old, new))
    return spans


def next_crossing(
    window: Window, now: datetime, earliest_inside: datetime | None
) -> datetime | None:
    """When the window next changes what it holds, given the earliest matching interaction still
    inside it (or dated ahead of now): it leaves (rolling), or the period ends."""
    if window.period is not None:
        return next_period_start(window.period, now)
    if window.seconds is None or earliest_inside is None:
        return None
    if earliest_inside > now:
        return earliest_inside  # dated ahead: enters when the clock reaches it
    return earliest_inside + timedelta(seconds=window.seconds)


# --- the language ------------------------------------------------------------------------------

_TERMINALS: Final = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "DOT": "'.'",
    "PLUS": "'+'",
    "EQUAL": "'='",
    "OP": "a comparison (>=, <=, !=, =, >, <)",
    "STRING": 'a "quoted string"',
    "NUMBER": "a number",
    "WORD": "a name",
    "UNIT": "a unit (minutes, hours, days, weeks)",
    "PERIOD": "day, week, month or year",
    "TRAIT": "a trait (" + ", ".join(TRAITS) + ")",
    "$END": "the end of the rule",
}


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("segments.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _expected(names: Sequence[str]) -> str:
    shown = sorted({_TERMINALS.get(n, n.lstrip("_").lower()) for n in names})
    return ", ".join(shown[:12])


def parse_rule(text: str, *, name: str = "rule") -> Rule:
    """The rule written in the segment language; RuleError names the rule, line and column."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"segment {name!r}: the rule is longer than {MAX_RULE_LENGTH} characters")
    if not text.strip():
        raise RuleError(f"segment {name!r}: the rule is empty")
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as error:
        raise RuleError(
            f"segment {name!r}, line {error.line}, column {error.column}: unexpected character "
            f"{text[error.pos_in_stream or 0]!r}"
        ) from None
    except UnexpectedInput as error:
        token = getattr(error, "token", None)
        seen = "the end of the rule" if token is None or token.type == "$END" else repr(str(token))
        expected = getattr(error, "expected", None) or getattr(error, "allowed", None) or ()
        hint = f"; expected {_expected(list(expected))}" if expected else ""
        raise RuleError(
            f"segment {name!r}, line {error.line}, column {error.column}: unexpected {seen}{hint}"
        ) from None
    try:
        rule: Rule = _Build().transform(tree)
    except VisitError as wrapped:
        cause = wrapped.orig_exc
        if not isinstance(cause, _Misplaced):
            raise
        raise RuleError(
            f"segment {name!r}, line {cause.token.line}, column {cause.token.column}: {cause}"
        ) from None
    check(rule, name=name)
    return rule


class _Misplaced(Exception):
    def __init__(self, token: Token, message: str) -> None:
        super().__init__(message)
        self.token = token


def _unquote(token: Token) -> str:
    return str(json.loads(str(token)))


def _duration(number: Token, unit: Token) -> float:
    word = str(unit).lower().rstrip("s")
    if word not in _UNIT_SECONDS:
        raise _Misplaced(
            unit, f"a window of {word}s varies in length; use days or weeks, or 'this {word}'"
        )
    return float(number) * _UNIT_SECONDS[word]


@v_args(inline=True)
class _Build(Transformer[Token, Rule]):
    """Lark's tree to the rule's dataclasses."""

    def any_of(self, left: Rule, right: Rule) -> Rule:
        return AnyOf((*_flat(left, AnyOf), *_flat(right, AnyOf)))

    def all_of(self, left: Rule, right: Rule) -> Rule:
        return AllOf((*_flat(left, AllOf), *_flat(right, AllOf)))

    def negation(self, item: Rule) -> Rule:
        return Not(item)

    def text(self, token: Token) -> str:
        return _unquote(token)

    def number(self, token: Token) -> float:
        return float(token)

    def word(self, token: Token) -> str:
        return str(token)

    def trait(self, trait: Token, op: Token, value: str | float) -> Trait:
        return Trait(str(trait).lower(), str(op), (value,))

    def trait_in(self, trait: Token, *values: str | float) -> Trait:
        return Trait(str(trait).lower(), "in", tuple(values))

    def stage(self, stage: Token) -> Stage:
        return Stage((str(stage),))

    def stage_in(self, *stages: Token) -> Stage:
        return Stage(tuple(str(s) for s in stages))

    def consent(self, channel: Token, purpose: Token | None = None) -> Consent:
        return Consent(str(channel).lower(), _unquote(purpose) if purpose else DEFAULT_PURPOSE)

    def unsubscribed(self, channel: Token, purpose: Token | None = None) -> Consent:
        chosen = _unquote(purpose) if purpose else DEFAULT_PURPOSE
        return Consent(str(channel).lower(), chosen, WITHDRAWN)

    def score(self, model: Token, op: Token, value: Token) -> Score:
        return Score(str(model), str(op), float(value))

    def predicted(self, model: Token, op: Token, value: Token) -> Predicted:
        if str(model) not in PREDICTION_MODELS:
            raise _Misplaced(model, _unknown_prediction(str(model)))
        return Predicted(str(model), str(op), float(value))

    def rfm(self, group: Token) -> Rfm:
        return Rfm((_unquote(group),))

    def rfm_in(self, *groups: Token) -> Rfm:
        return Rfm(tuple(_unquote(g) for g in groups))

    def behaviour(self, event: tuple[EventFilter, bool], *rest: Any) -> Behaviour:
        found, none = event
        count: tuple[str, int] = (">=", 1)
        window = Window()
        for part in rest:
            if isinstance(part, Window):
                window = part
            else:
                count = part
        if none:
            count = ("=", 0)
        return Behaviour(found, count[0], count[1], window)

    def purchased(self) -> tuple[EventFilter, bool]:
        return EventFilter(PURCHASE), False

    def bought_category(self, category: Token) -> tuple[EventFilter, bool]:
        return EventFilter(PURCHASE, category=_unquote(category)), False

    def called(self, queue: Token | None = None) -> tuple[EventFilter, bool]:
        name = (
            None if queue is None else (_unquote(queue) if queue.type == "STRING" else str(queue))
        )
        return EventFilter(CALL, direction=INBOUND, queue=name), False

    def opened_email(self, no: Token | None = None) -> tuple[EventFilter, bool]:
        return EventFilter(EMAIL_OPENED), no is not None

    def waited(self, number: Token, unit: Token) -> tuple[EventFilter, bool]:
        return EventFilter(CALL, wait_over_s=_duration(number, unit)), False

    def did(self, type_: Token) -> tuple[EventFilter, bool]:
        return EventFilter(_unquote(type_)), False

    def compared(self, op: Token, number: Token) -> tuple[str, int]:
        return str(op), _whole(number)

    def at_least(self, number: Token) -> tuple[str, int]:
        return ">=", _whole(number)

    def at_most(self, number: Token) -> tuple[str, int]:
        return "<=", _whole(number)

    def none(self, *_: Token) -> tuple[str, int]:
        return "=", 0

    def last(self, number: Token, unit: Token) -> Window:
        return Window(seconds=_duration(number, unit))

    def this(self, period: Token) -> Window:
        return Window(period=str(period).lower())

    def ever(self) -> Window:
        return Window()


def _whole(number: Token) -> int:
    if "." in str(number):
        raise _Misplaced(number, f"a count is a whole number, not {number}")
    return int(number)


def _flat(rule: Rule, kind: type[AllOf] | type[AnyOf]) -> tuple[Rule, ...]:
    return rule.items if isinstance(rule, kind) else (rule,)


# --- checks -------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


def check(rule: Rule, *, name: str = "rule") -> None:
    """What the grammar cannot say: numbers where numbers belong, sane counts and windows."""
    for problem in _problems(rule, 0):
        raise RuleError(f"segment {name!r}: {problem}")


def _problems(rule: Rule, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        yield f"the rule nests deeper than {MAX_DEPTH} levels"
        return
    if isinstance(rule, AllOf | AnyOf):
        if not rule.items:
            yield "an empty 'and' or 'or'"
        for item in rule.items:
            yield from _problems(item, depth + 1)
    elif isinstance(rule, Not):
        yield from _problems(rule.item, depth + 1)
    elif isinstance(rule, Trait):
        yield from _trait_problems(rule)
    elif isinstance(rule, Stage | Score | Consent):
        yield from _name_problems(rule)
    elif isinstance(rule, Predicted):
        if rule.model not in PREDICTION_MODELS:
            yield _unknown_prediction(rule.model)
        if rule.op not in COUNT_OPERATORS:
            yield f"unknown operator {rule.op!r}"
    elif isinstance(rule, Rfm):
        for group in rule.groups:
            if group not in RFM_GROUPS:
                yield f"no RFM group named {group!r} (there are: {', '.join(RFM_GROUPS)})"
    elif isinstance(rule, Behaviour):
        if rule.count < 0:
            yield "a count cannot be negative"
        if rule.window.seconds is not None and rule.window.seconds <= 0:
            yield "a window must be longer than zero"
        if rule.window.period is not None and rule.window.period not in PERIODS:
            yield f"unknown period {rule.window.period!r}; there are: {', '.join(PERIODS)}"


def _unknown_prediction(model: str) -> str:
    return f"no predictive model named {model!r} (there are: {', '.join(PREDICTION_MODELS)})"


def _name_problems(rule: Stage | Score | Consent) -> Iterator[str]:
    if isinstance(rule, Stage):
        named = [("stage", stage) for stage in rule.stages]
    elif isinstance(rule, Score):
        named = [("score model", rule.model)]
    else:
        named = [("channel", rule.channel)]
    for kind, value in named:
        if not _SLUG.match(value):
            yield f"{value!r} is not a {kind} name"


def _trait_problems(rule: Trait) -> Iterator[str]:
    if rule.trait not in TRAITS:
        yield f"unknown trait {rule.trait!r}; there are: {', '.join(TRAITS)}"
    if rule.op not in OPERATORS:
        yield f"unknown operator {rule.op!r}"
    if not rule.values:
        yield f"{rule.trait} in (): no values"
    numeric = rule.trait in NUMERIC_TRAITS
    for value in rule.values:
        if numeric and not isinstance(value, int | float):
            yield f"{rule.trait} is a number, not {value!r}"
        if not numeric and isinstance(value, int | float):
            yield f'{rule.trait} is text: write "{_number_text(value)}"'
    if not numeric and rule.op in (">", "<", ">=", "<="):
        yield f"{rule.trait} is text: compare it with =, != or in"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- the JSON form ------------------------------------------------------------------------------


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """The JSON form of a rule (docs/segments.md); `rule_from_json` reads it back."""
    if isinstance(rule, AllOf):
        return {"and": [rule_to_json(item) for item in rule.items]}
    if isinstance(rule, AnyOf):
        return {"or": [rule_to_json(item) for item in rule.items]}
    if isinstance(rule, Not):
        return {"not": rule_to_json(rule.item)}
    if isinstance(rule, Trait):
        value: Any = list(rule.values) if rule.op == "in" else rule.values[0]
        return {"trait": rule.trait, "op": rule.op, "value": value}
    if isinstance(rule, Stage):
        return {"stage": list(rule.stages)}
    if isinstance(rule, Rfm):
        return {"rfm": list(rule.groups)}
    if isinstance(rule, Consent):
        return {"consent": rule.channel, "purpose": rule.purpose, "status": rule.status}
    if isinstance(rule, Score):
        return {"score": rule.model, "op": rule.op, "value": rule.value}
    if isinstance(rule, Predicted):
        return {"predicted": rule.model, "op": rule.op, "value": rule.value}
    event = {k: v for k, v in _event_fields(rule.event).items() if v is not None}
    window: dict[str, Any] = {}
    if rule.window.seconds is not None:
        window = {"last_seconds": rule.window.seconds}
    elif rule.window.period is not None:
        window = {"this": rule.window.period}
    return {"event": event, "op": rule.op, "count": rule.count, "window": window}


def _event_fields(event: EventFilter) -> dict[str, Any]:
    return {
        "type": event.type,
        "direction": event.direction,
        "queue": event.queue,
        "category": event.category,
        "wait_over_s": event.wait_over_s,
    }


def rule_from_json(document: Any, *, name: str = "rule") -> Rule:
    """A rule from its JSON form; RuleError names the rule and the path of the bad part."""
    try:
        rule = _from_json(document, "$", 0)
    except _BadJson as error:
        raise RuleError(f"segment {name!r}: {error.path}: {error}") from None
    check(rule, name=name)
    return rule


class _BadJson(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _from_json(doc: Any, path: str, depth: int) -> Rule:
    if depth > MAX_DEPTH:
        raise _BadJson(path, f"the rule nests deeper than {MAX_DEPTH} levels")
    if not isinstance(doc, Mapping):
        raise _BadJson(path, "expected an object")
    for key in ("and", "or"):
        if key in doc:
            items = doc[key]
            if not isinstance(items, list) or not items:
                raise _BadJson(f"{path}.{key}", "expected a non-empty list")
            built = tuple(
                _from_json(x, f"{path}.{key}[{i}]", depth + 1) for i, x in enumerate(items)
            )
            return AllOf(built) if key == "and" else AnyOf(built)
    if "not" in doc:
        return Not(_from_json(doc["not"], f"{path}.not", depth + 1))
    if "trait" in doc:
        return _trait_json(doc, path)
    if "stage" in doc:
        stages = doc["stage"]
        stages = [stages] if isinstance(stages, str) else stages
        return Stage(tuple(_text(s, f"{path}.stage") for s in _list(stages, f"{path}.stage")))
    if "consent" in doc:
        purpose = doc.get("purpose", DEFAULT_PURPOSE)
        status = _op(doc.get("status", GRANTED), f"{path}.status", (GRANTED, WITHDRAWN))
        channel = _text(doc["consent"], f"{path}.consent")
        return Consent(channel, _text(purpose, f"{path}.purpose"), status)
    if "score" in doc:
        op = _op(doc.get("op"), f"{path}.op", COUNT_OPERATORS)
        return Score(
            _text(doc["score"], f"{path}.score"), op, _number(doc.get("value"), f"{path}.value")
        )
    if "predicted" in doc:
        model = _text(doc["predicted"], f"{path}.predicted")
        if model not in PREDICTION_MODELS:
            raise _BadJson(f"{path}.predicted", _unknown_prediction(model))
        op = _op(doc.get("op"), f"{path}.op", COUNT_OPERATORS)
        return Predicted(model, op, _number(doc.get("value"), f"{path}.value"))
    if "rfm" in doc:
        groups = doc["rfm"]
        groups = [groups] if isinstance(groups, str) else groups
        return Rfm(tuple(_text(g, f"{path}.rfm") for g in _list(groups, f"{path}.rfm")))
    if "event" in doc:
        return _behaviour_json(doc, path)
    raise _BadJson(
        path, "expected one of: and, or, not, trait, stage, consent, score, predicted, rfm, event"
    )


def _trait_json(doc: Mapping[str, Any], path: str) -> Trait:
    op = _op(doc.get("op", "="), f"{path}.op", OPERATORS)
    raw = doc.get("value")
    values: list[str | float] = []
    for i, value in enumerate(_list(raw, f"{path}.value") if op == "in" else [raw]):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _BadJson(f"{path}.value[{i}]", "expected a string or a number")
        values.append(value if isinstance(value, str) else float(value))
    return Trait(_text(doc["trait"], f"{path}.trait"), op, tuple(values))


def _behaviour_json(doc: Mapping[str, Any], path: str) -> Behaviour:
    event = doc["event"]
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        raise _BadJson(f"{path}.event", "expected an object with a type")
    unknown = set(event) - {"type", "direction", "queue", "category", "wait_over_s"}
    if unknown:
        raise _BadJson(f"{path}.event", f"unknown field {sorted(unknown)[0]!r}")
    wait = event.get("wait_over_s")
    found = EventFilter(
        event["type"],
        _optional_text(event.get("direction"), f"{path}.event.direction"),
        _optional_text(event.get("queue"), f"{path}.event.queue"),
        _optional_text(event.get("category"), f"{path}.event.category"),
        None if wait is None else _number(wait, f"{path}.event.wait_over_s"),
    )
    count = doc.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int):
        raise _BadJson(f"{path}.count", "expected a whole number")
    return Behaviour(
        found,
        _op(doc.get("op", ">="), f"{path}.op", COUNT_OPERATORS),
        count,
        _window_json(doc.get("window") or {}, f"{path}.window"),
    )


def _window_json(doc: Any, path: str) -> Window:
    if not isinstance(doc, Mapping):
        raise _BadJson(path, "expected an object")
    if "last_seconds" in doc:
        return Window(seconds=_number(doc["last_seconds"], f"{path}.last_seconds"))
    if "last_days" in doc:
        return Window(seconds=_number(doc["last_days"], f"{path}.last_days") * 86_400)
    if "this" in doc:
        period = _text(doc["this"], f"{path}.this")
        if period not in PERIODS:
            raise _BadJson(f"{path}.this", f"expected one of: {', '.join(PERIODS)}")
        return Window(period=period)
    if doc:
        raise _BadJson(path, "expected last_seconds, last_days or this (or {} for ever)")
    return Window()


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _BadJson(path, "expected a non-empty list")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _BadJson(path, "expected a string")
    return value


def _optional_text(value: Any, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadJson(path, "expected a number")
    return float(value)


def _op(value: Any, path: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise _BadJson(path, f"expected one of: {', '.join(allowed)}")
    return str(value)


# --- definitions --------------------------------------------------------------------------------

RuleSource = Literal["text", "json"]


@dataclass(frozen=True, slots=True)
class SegmentDefinition:
    """A segment as saved: its name, the rule as written (text, or None for a JSON-only rule),
    and the rule's tree."""

    name: str
    text: str | None
    rule: Rule


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise RuleError(f"a segment's name has 1 to {MAX_NAME_LENGTH} characters")
    return name


def define(name: str, rule: str | Mapping[str, Any]) -> SegmentDefinition:
    """A definition from the rule language (a string) or the JSON form (an object)."""
    name = check_name(name)
    if isinstance(rule, str):
        return SegmentDefinition(name, rule, parse_rule(rule, name=name))
    return SegmentDefinition(name, None, rule_from_json(rule, name=name))
