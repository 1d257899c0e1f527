"""Erlang C and Erlang A (M/M/n+M): how many agents a queue needs, and what a staffing achieves.

Written here rather than taken from pyworkforce (see docs/decisions.md): pyworkforce 0.5.1, the
last release for Python 3.11, has no Erlang A and does not refuse n <= A. Both models are
computed without factorials or powers that overflow:

- **Erlang B** by its recursion B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)).
- **Erlang C** from it: C = n·B / (n - A·(1 - B)); the service level within t is
  1 - C·exp(-(n - A)·t / AHT), the average speed of answer C·AHT / (n - A), the occupancy A / n.
  With n <= A the queue grows without bound: `Unstable`, never a number.
- **Erlang A** (Palm's M/M/n+M; Garnett, Mandelbaum & Reiman 2002): callers hang up after an
  exponential patience of mean `patience_s` (rate θ), so every n is stable. The birth-death
  chain's states k <= n weigh (1/B - 1) against state n; above n each state is the previous one
  times λ / (nμ + jθ). An arrival that finds k >= n agents busy takes place j = k - n + 1 in line;
  with c = nμ/θ it reaches an agent with probability c / (c + j), after a wait distributed as the
  j-th order statistic of c + j exponentials of rate θ, so it is answered within t with
  probability c/(c+j) · I_p(j, c+1), p = 1 - exp(-θt) (the regularised incomplete beta, the form
  Mandelbaum & Zeltyn write with incomplete gamma functions), and its expected wait when answered
  is Σ_{i<=j} 1/(θ(c+i)). The chain's tail is summed until it no longer moves the sums.

The service level is the share of *offered* contacts answered within the threshold: a caller who
hangs up counts as a miss. Asterisk's SL (answered within / answered, what the KPIs report) would
reward abandonment here — fewer agents, more callers hanging up, the rest answered sooner — so a
plan on it could staff below the traffic (see docs/decisions.md). Without abandonment every
contact is answered and both are Erlang C's. The ASA is the average wait of answered contacts,
as the KPIs count it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

UNSTABLE_MESSAGE: Final[str] = "unstable: queue grows without bound"
SHRINKAGE_TOLERANCE: Final[float] = 1e-9  # 14 / 0.7 is 20.000000000000004 in floating point
MAX_QUEUE_STATES: Final[int] = 5_000_000  # Erlang A's chain: past this, refuse rather than hang
_RESCALE: Final[float] = 1e250  # Erlang A's weights are rescaled before they overflow
_TAIL: Final[float] = 1e-17  # a state weighing less than this share of the total ends the sum


class Unstable(ValueError):
    """n <= A without abandonment: the queue grows without bound."""

    def __init__(self, agents: int, traffic: float) -> None:
        super().__init__(f"{UNSTABLE_MESSAGE} ({agents} agents for {traffic:.2f} Erlangs)")
        self.agents = agents
        self.traffic = traffic


@dataclass(frozen=True)
class Performance:
    """What `agents` achieve on `traffic` Erlangs: the share of offered contacts answered within
    the threshold, the probability of waiting at all, the average speed of answer, the agents'
    occupancy, and with patience the share of contacts abandoned (None without)."""

    agents: int
    traffic: float
    service_level: float
    wait_probability: float
    asa_s: float
    occupancy: float
    abandon_rate: float | None = None


def traffic_intensity(volume: float, interval_s: float, aht_s: float) -> float:
    """Offered traffic in Erlangs: contacts per second times seconds per contact."""
    if interval_s <= 0 or aht_s <= 0 or volume < 0:
        raise ValueError("volume must be >= 0, interval and handle time > 0")
    return volume / interval_s * aht_s


def erlang_b(agents: int, traffic: float) -> float:
    """The probability that all `agents` are busy in a loss system offered `traffic` Erlangs."""
    _check(agents, traffic)
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """The probability that a contact waits (Erlang C); `Unstable` when agents <= traffic."""
    _check(agents, traffic)
    if agents <= traffic:
        raise Unstable(agents, traffic)
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1.0 - b))


def erlang_c_performance(
    agents: int, traffic: float, *, aht_s: float, threshold_s: float
) -> Performance:
    """Erlang C's service level within `threshold_s`, wait probability, ASA and occupancy."""
    if traffic == 0:
        return _idle(agents)
    wait = erlang_c(agents, traffic)
    spare = agents - traffic
    return Performance(
        agents=agents,
        traffic=traffic,
        service_level=1.0 - wait * math.exp(-spare * threshold_s / aht_s),
        wait_probability=wait,
        asa_s=wait * aht_s / spare,
        occupancy=traffic / agents,
    )


