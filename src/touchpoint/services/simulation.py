"""Simulate a day of the contact center (issue 12) for every face: the configuration in force,
demand, handle times and patience fitted from the log's history, the baseline and each what-if
run `replications` times with the same random streams (common random numbers, so differences
between scenarios are the scenarios'), each figure given with a 95% confidence interval."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from touchpoint.analytics.sources import open_sources
from touchpoint.contact_center import forecast
from touchpoint.contact_center.config import CenterConfig
from touchpoint.contact_center.simulation import DayFigures, simulate_day
from touchpoint.contact_center.simulation_fit import (
    WEEKDAYS,
    History,
    busiest_weekday,
    churn_relation,
    fit_demand,
    next_date,
    read_history,
)
from touchpoint.contact_center.simulation_inputs import (
    ChurnRelation,
    Distribution,
    ModelInput,
    QueueDemand,
    Shift,
)
from touchpoint.contact_center.simulation_scenarios import BASELINE, Scenario, check_against
from touchpoint.errors import ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import current_config
from touchpoint.store.engine import read_connection

MAX_REPLICATIONS = 200
ARRIVALS = ("history", "forecast")  # where the arrival rates come from
INTERVALS_S = (900.0, 1800.0, 3600.0)

Progress = Callable[[int, int], None]  # (replications done, replications in all)


@dataclass(frozen=True)
class Estimate:
    """A figure's mean over replications and its 95% confidence interval (Student's t; none
    from one replication or where a replication had no value)."""

    mean: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    service_level: Estimate  # Asterisk's SL: answered within the threshold / answered
    asa_s: Estimate
    abandon_rate: Estimate  # abandoned / offered
    occupancy: Estimate
    offered: Estimate
    answered: Estimate
    abandoned: Estimate
    callbacks: Estimate
    at_risk_contacts: Estimate
    at_risk_over_target: Estimate  # at-risk customers who waited more than the target
    expected_churn: Estimate  # churners those waits imply, by the log's relation
    agents: int  # on duty at some moment of the day


@dataclass(frozen=True)
class QueueFit:
    queue: str
    expected_contacts: float  # in the day, from the history
    channels: dict[str, float]
    handle: dict[str, Distribution]
    patience: dict[str, Distribution]
    callback_share: float
    at_risk_share: float


@dataclass(frozen=True)
class SimulationResult:
    day: date
    weekday: str
    time_zone: str
    interval_s: float
    history_contacts: int
    queues: list[QueueFit]
    churn: ChurnRelation | None
    replications: int
    seed: int
    scenarios: list[ScenarioResult]
    events: int
    wall_s: float
    notes: list[str] = field(default_factory=list)


def prepare(
    tp: Touchpoint,
    *,
    weekday: str | None = None,
    interval_s: float = 1800.0,
    arrivals: str = "history",
) -> tuple[ModelInput, History, str]:
    """The baseline day: the configuration in force, the history's fits, shifts from the
    queues' business calendars (an agent is on duty while one of their queues is open; all day
    when one of them has no calendar). Arrival rates are the history's weekday × interval
    means, or with `arrivals="forecast"` the forecast's (contact_center.forecast) for the day."""
    if interval_s not in INTERVALS_S:
        raise ValidationError("interval: 15m, 30m or 60m")
    if weekday is not None and weekday not in WEEKDAYS:
        raise ValidationError(f"weekday {weekday!r}: one of {', '.join(WEEKDAYS)}")
    if arrivals not in ARRIVALS:
        raise ValidationError(f"arrivals: one of {', '.join(ARRIVALS)}; got {arrivals!r}")
    with read_connection(tp.engine) as conn:
        _version, config = current_config(conn)
    zone = _zone(config)
    with open_sources(tp.settings) as sources:
        history = read_history(sources)
        recent = forecast.contact_history(sources.interactions, until=datetime.now(UTC))
    weekday = weekday or busiest_weekday(history, zone)
    last = history.contacts.occurred_at.max() if not history.contacts.empty else None
    after = last.date() if last is not None else datetime.now(UTC).date()
    day_start = datetime.combine(next_date(weekday, after), clock(0), tzinfo=zone)
    thresholds = {queue: seconds for queue, (_share, seconds) in config.targets.items()}
    demand = fit_demand(
        history, config, weekday=weekday, interval_s=interval_s, zone=zone, day_start=day_start
    )
    if arrivals == "forecast":
        demand = _forecast_rates(demand, recent, config, day_start, interval_s)
    model = ModelInput(
        config=config,
        demand=demand,
        shifts=shifts_from_calendars(config, day_start),
        day_start=day_start,
        churn=churn_relation(history, thresholds),
        thresholds=thresholds,
    )
    return model, history, weekday


