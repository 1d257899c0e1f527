"""Staffing for every face: how many agents a volume of contacts needs for a service-level target
(Erlang C, or Erlang A when callers' patience is given), with shrinkage and an occupancy cap;
or, given a number of agents, what they achieve. The arithmetic is domain.erlang's; this module
reads the question as people write it (`30m`, `80/20`) and names the field it refuses."""

from __future__ import annotations

import math
from dataclasses import dataclass

from touchpoint.contact_center.config import target_parts
from touchpoint.domain import erlang
from touchpoint.domain.moments import parse_span
from touchpoint.errors import ValidationError

MAX_AGENTS = 100_000
MAX_VOLUME = 10_000_000.0


@dataclass(frozen=True)
class StaffingQuestion:
    """A validated question: `volume` contacts per `interval_s`, each handled in `aht_s`, a
    share `target` to answer within `threshold_s`; `agents` set asks what they achieve."""

    volume: float
    interval_s: float
    aht_s: float
    target: float
    threshold_s: float
    shrinkage: float = 0.0
    max_occupancy: float = 1.0
    patience_s: float | None = None
    agents: int | None = None

    @property
    def model(self) -> str:
        return "erlang-c" if self.patience_s is None else "erlang-a"


@dataclass(frozen=True)
class Staffing:
    """The answer. `stable` False (only Erlang C with agents <= traffic) carries `note` and no
    figures. `agents_fractional` is where the target is crossed between two whole numbers;
    with shrinkage, `agents_with_shrinkage` agents are scheduled so `agents` are on the phones."""

    model: str
    traffic_erlangs: float
    agents: int
    agents_fractional: float | None
    agents_with_shrinkage: int
    agents_with_shrinkage_fractional: float
    service_level: float | None
    wait_probability: float | None
    asa_s: float | None
    occupancy: float | None
    abandon_rate: float | None
    meets_target: bool | None
    stable: bool = True
    note: str | None = None
    target: float = 0.8
    threshold_s: float = 20.0


def question(
    *,
    volume: float,
    interval: str,
    aht: float,
    target: str,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    patience: float | None = None,
    agents: int | None = None,
) -> StaffingQuestion:
    """The question as the faces receive it, checked field by field."""
    if not (math.isfinite(volume) and 0 <= volume <= MAX_VOLUME):
        raise ValidationError(
            f"volume: contacts per interval, 0 to {MAX_VOLUME:,.0f}; got {volume}"
        )
    span = parse_span(interval)
    if span is None or span.total_seconds() <= 0:
        raise ValidationError(f"interval: a span like 15m, 30m or 1h; got {interval!r}")
    if not (math.isfinite(aht) and 0 < aht <= 86_400):
        raise ValidationError(f"aht: average handle time in seconds, > 0; got {aht}")
    try:
        share, threshold = target_parts(target)
    except ValueError as exc:
        raise ValidationError(f"target: {exc}") from None
    if share >= 1:
        raise ValidationError(
            f"target: a share under 100% (every caller at once: no number); got {target!r}"
        )
    if not 0 <= shrinkage < 1:
        raise ValidationError(
            f"shrinkage: a share of paid time away from the phones, 0 to <1; got {shrinkage}"
        )
    if not 0 < max_occupancy <= 1:
        raise ValidationError(f"max_occupancy: a share, above 0 and at most 1; got {max_occupancy}")
    if patience is not None and not (math.isfinite(patience) and patience > 0):
        raise ValidationError(f"patience: callers' mean patience in seconds, > 0; got {patience}")
    if agents is not None and not 1 <= agents <= MAX_AGENTS:
        raise ValidationError(f"agents: 1 to {MAX_AGENTS:,}; got {agents}")
    return StaffingQuestion(
        volume=volume,
        interval_s=span.total_seconds(),
        aht_s=aht,
        target=share,
        threshold_s=threshold,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        patience_s=patience,
        agents=agents,
    )


def answer(q: StaffingQuestion) -> Staffing:
    """Required agents, or with `q.agents` what those agents achieve."""
    traffic = erlang.traffic_intensity(q.volume, q.interval_s, q.aht_s)
    try:
        if q.agents is not None:
            return _achieved(q, traffic, q.agents)
        return _required(q, traffic)
    except erlang.Unstable as exc:
        agents = q.agents or 0
        scheduled, rounded = erlang.with_shrinkage(agents, q.shrinkage)
        return Staffing(
            model=q.model,
            traffic_erlangs=traffic,
            agents=agents,
            agents_fractional=None,
            agents_with_shrinkage=rounded,
            agents_with_shrinkage_fractional=scheduled,
            service_level=None,
            wait_probability=None,
            asa_s=None,
            occupancy=None,
            abandon_rate=None,
            meets_target=False,
            stable=False,
            note=str(exc),
            target=q.target,
            threshold_s=q.threshold_s,
        )
    except ValueError as exc:  # Erlang A's chain past its bound: a question, not a crash
        raise ValidationError(f"patience: {exc}") from None


def _required(q: StaffingQuestion, traffic: float) -> Staffing:
    found = erlang.required_agents(
        traffic,
        aht_s=q.aht_s,
        target=q.target,
        threshold_s=q.threshold_s,
        max_occupancy=q.max_occupancy,
        patience_s=q.patience_s,
    )
    return _staffing(q, found.performance, found.agents_fractional)


def _achieved(q: StaffingQuestion, traffic: float, agents: int) -> Staffing:
    return _staffing(q, performance(q, traffic, agents), None)


def performance(q: StaffingQuestion, traffic: float, agents: int) -> erlang.Performance:
    """What `agents` achieve on `traffic` under the question's model (Unstable: Erlang C only)."""
    if q.patience_s is None:
        return erlang.erlang_c_performance(
            agents, traffic, aht_s=q.aht_s, threshold_s=q.threshold_s
        )
    return erlang.erlang_a_performance(
        agents, traffic, aht_s=q.aht_s, threshold_s=q.threshold_s, patience_s=q.patience_s
    )


def _staffing(q: StaffingQuestion, found: erlang.Performance, fractional: float | None) -> Staffing:
    scheduled, rounded = erlang.with_shrinkage(found.agents, q.shrinkage)
    return Staffing(
        model=q.model,
        traffic_erlangs=found.traffic,
        agents=found.agents,
        agents_fractional=fractional,
        agents_with_shrinkage=rounded,
        agents_with_shrinkage_fractional=scheduled,
        service_level=found.service_level,
        wait_probability=found.wait_probability,
        asa_s=found.asa_s,
        occupancy=found.occupancy,
        abandon_rate=found.abandon_rate,
        meets_target=erlang.meets(found, target=q.target, max_occupancy=q.max_occupancy),
        target=q.target,
        threshold_s=q.threshold_s,
    )