def erlang_a_performance(
    agents: int, traffic: float, *, aht_s: float, threshold_s: float, patience_s: float
) -> Performance:
    """Erlang A (exponential patience of mean `patience_s`): stable for any number of agents."""
    if patience_s <= 0 or aht_s <= 0 or threshold_s < 0:
        raise ValueError("patience and handle time must be > 0, the threshold >= 0")
    if traffic == 0:
        return _idle(agents, abandon_rate=0.0)
    b = erlang_b(agents, traffic)
    if b == 0:  # so many agents that the chain never reaches n (underflow): nobody waits
        return Performance(agents, traffic, 1.0, 0.0, 0.0, traffic / agents, 0.0)
    sums = _queue_sums(agents, traffic, aht_s=aht_s, threshold_s=threshold_s, theta=1 / patience_s)
    below = (1.0 / b - 1.0) * sums.scale  # the states k < n, against π_n = `scale`
    total = below + sums.weight
    served = below + sums.served
    abandon = (sums.weight - sums.served) / total
    return Performance(
        agents=agents,
        traffic=traffic,
        service_level=(below + sums.within) / total,
        wait_probability=sums.weight / total,
        asa_s=sums.wait / served,
        occupancy=min(1.0, traffic * (1.0 - abandon) / agents),  # 1 + rounding when all are busy
        abandon_rate=abandon,
    )


@dataclass
class _Sums:
    """Erlang A's sums over the states k >= n (π_n = `scale`): their weight, the part answered,
    the part answered within the threshold, and the answered part's total wait."""

    scale: float = 1.0
    weight: float = 0.0
    served: float = 0.0
    within: float = 0.0
    wait: float = 0.0

    def rescale(self, factor: float) -> None:
        self.scale *= factor
        self.weight *= factor
        self.served *= factor
        self.within *= factor
        self.wait *= factor


def _queue_sums(
    agents: int, traffic: float, *, aht_s: float, threshold_s: float, theta: float
) -> _Sums:
    mu = 1.0 / aht_s
    lam = traffic * mu
    c = agents * mu / theta
    p = -math.expm1(-theta * threshold_s)  # 1 - exp(-θt), exact for small θt
    sums = _Sums()
    weight = 1.0  # of state n + j - 1, the one an arrival in place j found
    incomplete = -math.expm1(-(agents * mu + theta) * threshold_s)  # I_p(1, c + 1)
    term = (c + 1.0) * p * math.exp(-(agents * mu + theta) * threshold_s)
    wait_when_served = 0.0
    for j in range(1, MAX_QUEUE_STATES + 1):
        reach = c / (c + j)
        wait_when_served += 1.0 / (theta * (c + j))
        sums.weight += weight
        sums.served += weight * reach
        sums.within += weight * reach * max(incomplete, 0.0)
        sums.wait += weight * reach * wait_when_served
        incomplete -= term
        term *= p * (j + c + 1.0) / (j + 1.0)
        weight *= lam / (agents * mu + j * theta)
        if weight > _RESCALE:
            weight /= _RESCALE
            sums.rescale(1.0 / _RESCALE)
        if lam < agents * mu + j * theta and weight < _TAIL * (sums.weight + sums.scale):
            return sums
    raise ValueError(
        f"Erlang A needs more than {MAX_QUEUE_STATES:,} queue states here: patience too long "
        "for so few agents"
    )


