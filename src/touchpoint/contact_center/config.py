"""The contact center's configuration: queues, agents and routing rules, from one TOML file (or
the same document as JSON over the API), validated as a whole — every mistake reported at once,
with the line it is on in the file — and applied in one transaction, or not at all.

```toml
[center]
lease_s = 15              # an offer not accepted in time goes back to the head of the line
default_handle_s = 240    # seconds per contact for wait estimates, until there is history

[queues.sales]
channels = ["phone", "chat"]
skills = { sales = 3 }    # required skill -> least level (1-10)
language_match = true     # only agents speaking the contact's language
priority = 5              # higher is served first, across every queue an agent serves
target = "80/20"          # service level: 80% answered within 20 s
wrapup_s = 30             # after each contact, no offer from any queue for this long
strategy = "longest-idle-agent"
relax = [{ after_s = 60, min_level = 1 }]   # after 60 s of waiting, level 1 will do

[agents.ana]
name = "Ana Souza"
user = "ana"              # the Touchpoint user who signs in as this agent (optional)
team = "sales"
queues = ["sales", "support"]
skills = { sales = 7, support = 4 }
languages = ["en", "pt"]
capacity = { phone = 1, chat = 3, email = 5 }   # 1 call, or 3 chats, or 5 emails, or a mix

[queues.support]
channels = ["phone", "email"]
calendar = "office"       # business hours: closed, it takes no contacts and calls no one back

[calendars.office]        # see domain.calendar for every field
time_zone = "Europe/Paris"
hours.weekdays = ["08:00-12:00", "13:00-18:00"]
holidays_country = "FR"

[[rules]]                 # lifecycle-aware routing, in order
name = "retention team for at-risk customers"
stages = ["at_risk", "churned"]
team = "retention"
team_for_s = 60           # then anyone in the queue
priority = 10

[[rules]]                 # a predictive score (touchpoint model train churn), once scored
name = "likely to churn first"
predicted = "churn"       # or "conversion"
predicted_above = 0.6
priority = 5

[[sla]]                   # tickets' SLA targets, in the queue's business time (domain.sla)
queue = "support"
priority = ["high", "urgent"]   # omitted: every priority; one policy per queue and priority
first_response = "1h"     # spans: 30m, 4h, 2d (a day is 24 hours of open time)
next_response = "4h"
resolution = "2d"
warn_at = 0.8             # a warning at 80% of each target (omitted: none)
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from touchpoint.domain.calendar import BusinessCalendar, CalendarError, parse_calendar
from touchpoint.domain.moments import parse_span
from touchpoint.domain.predictions import TARGETS
from touchpoint.domain.routing import (
    STRATEGIES,
    STRATEGY_ALIASES,
    AgentView,
    QueueSpec,
    Relaxation,
    RoutingRule,
)
from touchpoint.domain.sla import SlaPolicy
from touchpoint.domain.tickets import PRIORITIES
from touchpoint.domain.vocabulary import CHANNELS
from touchpoint.errors import ValidationError as InputError

_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"
Level = Annotated[int, Field(ge=1, le=10)]
Seconds = Annotated[float, Field(ge=0, le=86_400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CenterIn(_Strict):
    lease_s: Annotated[float, Field(ge=1, le=600)] = 15
    default_handle_s: Annotated[float, Field(gt=0, le=86_400)] = 240


class RelaxIn(_Strict):
    after_s: Seconds
    min_level: Level


class QueueIn(_Strict):
    name: str | None = None
    channels: Annotated[list[str], Field(min_length=1)]
    skills: dict[str, Level] = Field(default_factory=dict)
    language_match: bool = False
    priority: Annotated[int, Field(ge=-100, le=100)] = 0
    target: str = "80/20"
    wrapup_s: Seconds = 0
    strategy: str = "longest-idle-agent"
    relax: list[RelaxIn] = Field(default_factory=list)
    calendar: str | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r}; allowed: {', '.join(CHANNELS)}")
        return value

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        if value not in STRATEGIES and value not in STRATEGY_ALIASES:
            raise ValueError(f"unknown strategy {value!r}; allowed: {', '.join(STRATEGIES)}")
        return STRATEGY_ALIASES.get(value, value)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        target_parts(value)
        return value


class AgentIn(_Strict):
    name: str | None = None
    user: str | None = None
    team: str | None = None
    queues: Annotated[list[str], Field(min_length=1)]
    skills: dict[str, Level] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=list)
    capacity: dict[str, Annotated[int, Field(ge=1, le=50)]] = Field(
        default_factory=lambda: {"phone": 1}
    )

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = [c for c in value if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r}; allowed: {', '.join(CHANNELS)}")
        return value


class RuleIn(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    stages: list[str] = Field(default_factory=list)
    trait: str | None = None
    open_ticket: bool = False
    last_agent_within_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    predicted: str | None = None
    predicted_above: Annotated[float, Field(ge=0, le=1)] = 0.5
    queues: list[str] = Field(default_factory=list)
    priority: Annotated[int, Field(ge=-100, le=100)] = 0
    team: str | None = None
    team_for_s: Seconds | None = None
    prefer_agent_s: Seconds | None = None

    @field_validator("predicted")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None and value not in TARGETS:
            raise ValueError(f"no predictive model {value!r}; one of {', '.join(TARGETS)}")
        return value


class SlaIn(_Strict):
    queue: str
    priority: list[str] = Field(default_factory=list)
    first_response: str | None = None
    next_response: str | None = None
    resolution: str | None = None
    warn_at: Annotated[float, Field(gt=0, lt=1)] | None = None

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PRIORITIES]
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r}; allowed: {', '.join(PRIORITIES)}")
        return value

    @field_validator("first_response", "next_response", "resolution")
    @classmethod
    def _span(cls, value: str | None) -> str | None:
        if value is not None:
            sla_seconds(value)
        return value


class CenterConfigIn(_Strict):
    center: CenterIn = Field(default_factory=CenterIn)
    calendars: dict[Annotated[str, Field(pattern=_ID)], dict[str, Any]] = Field(
        default_factory=dict
    )
    queues: dict[Annotated[str, Field(pattern=_ID)], QueueIn] = Field(min_length=1)
    agents: dict[Annotated[str, Field(pattern=_ID)], AgentIn] = Field(default_factory=dict)
    rules: list[RuleIn] = Field(default_factory=list)
    sla: list[SlaIn] = Field(default_factory=list)


def sla_seconds(text: str) -> float:
    """An SLA target written `30m`, `4h`, `2d` (business time: a day is 24 open hours)."""
    span = parse_span(text)
    if span is None or span.total_seconds() <= 0:
        raise ValueError(f"{text!r} is not a span like 30m, 4h or 2d")
    return span.total_seconds()


def target_parts(text: str) -> tuple[float, float]:
    """`80/20` -> (0.8, 20.0): the share to answer within so many seconds."""
    found = re.fullmatch(r"\s*(\d{1,3}(?:\.\d+)?)\s*%?\s*/\s*(\d{1,5}(?:\.\d+)?)\s*s?\s*", text)
    if not found or not 0 < float(found[1]) <= 100:
        raise ValueError(f"target {text!r} is not PERCENT/SECONDS, e.g. 80/20")
    return float(found[1]) / 100, float(found[2])


@dataclass(frozen=True)
class CenterConfig:
    """A validated configuration, in the terms routing works with."""

    document: dict[str, Any]  # as applied (JSON), to store and show
    lease_s: float
    default_handle_s: float
    queues: dict[str, QueueSpec]
    targets: dict[str, tuple[float, float]]
    agents: dict[str, AgentIn]
    agent_order: dict[str, int]
    rules: tuple[RoutingRule, ...]
    calendars: dict[str, BusinessCalendar]  # queue -> its business hours (absent: always open)
    sla: tuple[SlaPolicy, ...] = ()  # tickets' targets per queue and priority

    def agent_view(self, agent_id: str, **state: Any) -> AgentView:
        spec = self.agents[agent_id]
        return AgentView(
            id=agent_id,
            order=self.agent_order[agent_id],
            queues=frozenset(spec.queues),
            skills=dict(spec.skills),
            languages=frozenset(spec.languages),
            team=spec.team,
            capacity=dict(spec.capacity),
            **state,
        )


def parse_toml(text: str) -> CenterConfig:
    """A configuration from TOML text; every mistake at once, each with its line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}") from None
    return validate(raw, text)


