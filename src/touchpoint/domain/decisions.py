"""Next best action: what a chat widget or an agent's screen should do now for one visitor, from
rules as data (a TOML file of `[[rule]]` entries, tried in order; the first whose conditions all
hold fires). Pure: the facts about the visitor arrive as values; nothing here reads a database.

A rule's conditions (all optional; a rule with none always fires):
- `page`: a glob over the current page's path (`/pricing*`), case-insensitive;
- `views` and `within`: at least `views` page views matching `page` (this one included) in the
  last `within` (`10m`, `2h`, `1d`);
- `dwell_s`: on the current page for at least this long (since its last recorded view);
- `stages`: the customer's lifecycle stage is one of these;
- `known`: the visitor is an identified customer whose first name we hold (or is not);
- `queue` and `queue_state`: the queue is `available` (open, estimated wait at most the file's
  `long_wait_s`) or `unavailable` (closed, or a longer wait).
A message may say `{first_name}`; such a rule (and any with `known = true`) is *personal*: it is
never answered to a caller that may not see contact details.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

ACTIONS: Final = ("offer_chat", "offer_callback", "retention_offer", "greet", "show_message")
NO_ACTION: Final = "none"
# The interaction recorded when a decision is shown (type custom with this name): its rule and
# action in the properties, so those offered can be compared with those not, rule by rule.
DECISION_SHOWN: Final = "decision_shown"
QUEUE_STATES: Final = ("available", "unavailable")
DEFAULT_LONG_WAIT_S: Final = 120.0
RECORDED_WITHIN: Final = timedelta(seconds=30)
_RULE_KEYS: Final = (
    "name",
    "action",
    "message",
    "page",
    "views",
    "within",
    "dwell_s",
    "stages",
    "known",
    "queue",
    "queue_state",
)
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DecisionRulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and its line."""


@dataclass(frozen=True, slots=True)
class DecisionRule:
    name: str
    action: str
    message: str = ""
    page: str | None = None
    views: int | None = None
    within: timedelta | None = None
    dwell_s: float | None = None
    stages: tuple[str, ...] = ()
    known: bool | None = None
    queue: str | None = None
    queue_state: str | None = None
    line: int = 0

    @property
    def personal(self) -> bool:
        return self.known is True or "{first_name}" in self.message


@dataclass(frozen=True)
class DecisionRules:
    rules: tuple[DecisionRule, ...] = ()
    long_wait_s: float = DEFAULT_LONG_WAIT_S

    @property
    def history_window(self) -> timedelta:
        """How far back page views matter to any rule (what the hot path reads, no further)."""
        windows = [r.within for r in self.rules if r.within is not None]
        return max(windows, default=timedelta(hours=1))

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.queue for r in self.rules if r.queue))


@dataclass(frozen=True, slots=True)
class QueueNow:
    open: bool
    estimated_wait_s: float


@dataclass(frozen=True, slots=True)
class PageView:
    path: str
    at: datetime


@dataclass(frozen=True)
class Visitor:
    """What is known about the visitor now. `views` are their recent page views, newest first."""

    now: datetime
    page: str | None = None
    customer_id: str | None = None
    first_name: str | None = None
    stage: str | None = None
    views: Sequence[PageView] = ()
    queues: Mapping[str, QueueNow] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    rule: str | None = None
    message: str = ""
    reasons: tuple[str, ...] = ()


def decide(rules: DecisionRules, visitor: Visitor, *, personal: bool = True) -> Decision:
    """The first rule whose conditions all hold, with why; `none` when no rule fires.
    `personal=False` skips personal rules (the caller may not learn a name)."""
    for rule in rules.rules:
        if rule.personal and not personal:
            continue
        reasons = _reasons(rule, visitor, rules.long_wait_s)
        if reasons is not None:
            message = rule.message.replace("{first_name}", visitor.first_name or "")
            return Decision(rule.action, rule.name, message, tuple(reasons))
    return Decision(NO_ACTION)