def meets(performance: Performance, *, target: float, max_occupancy: float = 1.0) -> bool:
    """The staffing reaches the service-level target without passing the occupancy cap."""
    return performance.service_level >= target and performance.occupancy <= max_occupancy


@dataclass(frozen=True)
class Requirement:
    """The smallest whole number of agents meeting the target, what they achieve, and the
    fractional agents: where the service level crosses the target between agents - 1 and agents
    (linearly), or the occupancy cap's traffic / max_occupancy, whichever binds."""

    agents: int
    agents_fractional: float
    performance: Performance


def required_agents(
    traffic: float,
    *,
    aht_s: float,
    target: float,
    threshold_s: float,
    max_occupancy: float = 1.0,
    patience_s: float | None = None,
) -> Requirement:
    """The smallest number of agents whose service level within `threshold_s` is at least
    `target` and whose occupancy is at most `max_occupancy` (Erlang A with `patience_s`)."""
    if not 0 < target < 1:
        raise ValueError("the service-level target must be between 0 and 1 (exclusive)")
    if not 0 < max_occupancy <= 1:
        raise ValueError("the occupancy cap must be in (0, 1]")
    if traffic == 0:
        return Requirement(0, 0.0, _idle(0, None if patience_s is None else 0.0))

    def at(n: int) -> Performance:
        if patience_s is None:
            return erlang_c_performance(n, traffic, aht_s=aht_s, threshold_s=threshold_s)
        return erlang_a_performance(
            n, traffic, aht_s=aht_s, threshold_s=threshold_s, patience_s=patience_s
        )

    seen: dict[int, Performance] = {}

    def good(n: int) -> bool:
        if n not in seen:
            seen[n] = at(n)
        return meets(seen[n], target=target, max_occupancy=max_occupancy)

    # The target is met from some n on (the service level rises and the occupancy falls with
    # n): step up from a little below the usual answer until it is met, then bisect.
    low = _lowest_candidate(traffic, erlang_a=patience_s is not None)
    high = low + math.isqrt(math.ceil(traffic))
    step = max(1, high - low)
    while not good(high):
        low, high, step = high + 1, high + step, step * 2
    while low < high:
        middle = (low + high) // 2
        if good(middle):
            high = middle
        else:
            low = middle + 1
    n, found = high, seen[high]
    carried = found.occupancy * found.agents  # Erlang A: what is not abandoned
    return Requirement(n, _fractional(n, found, at, target, carried / max_occupancy), found)


def _lowest_candidate(traffic: float, *, erlang_a: bool) -> int:
    """The fewest agents worth asking about: Erlang C's first stable count, or one."""
    return 1 if erlang_a else math.floor(traffic) + 1


def _fractional(
    n: int,
    found: Performance,
    at: Callable[[int], Performance],
    target: float,
    occupancy_bound: float,
) -> float:
    below_sl = 0.0
    if n > 1:
        try:
            below_sl = at(n - 1).service_level
        except Unstable:
            below_sl = 0.0
    step = found.service_level - below_sl
    by_sl = n - 1 + (target - below_sl) / step if step > 0 else float(n)
    return min(float(n), max(by_sl, occupancy_bound, float(n - 1)))


def with_shrinkage(agents: float, shrinkage: float) -> tuple[float, int]:
    """Agents to schedule so that `agents` are on the phones when a share `shrinkage` is away
    (breaks, training, absence): agents / (1 - shrinkage), and that rounded up — after a
    tolerance for floating point, so 14 agents at 30% give 20, not 21."""
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    scheduled = agents / (1.0 - shrinkage)
    return scheduled, math.ceil(scheduled - SHRINKAGE_TOLERANCE)


def _idle(agents: int, abandon_rate: float | None = None) -> Performance:
    """No traffic: nobody waits, whatever the staffing."""
    return Performance(agents, 0.0, 1.0, 0.0, 0.0, 0.0, abandon_rate)


def _check(agents: int, traffic: float) -> None:
    if agents < 1:
        raise ValueError("agents must be at least 1")
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be a finite number of Erlangs >= 0")