def validate(raw: object, text: str | None = None) -> CenterConfig:
    """A configuration from a document (TOML's tables or the API's JSON); every mistake at once,
    each with its place (`queues.sales.strategy`) and, from a file, its line."""
    problems: list[str] = []
    try:
        parsed = CenterConfigIn.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(_place(loc, text) + f": {_message(error)}")
        raise InputError(_summary(problems)) from None
    problems = [_place(loc, text) + f": {msg}" for loc, msg in _cross_checks(parsed)]
    calendars: dict[str, BusinessCalendar] = {}
    for name, table in parsed.calendars.items():
        try:
            calendars[name] = parse_calendar(table, where=f"calendars.{name}")
        except CalendarError as exc:  # its message starts with the field: calendars.x.hours.mon[1]
            path = str(exc).split(":", 1)[0]
            loc = tuple(re.sub(r"\[\d+\]", "", path).split("."))
            line = _line_of(loc, text) if text is not None else None
            problems.append((f"line {line}: " if line else "") + str(exc))
    if problems:
        raise InputError(_summary(problems))
    return _built(parsed, calendars)


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _summary(problems: Sequence[str]) -> str:
    head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the configuration"
    return head + "; nothing was changed:\n" + "\n".join(f"  {p}" for p in problems)


def _cross_checks(config: CenterConfigIn) -> list[tuple[tuple[Any, ...], str]]:
    found: list[tuple[tuple[Any, ...], str]] = []
    teams = {a.team for a in config.agents.values() if a.team}
    users: dict[str, str] = {}
    for agent_id, agent in config.agents.items():
        for i, queue in enumerate(agent.queues):
            if queue not in config.queues:
                found.append((("agents", agent_id, "queues", i), f"no queue named {queue!r}"))
        if agent.user:
            if agent.user in users:
                found.append(
                    (
                        ("agents", agent_id, "user"),
                        f"user {agent.user!r} is also {users[agent.user]}",
                    )
                )
            users[agent.user] = agent_id
        for queue_id in agent.queues:
            queue = config.queues.get(queue_id)
            if queue is not None and not set(queue.channels) & set(agent.capacity):
                found.append(
                    (
                        ("agents", agent_id, "capacity"),
                        f"takes none of queue {queue_id}'s channels ({', '.join(queue.channels)})",
                    )
                )
    for queue_id, queue in config.queues.items():
        if queue.calendar is not None and queue.calendar not in config.calendars:
            found.append(
                (("queues", queue_id, "calendar"), f"no calendar named {queue.calendar!r}")
            )
    for i, rule in enumerate(config.rules):
        for j, queue in enumerate(rule.queues):
            if queue not in config.queues:
                found.append((("rules", i, "queues", j), f"no queue named {queue!r}"))
        if rule.team is not None and rule.team not in teams:
            found.append((("rules", i, "team"), f"no agent is in team {rule.team!r}"))
        if rule.prefer_agent_s is not None and not (
            rule.open_ticket or rule.last_agent_within_days
        ):
            found.append(
                (
                    ("rules", i, "prefer_agent_s"),
                    "prefers whom? set open_ticket or last_agent_within_days",
                )
            )
    found.extend(_sla_checks(config))
    return found


