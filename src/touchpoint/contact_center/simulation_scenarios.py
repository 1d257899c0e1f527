"""What-ifs for the simulation: a TOML file of scenarios (or the same as flags), each simulated
beside the baseline — the configuration and the history as they are. A mistake is named with
its line.

```toml
[[scenario]]
name = "3 fewer agents 14:00-18:00"
fewer_agents = [{ count = 3, from = "14:00", to = "18:00" }]   # queue = "support" to choose

[[scenario]]
name = "at-risk customers first"
at_risk_priority = 20          # a routing rule: at-risk customers' contacts +20 priority

[[scenario]]
name = "a Spanish-speaking agent"
add_agents = [{ count = 1, like = "ana", languages = ["en", "es"] }]
languages = { es = 0.1 }       # share of contacts in a language (language-matched queues)

[[scenario]]
name = "AHT +20 s, volume x1.2"
aht_delta_s = 20
volume = 1.2
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from touchpoint.analytics.churn import AT_RISK
from touchpoint.contact_center.config import AgentIn
from touchpoint.contact_center.simulation_inputs import ModelInput, Shift
from touchpoint.domain.routing import RoutingRule
from touchpoint.errors import ValidationError as InputError

MAX_SCENARIOS = 8
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def clock_seconds(text: str) -> float:
    """`14:30` -> seconds after midnight (24:00 is the end of the day)."""
    found = _CLOCK.fullmatch(text.strip())
    if not found or (found[1] == "24" and found[2] != "00"):
        raise ValueError(f"{text!r} is not a time of day like 14:00")
    return int(found[1]) * 3600 + int(found[2]) * 60.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FewerAgentsIn(_Strict):
    count: Annotated[int, Field(ge=1, le=10_000)]
    start: str = Field("00:00", alias="from")
    end: str = Field("24:00", alias="to")
    queue: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        clock_seconds(value)
        return value


class AddAgentsIn(_Strict):
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    like: str | None = None  # copy this agent's queues, skills, capacity and shift
    queue: str | None = None  # else the first agent serving this queue
    languages: list[str] | None = None
    start: str | None = Field(None, alias="from")  # else the copied agent's shift
    end: str | None = Field(None, alias="to")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            clock_seconds(value)
        return value


class ScenarioIn(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    volume: Annotated[float, Field(gt=0, le=100)] = 1.0
    aht_delta_s: Annotated[float, Field(ge=-3600, le=3600)] = 0.0
    at_risk_priority: Annotated[int, Field(ge=-100, le=100)] | None = None
    fewer_agents: list[FewerAgentsIn] = Field(default_factory=list)
    add_agents: list[AddAgentsIn] = Field(default_factory=list)
    languages: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: dict[str, float]) -> dict[str, float]:
        if sum(value.values()) > 1 + 1e-9:
            raise ValueError("the shares of languages add up to more than 1")
        return value


class ScenariosIn(_Strict):
    scenario: Annotated[list[ScenarioIn], Field(min_length=1, max_length=MAX_SCENARIOS)]


@dataclass(frozen=True)
class Scenario:
    """One what-if, as validated; `apply` turns the baseline's input into the scenario's."""

    spec: ScenarioIn

    @property
    def name(self) -> str:
        return self.spec.name

    def apply(self, base: ModelInput) -> ModelInput:
        return _applied(self.spec, base)


BASELINE = Scenario(ScenarioIn(name="baseline"))


def parse_scenarios(text: str) -> list[Scenario]:
    """Scenarios from TOML text; every mistake at once, each with its line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the scenario file is not valid TOML: {exc}") from None
    return scenarios_from(raw, text)


def scenarios_from(raw: object, text: str | None = None) -> list[Scenario]:
    """Scenarios from a document (TOML's tables or the API's JSON)."""
    try:
        parsed = ScenariosIn.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(loc, text) if text is not None else None
            where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
            where = where.replace(".[", "[")
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((f"line {line}: " if line else "") + f"{where}: {message}")
        head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the scenarios"
        raise InputError(head + ":\n" + "\n".join(f"  {p}" for p in problems)) from None
    return [Scenario(s) for s in parsed.scenario]


def check_against(scenarios: list[Scenario], base: ModelInput) -> None:
    """Names a scenario gives that the configuration does not have (queues, agents)."""
    problems = []
    for i, scenario in enumerate(scenarios):
        named = [c.queue for c in scenario.spec.fewer_agents]
        named += [c.queue for c in scenario.spec.add_agents]
        for queue in named:
            if queue is not None and queue not in base.config.queues:
                problems.append(f"scenario[{i}]: no queue named {queue!r}")
        for added in scenario.spec.add_agents:
            if added.like is not None and added.like not in base.config.agents:
                problems.append(f"scenario[{i}]: no agent named {added.like!r} to copy")
    if problems:
        raise InputError("; ".join(problems))


# --- applying a scenario -----------------------------------------------------------------------