def _forecast_rates(
    demand: dict[str, QueueDemand],
    recent: Any,
    config: CenterConfig,
    day_start: datetime,
    interval_s: float,
) -> dict[str, QueueDemand]:
    """The demand with its arrival rates from the forecast of the simulated day (the seam
    `ArrivalRates` names): each forecast interval lands in the simulated day's interval that
    holds its start."""
    table = forecast.forecast_arrivals(
        recent,
        start=day_start.date(),
        days=1,
        interval_min=int(interval_s // 60),
        calendars=config.calendars,
        queues=list(demand),
    )
    rates = {queue: [0.0] * len(d.rates) for queue, d in demand.items()}
    for row in table.to_pylist():
        at = row["interval_start"]
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        index = int((at - day_start).total_seconds() // interval_s)
        if 0 <= index < len(rates[row["queue"]]):
            rates[row["queue"]][index] += float(row["expected"])
    return {q: replace(d, rates=tuple(rates[q])) for q, d in demand.items()}


def _zone(config: CenterConfig) -> ZoneInfo:
    for calendar in config.calendars.values():
        return ZoneInfo(calendar.time_zone)
    return ZoneInfo("UTC")


def shifts_from_calendars(config: CenterConfig, day_start: datetime) -> tuple[Shift, ...]:
    end = day_start + timedelta(days=1)
    shifts: list[Shift] = []
    for agent_id, agent in config.agents.items():
        calendars = [config.calendars.get(q) for q in agent.queues]
        if any(c is None for c in calendars):
            shifts.append(Shift(agent_id, 0.0, 86_400.0))
            continue
        spans = sorted(
            (
                (span.start - day_start).total_seconds(),
                (span.end - day_start).total_seconds(),
            )
            for c in calendars
            if c is not None
            for span in c.open_intervals(day_start, end)
        )
        for start, stop in _joined(spans):
            shifts.append(Shift(agent_id, start, stop))
    return tuple(shifts)


def _joined(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    joined: list[tuple[float, float]] = []
    for start, stop in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], stop))
        else:
            joined.append((start, stop))
    return joined