def _sla_checks(config: CenterConfigIn) -> list[tuple[tuple[Any, ...], str]]:
    """Each [[sla]] names a queue and some target, and no queue and priority is covered twice."""
    found: list[tuple[tuple[Any, ...], str]] = []
    covered: dict[tuple[str, str], int] = {}
    for i, policy in enumerate(config.sla):
        if policy.queue not in config.queues:
            found.append((("sla", i, "queue"), f"no queue named {policy.queue!r}"))
        if (policy.first_response, policy.next_response, policy.resolution) == (None,) * 3:
            found.append(
                (("sla", i), "sets no target: give first_response, next_response or resolution")
            )
        for priority in policy.priority or PRIORITIES:
            earlier = covered.setdefault((policy.queue, priority), i)
            if earlier != i:
                found.append(
                    (
                        ("sla", i, "priority"),
                        f"queue {policy.queue} priority {priority} is already covered by sla[{earlier}]",
                    )
                )
                break
    return found


def _sla(policy: SlaIn) -> SlaPolicy:
    def seconds(text: str | None) -> float | None:
        return sla_seconds(text) if text is not None else None

    return SlaPolicy(
        queue=policy.queue,
        priorities=tuple(policy.priority),
        first_response_s=seconds(policy.first_response),
        next_response_s=seconds(policy.next_response),
        resolution_s=seconds(policy.resolution),
        warn_at=policy.warn_at,
    )


