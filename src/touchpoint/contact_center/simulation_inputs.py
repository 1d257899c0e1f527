"""What the center's simulation is given: demand per queue (arrival rates per interval of the
day, the mix of channels, lifecycle stages and languages), handle-time and patience
distributions, who is on duty when, and the log's relation between waiting and churn.

The arrival rates are a seam: `ArrivalRates` is anything that gives a queue's expected contacts
per interval of a day — the history's weekday × interval averages (simulation_fit) today, the
forecast (contact_center/forecast.py) when it exists — so the model does not care which.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from touchpoint.contact_center.config import CenterConfig

DistKind = Literal["exponential", "lognormal", "fixed", "infinite"]


@dataclass(frozen=True)
class Distribution:
    """Seconds drawn for a handle time or a patience: exponential with `mean_s`, lognormal with
    `mean_s` and the log's standard deviation `sigma`, fixed, or infinite (never gives up)."""

    kind: DistKind
    mean_s: float = math.inf
    sigma: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "infinite":
            return math.inf
        if self.kind == "fixed":
            return self.mean_s
        if self.kind == "exponential":
            return rng.expovariate(1 / self.mean_s)
        mu = math.log(self.mean_s) - self.sigma**2 / 2  # so the lognormal's mean is mean_s
        return rng.lognormvariate(mu, self.sigma)

    def sampler(self) -> Callable[[random.Random], float]:
        """`sample` with what depends only on the distribution worked out once (the simulation
        draws hundreds of thousands): the same numbers from the same stream."""
        if self.kind == "infinite":
            return lambda rng: math.inf
        if self.kind == "fixed":
            mean = self.mean_s
            return lambda rng: mean
        if self.kind == "exponential":
            rate = 1 / self.mean_s
            return lambda rng: rng.expovariate(rate)
        mu, sigma = math.log(self.mean_s) - self.sigma**2 / 2, self.sigma
        return lambda rng: rng.lognormvariate(mu, sigma)

    def shifted(self, delta_s: float) -> Distribution:
        """The same shape with its mean moved by `delta_s` (at least a second)."""
        if self.kind == "infinite":
            return self
        return Distribution(self.kind, max(1.0, self.mean_s + delta_s), self.sigma)


class ArrivalRates(Protocol):
    """Expected contacts of a queue in each interval of a simulated day."""

    def per_interval(self, queue: str) -> tuple[float, ...]: ...


@dataclass(frozen=True)
class QueueDemand:
    """A queue's contacts: expected arrivals per interval (`interval_s` long, from midnight),
    each contact's channel, stage and language drawn from the shares given, its handle time and
    patience from the channel's distributions, and the share of those whose patience runs out
    who ask for a call back instead of hanging up (phone)."""

    queue: str
    interval_s: float
    rates: tuple[float, ...]
    channels: Mapping[str, float]
    handle: Mapping[str, Distribution]
    patience: Mapping[str, Distribution]
    stages: Mapping[str, float] = field(default_factory=dict)  # absent share: no known stage
    languages: Mapping[str, float] = field(default_factory=dict)  # absent share: no language
    callback_share: float = 0.0

    def rate_at(self, t: float) -> float:
        """Arrivals per second at `t` seconds after midnight."""
        index = int(t // self.interval_s)
        return self.rates[index] / self.interval_s if 0 <= index < len(self.rates) else 0.0

    def expected(self) -> float:
        return sum(self.rates)


@dataclass(frozen=True)
class ChurnRelation:
    """P(churned within `window_days`) of an at-risk customer who waited more than the target
    and of one who did not, as fitted from the log (simulation_fit.churn_relation)."""

    over_target: float
    within_target: float
    contacts: int  # how many contacts the fit saw
    population: str  # "at-risk customers" or, when too few, "all customers"
    window_days: int = 90

    def expected(self, over: int, within: int) -> float:
        return over * self.over_target + within * self.within_target


@dataclass(frozen=True)
class Shift:
    """An agent on duty from `start_s` to `end_s` seconds after midnight of the simulated day."""

    agent: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ModelInput:
    """Everything one simulated day needs. `day_start` is midnight of the day (routing's clock);
    contacts arriving in [warmup_s, horizon_s) are counted, the rest only load the center."""

    config: CenterConfig
    demand: Mapping[str, QueueDemand]
    shifts: tuple[Shift, ...]
    day_start: datetime
    horizon_s: float = 86_400.0
    warmup_s: float = 0.0
    at_risk_stages: tuple[str, ...] = ("at_risk",)
    churn: ChurnRelation | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)  # queue -> SL seconds