def simulate(
    tp: Touchpoint,
    *,
    scenarios: Sequence[Scenario] = (),
    replications: int = 10,
    seed: int = 1,
    weekday: str | None = None,
    interval_s: float = 1800.0,
    arrivals: str = "history",
    max_contacts: float | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """The baseline and each scenario, `replications` days each. `max_contacts` refuses a run
    expected to simulate more contacts than that (all scenarios and replications together)."""
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise ValidationError(f"replications: 1 to {MAX_REPLICATIONS}")
    started = time.perf_counter()
    base, history, weekday = prepare(tp, weekday=weekday, interval_s=interval_s, arrivals=arrivals)
    runs = [BASELINE, *scenarios]
    check_against(list(scenarios), base)
    models = [scenario.apply(base) for scenario in runs]
    expected = replications * sum(sum(d.expected() for d in m.demand.values()) for m in models)
    if max_contacts is not None and expected > max_contacts:
        raise ValidationError(
            f"too large: about {expected:,.0f} contacts to simulate, at most {max_contacts:,.0f}; "
            "ask fewer replications or scenarios"
        )
    results, events, done = [], 0, 0
    for scenario, model in zip(runs, models, strict=True):
        days = []
        for r in range(replications):
            days.append(simulate_day(model, seed + r))
            done += 1
            if progress is not None:
                progress(done, replications * len(runs))
        events += sum(d.events for d in days)
        results.append(_summary(scenario.name, days, len({s.agent for s in model.shifts})))
    return SimulationResult(
        day=base.day_start.date(),
        weekday=weekday,
        time_zone=str(base.day_start.tzinfo),
        interval_s=interval_s,
        history_contacts=len(history.contacts),
        queues=[_queue_fit(base, q) for q in base.demand],
        churn=base.churn,
        replications=replications,
        seed=seed,
        scenarios=results,
        events=events,
        wall_s=time.perf_counter() - started,
        notes=_notes(base, history),
    )


def _queue_fit(model: ModelInput, queue: str) -> QueueFit:
    demand = model.demand[queue]
    stages = set(model.at_risk_stages)
    return QueueFit(
        queue=queue,
        expected_contacts=demand.expected(),
        channels=dict(demand.channels),
        handle=dict(demand.handle),
        patience=dict(demand.patience),
        callback_share=demand.callback_share,
        at_risk_share=sum(share for stage, share in demand.stages.items() if stage in stages),
    )


def _notes(model: ModelInput, history: History) -> list[str]:
    notes = []
    if history.contacts.empty:
        notes.append("the log has no live contacts with a queue: no arrivals to simulate")
    if model.churn is not None and model.churn.population != "at-risk customers":
        notes.append(
            f"waiting and churn fitted over all customers' contacts: fewer than enough at-risk "
            f"ones ({model.churn.contacts} contacts in all)"
        )
    notes.append(
        "routing rules about a customer's last agent or open ticket do not apply: simulated "
        "customers have no history"
    )
    return notes


def _summary(name: str, days: list[DayFigures], agents: int) -> ScenarioResult:
    def of(values: list[float | None]) -> Estimate:
        return estimate(values)

    def share(values: list[float | None]) -> Estimate:
        return estimate(values, high=1.0)

    return ScenarioResult(
        name=name,
        service_level=share([d.service_level for d in days]),
        asa_s=of([d.asa_s for d in days]),
        abandon_rate=share([d.abandon_rate for d in days]),
        occupancy=share([d.occupancy for d in days]),
        offered=of([float(d.offered) for d in days]),
        answered=of([float(d.answered) for d in days]),
        abandoned=of([float(d.abandoned) for d in days]),
        callbacks=of([float(d.callbacks) for d in days]),
        at_risk_contacts=of([float(d.at_risk) for d in days]),
        at_risk_over_target=of([float(d.at_risk_over_target) for d in days]),
        expected_churn=of([d.expected_churn for d in days]),
        agents=agents,
    )


def estimate(values: Sequence[float | None], *, high: float | None = None) -> Estimate:
    """Mean and 95% confidence interval (Student's t with n-1 degrees of freedom), kept within
    what the figure can be: never below 0, nor above `high` (1 for a share)."""
    from scipy.stats import t

    known = [v for v in values if v is not None]
    if not known:
        return Estimate(None)
    mean = statistics.fmean(known)
    if len(known) < 2:
        return Estimate(mean)
    half = float(t.ppf(0.975, len(known) - 1)) * statistics.stdev(known) / math.sqrt(len(known))
    top = mean + half if high is None else min(high, mean + half)
    return Estimate(mean, max(0.0, mean - half), top)


def as_document(result: SimulationResult) -> dict[str, Any]:
    """The result as JSON-ready data (an infinite patience is null: it never runs out)."""
    return _finite(dataclasses.asdict(result))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value