def _reasons(rule: DecisionRule, v: Visitor, long_wait_s: float) -> list[str] | None:
    """Why each condition holds, or None as soon as one does not."""
    why: list[str] = []
    path = page_path(v.page)
    if rule.page is not None:
        if path is None or not _matches(path, rule.page):
            return None
        why.append(f"on {path} (matches {rule.page})")
    if rule.views is not None:
        since = v.now - (rule.within or timedelta(hours=1))
        seen = [x for x in v.views if x.at >= since and _matches(x.path, rule.page or "*")]
        current = path is not None and _matches(path, rule.page or "*")
        count = len(seen) + (1 if current and not _recorded(path, v) else 0)
        if count < rule.views:
            return None
        why.append(f"{count} views of {rule.page or 'pages'} within {_text(rule.within)}")
    if rule.dwell_s is not None:
        last = next((x for x in v.views if x.path == path), None)
        dwell = (v.now - last.at).total_seconds() if last else 0.0
        if dwell < rule.dwell_s:
            return None
        why.append(f"on this page for {dwell:.0f} s (at least {rule.dwell_s:g})")
    if rule.stages:
        if v.stage not in rule.stages:
            return None
        why.append(f"stage {v.stage}")
    if rule.known is not None:
        if bool(v.first_name) != rule.known:
            return None
        why.append("a known customer" if rule.known else "not a known customer")
    if rule.queue is not None:
        state = queue_state(v.queues.get(rule.queue), long_wait_s)
        if rule.queue_state is not None and state != rule.queue_state:
            return None
        why.append(f"queue {rule.queue} {state}")
    return why


def _recorded(path: str | None, v: Visitor) -> bool:
    """Whether the page being decided on is already in the views: the newest is of it and at
    most RECORDED_WITHIN old (a widget asks right after analytics.js sent the page view)."""
    newest = v.views[0] if v.views else None
    return newest is not None and newest.path == path and v.now - newest.at <= RECORDED_WITHIN


def queue_state(queue: QueueNow | None, long_wait_s: float) -> str:
    """available: open with an estimated wait of at most `long_wait_s`; else unavailable (an
    unknown queue is unavailable: no one would answer)."""
    if queue is None or not queue.open or queue.estimated_wait_s > long_wait_s:
        return "unavailable"
    return "available"


def page_path(page: str | None) -> str | None:
    """The path of a page given as a URL or a path ('https://x.com/pricing?a=1' → '/pricing')."""
    if not page:
        return None
    text = page.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
        text = "/" + text.split("/", 1)[1] if "/" in text else "/"
    return text.split("?", 1)[0].split("#", 1)[0] or "/"


def _matches(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path.casefold(), pattern.casefold())