def _applied(spec: ScenarioIn, base: ModelInput) -> ModelInput:
    model = base
    if spec.volume != 1.0 or spec.aht_delta_s or spec.languages:
        model = replace(model, demand={q: _demand(d, spec) for q, d in model.demand.items()})
    if spec.at_risk_priority is not None:
        rule = RoutingRule(
            name=f"what-if: at-risk customers +{spec.at_risk_priority}",
            stages=(AT_RISK,),
            priority=spec.at_risk_priority,
        )
        model = replace(model, config=replace(model.config, rules=(*model.config.rules, rule)))
    for fewer in spec.fewer_agents:
        model = _fewer(model, fewer)
    for n, added in enumerate(spec.add_agents):
        model = _added(model, added, n)
    return model


def _demand(demand: Any, spec: ScenarioIn) -> Any:
    return replace(
        demand,
        rates=tuple(r * spec.volume for r in demand.rates),
        handle={c: d.shifted(spec.aht_delta_s) for c, d in demand.handle.items()},
        languages=dict(spec.languages) or demand.languages,
    )


def _on_duty(shifts: tuple[Shift, ...], agent: str, start: float, end: float) -> bool:
    return any(s.agent == agent and s.start_s < end and s.end_s > start for s in shifts)


def _fewer(model: ModelInput, fewer: FewerAgentsIn) -> ModelInput:
    """`count` agents on duty in the window (serving the queue when one is named) are off duty
    for it: taken from the end of the configuration, one team after the other in turn, so that
    no team is emptied before the others lose anyone."""
    start, end = clock_seconds(fewer.start), clock_seconds(fewer.end)
    config = model.config
    teams: dict[str | None, list[str]] = {}
    for agent in sorted(config.agents, key=config.agent_order.__getitem__, reverse=True):
        if (fewer.queue is None or fewer.queue in config.agents[agent].queues) and _on_duty(
            model.shifts, agent, start, end
        ):
            teams.setdefault(config.agents[agent].team, []).append(agent)
    turns = [
        team[i]
        for i in range(max(map(len, teams.values()), default=0))
        for team in teams.values()
        if i < len(team)
    ]
    chosen = set(turns[: fewer.count])
    shifts: list[Shift] = []
    for shift in model.shifts:
        if shift.agent not in chosen:
            shifts.append(shift)
            continue
        if shift.start_s < start:
            shifts.append(Shift(shift.agent, shift.start_s, min(shift.end_s, start)))
        if shift.end_s > end:
            shifts.append(Shift(shift.agent, max(shift.start_s, end), shift.end_s))
    return replace(model, shifts=tuple(shifts))


def _added(model: ModelInput, added: AddAgentsIn, n: int) -> ModelInput:
    config = model.config
    like = added.like or next(
        (a for a in config.agents if added.queue is None or added.queue in config.agents[a].queues),
        None,
    )
    if like is None:
        raise InputError(f"no agent serves queue {added.queue!r} to copy")
    template: AgentIn = config.agents[like]
    agents, order, shifts = dict(config.agents), dict(config.agent_order), list(model.shifts)
    for k in range(added.count):
        agent_id = f"what-if-{n}-{k}"
        update: dict[str, Any] = {"name": f"added like {like}"}
        if added.languages is not None:
            update["languages"] = list(added.languages)
        agents[agent_id] = template.model_copy(update=update)
        order[agent_id] = len(order)
        if added.start is not None or added.end is not None:
            start = clock_seconds(added.start or "00:00")
            shifts.append(Shift(agent_id, start, clock_seconds(added.end or "24:00")))
        else:
            shifts.extend(
                Shift(agent_id, s.start_s, s.end_s) for s in model.shifts if s.agent == like
            )
    config = replace(config, agents=agents, agent_order=order)
    return replace(model, config=config, shifts=tuple(shifts))


# --- where in the file -------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("?)([A-Za-z0-9_-]+)\1\s*=')


def _line_of(loc: tuple[Any, ...], text: str) -> int | None:
    """The line of `scenario[i].key…`: the i-th [[scenario]] header, then its key."""
    lines = text.splitlines()
    if len(loc) < 2 or loc[0] != "scenario" or not isinstance(loc[1], int):
        for number, line in enumerate(lines, 1):
            key = _KEY.match(line)
            if key and loc and key[2] == loc[0]:
                return number
        return None
    count, header = -1, None
    for number, line in enumerate(lines, 1):
        found = _HEADER.match(line)
        if found and line.strip().startswith("[[") and found[1] == "scenario":
            count += 1
            if count == loc[1]:
                header = number
                break
    if header is None:
        return None
    if len(loc) < 3:
        return header
    for number in range(header + 1, len(lines) + 1):
        line = lines[number - 1]
        if _HEADER.match(line):
            break
        key = _KEY.match(line)
        if key and key[2] == loc[2]:
            return number
    return header