def _built(config: CenterConfigIn, calendars: dict[str, BusinessCalendar]) -> CenterConfig:
    queues = {
        queue_id: QueueSpec(
            id=queue_id,
            channels=tuple(q.channels),
            skills=dict(q.skills),
            priority=q.priority,
            strategy=q.strategy,
            language_match=q.language_match,
            wrapup_s=q.wrapup_s,
            relaxations=tuple(Relaxation(r.after_s, r.min_level) for r in q.relax),
        )
        for queue_id, q in config.queues.items()
    }
    rules = tuple(
        RoutingRule(
            name=r.name,
            stages=tuple(r.stages),
            trait=r.trait,
            open_ticket=r.open_ticket,
            last_agent_within_days=r.last_agent_within_days,
            predicted=r.predicted,
            predicted_above=r.predicted_above,
            queues=tuple(r.queues),
            priority=r.priority,
            team=r.team,
            team_for_s=r.team_for_s,
            prefer_agent_s=r.prefer_agent_s,
        )
        for r in config.rules
    )
    return CenterConfig(
        document=config.model_dump(mode="json"),
        lease_s=config.center.lease_s,
        default_handle_s=config.center.default_handle_s,
        queues=queues,
        targets={qid: target_parts(q.target) for qid, q in config.queues.items()},
        agents=dict(config.agents),
        agent_order={agent_id: i for i, agent_id in enumerate(config.agents)},
        rules=rules,
        calendars={
            qid: calendars[q.calendar] for qid, q in config.queues.items() if q.calendar is not None
        },
        sla=tuple(_sla(policy) for policy in config.sla),
    )


# --- where in the file ------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("?)([A-Za-z0-9_.-]+)\1\s*=')


def _place(loc: tuple[Any, ...], text: str | None) -> str:
    dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
    dotted = dotted.replace(".[", "[")
    line = _line_of(loc, text) if text is not None else None
    return f"line {line}: {dotted}" if line else dotted


def _line_of(loc: tuple[Any, ...], text: str) -> int | None:
    """The line a place is defined on: its table header ([queues.sales] or the n-th [[rules]]),
    then the key inside it; the nearest line found when the exact one is not."""
    lines = text.splitlines()
    names = [p for p in loc if isinstance(p, str)]
    best: int | None = None
    # An array of tables: [[rules]] n-th.
    if len(loc) >= 2 and isinstance(loc[1], int):
        count = -1
        for number, line in enumerate(lines, 1):
            header = _HEADER.match(line)
            if header and line.strip().startswith("[[") and header[1] == loc[0]:
                count += 1
                if count == loc[1]:
                    best = number
                    break
        if best is None:
            return None
        return _key_after(lines, best, [p for p in loc[2:] if isinstance(p, str)]) or best
    # A table: the longest header that is a prefix of the place.
    for size in range(len(names), 0, -1):
        wanted = ".".join(names[:size])
        for number, line in enumerate(lines, 1):
            header = _HEADER.match(line)
            if header and header[1].replace('"', "") == wanted:
                return _key_after(lines, number, names[size:]) or number
    return best


def _key_after(lines: list[str], header_line: int, keys: list[str]) -> int | None:
    if not keys:
        return None
    for number in range(header_line + 1, len(lines) + 1):
        line = lines[number - 1]
        if _HEADER.match(line):
            return None
        key = _KEY.match(line)
        if key and (key[2] == keys[0] or key[2] == ".".join(keys[:2])):
            return number
    return None