def _text(window: timedelta | None) -> str:
    seconds = int((window or timedelta(hours=1)).total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


# --- the rules file ---------------------------------------------------------------------------


def parse_rules(text: str, where: str) -> DecisionRules:
    """Rules from TOML text; DecisionRulesError naming `where`, the rule and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DecisionRulesError(f"{where}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"rule", "long_wait_s"})
    if unknown:
        raise DecisionRulesError(
            f"{where}: unknown top-level key(s) {', '.join(unknown)}; allowed: rule, long_wait_s"
        )
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise DecisionRulesError(f"{where}: write each rule as a [[rule]] table")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[rule]]"]
    rules = [
        _rule(entry, where, lines[i] if i < len(lines) else 0) for i, entry in enumerate(entries)
    ]
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise DecisionRulesError(f"{where}: line {rule.line}: rule {rule.name!r} named twice")
        seen.add(rule.name)
    long_wait = data.get("long_wait_s", DEFAULT_LONG_WAIT_S)
    if not isinstance(long_wait, int | float) or isinstance(long_wait, bool) or long_wait < 0:
        raise DecisionRulesError(f"{where}: long_wait_s must be a number of seconds, at least 0")
    return DecisionRules(tuple(rules), float(long_wait))


def _rule(entry: Any, where: str, line: int) -> DecisionRule:
    def problem(what: str) -> DecisionRulesError:
        name = entry.get("name") if isinstance(entry, dict) else None
        named = f" rule {name!r}" if isinstance(name, str) else ""
        return DecisionRulesError(f"{where}: line {line}:{named} {what}")

    if not isinstance(entry, dict):
        raise problem("must be a table")
    unknown = sorted(set(entry) - set(_RULE_KEYS))
    if unknown:
        raise problem(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_RULE_KEYS)}")
    name, action = entry.get("name"), entry.get("action")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,59}", name):
        raise problem("needs a `name`: lower-case letters, digits, _ or -")
    if action not in ACTIONS:
        raise problem(f"`action` must be one of {', '.join(ACTIONS)}; got {action!r}")
    return DecisionRule(
        name=name,
        action=action,
        message=_typed(entry, "message", str, problem) or "",
        page=_typed(entry, "page", str, problem),
        views=_positive(entry, "views", problem),
        within=_duration(entry.get("within"), problem),
        dwell_s=_positive(entry, "dwell_s", problem),
        stages=tuple(_stages(entry.get("stages", []), problem)),
        known=_typed(entry, "known", bool, problem),
        queue=_typed(entry, "queue", str, problem),
        queue_state=_queue_state(entry, problem),
        line=line,
    )


def _typed(entry: dict[str, Any], key: str, kind: type, problem: Any) -> Any:
    value = entry.get(key)
    if value is not None and not isinstance(value, kind):
        raise problem(f"`{key}` must be {kind.__name__}, got {type(value).__name__}")
    return value


def _positive(entry: dict[str, Any], key: str, problem: Any) -> Any:
    value = entry.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise problem(f"`{key}` must be a whole number, at least 1")
    return value


def _duration(value: Any, problem: Any) -> timedelta | None:
    if value is None:
        return None
    found = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not found or int(found.group(1)) == 0:
        raise problem(f"`within` must be a duration such as 10m, 2h or 1d; got {value!r}")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _stages(value: Any, problem: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise problem("`stages` must be a list of stage names")
    return value


def _queue_state(entry: dict[str, Any], problem: Any) -> str | None:
    state = entry.get("queue_state")
    if state is not None and state not in QUEUE_STATES:
        raise problem(f"`queue_state` must be one of {', '.join(QUEUE_STATES)}; got {state!r}")
    if state is not None and not entry.get("queue"):
        raise problem("`queue_state` needs the `queue` it speaks of")
    return state


# --- measuring them ---------------------------------------------------------------------------

NOT_SHOWN: Final = "(not shown)"


@dataclass(frozen=True, slots=True)
class RuleEffect:
    """Of the customers a rule was shown to (or, for NOT_SHOWN, visitors shown none), how many
    purchased within the window after it (after their first page view, for NOT_SHOWN)."""

    rule: str
    customers: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.customers if self.customers else None


def rule_effects(
    shown: Sequence[tuple[str, str, datetime]],
    visited: Mapping[str, datetime],
    purchases: Mapping[str, Sequence[datetime]],
    within: timedelta,
) -> list[RuleEffect]:
    """Conversion by rule: `shown` is (customer, rule, when); each customer counts once per rule,
    from their first showing. `visited` (customer → first page view) gives the NOT_SHOWN row:
    visitors shown no decision at all, from their first view — the comparison the rules beat or
    not."""
    first: dict[tuple[str, str], datetime] = {}
    for customer, rule, at in shown:
        key = (rule, customer)
        if key not in first or at < first[key]:
            first[key] = at
    by_rule: dict[str, list[bool]] = {}
    for (rule, customer), at in sorted(first.items()):
        by_rule.setdefault(rule, []).append(_bought(purchases.get(customer, ()), at, within))
    someone_shown = {customer for _rule, customer in first}
    others = [
        _bought(purchases.get(c, ()), at, within)
        for c, at in visited.items()
        if c not in someone_shown
    ]
    rows = [RuleEffect(rule, len(flags), sum(flags)) for rule, flags in sorted(by_rule.items())]
    return [*rows, RuleEffect(NOT_SHOWN, len(others), sum(others))]


def _bought(moments: Sequence[datetime], after: datetime, within: timedelta) -> bool:
    return any(after <= m <= after + within for m in moments)
