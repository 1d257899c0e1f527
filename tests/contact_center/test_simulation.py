"""The center's simulation (contact_center.simulation) against queueing theory where its
assumptions hold, what-ifs moving the figures the way they must, the fits from history worked
out by hand or by scipy, and scenario files' mistakes named with their line.

References, independent of the code under test:
- Erlang C: pyworkforce 0.5.1 `pyworkforce.queuing.ErlangC` (its own implementation of the
  formula; STACK-NOTES: 100 calls / 30 min, AHT 180 s, 14 agents -> SL(20 s) 0.888).
- Erlang A (M/M/n+M): computed here from the model's definition (Garnett, Mandelbaum & Reiman,
  "Designing a call center with impatient customers", MSOM 4(3), 2002; Mandelbaum & Zeltyn,
  "The M/M/n+G queue: summary of performance measures", 2009): the birth-death chain of the
  number in system gives what an arrival finds (PASTA); a customer with j ahead in line
  advances at rate nμ + mθ (a service or one of the m ahead abandoning), and abandons at θ; its
  probability of being served within T is the absorption of that chain, by matrix exponential.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from pyworkforce.queuing import ErlangC
from scipy.linalg import expm
from scipy.stats import lognorm

from touchpoint.contact_center.config import parse_toml
from touchpoint.contact_center.simulation import DayFigures, simulate_day
from touchpoint.contact_center.simulation_fit import (
    History,
    churn_relation,
    fit_handle,
    fit_patience,
)
from touchpoint.contact_center.simulation_inputs import (
    ChurnRelation,
    Distribution,
    ModelInput,
    QueueDemand,
    Shift,
)
from touchpoint.contact_center.simulation_scenarios import parse_scenarios
from touchpoint.errors import ValidationError

DAY = datetime(2026, 6, 1, tzinfo=UTC)
HOUR = 3600.0


def one_queue(
    agents: int,
    *,
    per_30m: float,
    aht_s: float,
    patience: Distribution,
    hours: float = 8,
    warmup_h: float = 1,
    queue_toml: str = "",
    agent_toml: str = "",
    stages: dict[str, float] | None = None,
) -> ModelInput:
    """One queue, phone only, `agents` identical agents on duty all along, Poisson arrivals."""
    text = f"[queues.q]\nchannels = ['phone']\n{queue_toml}\n" + "".join(
        f"[agents.a{i:03d}]\nqueues = ['q']\n{agent_toml}\n" for i in range(agents)
    )
    horizon = (hours + warmup_h) * HOUR
    demand = QueueDemand(
        queue="q",
        interval_s=1800,
        rates=(per_30m,) * int(horizon // 1800),
        channels={"phone": 1.0},
        handle={"phone": Distribution("exponential", aht_s)},
        patience={"phone": patience},
        stages=stages or {},
    )
    return ModelInput(
        config=parse_toml(text),
        demand={"q": demand},
        shifts=tuple(Shift(f"a{i:03d}", 0, horizon + 6 * HOUR) for i in range(agents)),
        day_start=DAY,
        horizon_s=horizon,
        warmup_s=warmup_h * HOUR,
        thresholds={"q": 20.0},
        churn=ChurnRelation(0.3, 0.1, 100, "at-risk customers"),
    )


def pooled(model: ModelInput, replications: int, seed: int = 1) -> list[DayFigures]:
    return [simulate_day(model, seed + r) for r in range(replications)]


def sl(days: list[DayFigures]) -> float:
    return sum(d.answered_within for d in days) / sum(d.answered for d in days)


def abandon(days: list[DayFigures]) -> float:
    return sum(d.abandoned for d in days) / sum(d.offered for d in days)


def mean(days: list[DayFigures], name: str) -> float:
    return float(np.mean([getattr(d, name) for d in days]))


# --- queueing theory ---------------------------------------------------------------------------


@pytest.mark.slow
def test_with_erlang_c_assumptions_the_service_level_is_erlang_c_s() -> None:
    reference = ErlangC(transactions=100, asa=20 / 60, aht=3, interval=30, shrinkage=0)
    expected = reference.service_level(positions=14, scale_positions=False)
    assert expected == pytest.approx(0.888, abs=0.001)  # the published worked example
    days = pooled(one_queue(14, per_30m=100, aht_s=180, patience=Distribution("infinite")), 16)
    assert sum(d.abandoned for d in days) == 0
    assert sl(days) == pytest.approx(expected, abs=0.02)
    assert mean(days, "occupancy") == pytest.approx(10 / 14, abs=0.02)  # A / N


def erlang_a(n: int, lam: float, mu: float, theta: float, t: float) -> tuple[float, float]:
    """(Asterisk's SL = P(served within t) / P(served), P(abandon)) of M/M/n+M, from the
    birth-death chain (truncated where the tail is negligible) and each line position's
    absorbing chain."""
    size = n + 400
    rates = [lam / (min(k + 1, n) * mu + max(k + 1 - n, 0) * theta) for k in range(size)]
    weights = np.concatenate([[1.0], np.cumprod(rates)])
    found = weights / weights.sum()  # what an arrival finds (PASTA)
    ahead = found[n:]  # j = 0, 1, … ahead in line
    m = len(ahead)
    # states: position m = j..0 (index = j), then served (m), abandoned (m + 1)
    q = np.zeros((m + 2, m + 2))
    for j in range(m):
        forward = n * mu + j * theta
        q[j, j - 1 if j > 0 else m] = forward
        q[j, m + 1] = theta
        q[j, j] = -(forward + theta)
    within = expm(q * t)[:m, m]
    served_given = np.array(
        [
            np.prod([(n * mu + i * theta) / (n * mu + (i + 1) * theta) for i in range(j + 1)])
            for j in range(m)
        ]
    )
    immediate = found[:n].sum()
    served = immediate + float(ahead @ served_given)
    return (immediate + float(ahead @ within)) / served, 1 - served


def test_the_erlang_a_reference_reduces_to_erlang_c_without_abandonment() -> None:
    reference = ErlangC(transactions=100, asa=20 / 60, aht=3, interval=30, shrinkage=0)
    level, abandoned = erlang_a(14, 100 / 1800, 1 / 180, 1e-9, 20)
    assert level == pytest.approx(
        reference.service_level(positions=14, scale_positions=False), abs=1e-4
    )
    assert abandoned == pytest.approx(0, abs=1e-5)


@pytest.mark.slow
def test_with_exponential_patience_the_figures_are_erlang_a_s() -> None:
    level, abandoned = erlang_a(10, 100 / 1800, 1 / 180, 1 / 120, 20)
    model = one_queue(10, per_30m=100, aht_s=180, patience=Distribution("exponential", 120))
    days = pooled(model, 16)
    assert sl(days) == pytest.approx(level, abs=0.02)
    assert abandon(days) == pytest.approx(abandoned, abs=0.01)


# --- what-ifs ------------------------------------------------------------------------------------

SCENARIOS = """
[[scenario]]
name = "3 fewer agents 02:00-05:00"
fewer_agents = [{ count = 3, from = "02:00", to = "05:00" }]

[[scenario]]
name = "AHT +20 s"
aht_delta_s = 20

[[scenario]]
name = "volume x1.2"
volume = 1.2

[[scenario]]
name = "one more agent"
add_agents = [{ count = 1 }]

[[scenario]]
name = "at-risk first"
at_risk_priority = 20
"""


def test_what_ifs_move_the_figures_the_way_they_must() -> None:
    base = one_queue(
        11,
        per_30m=100,
        aht_s=180,
        patience=Distribution("exponential", 200),
        hours=4,
        stages={"at_risk": 0.2},
    )
    runs = {"baseline": pooled(base, 3)}
    for scenario in parse_scenarios(SCENARIOS):
        runs[scenario.name] = pooled(scenario.apply(base), 3)
    sl_of = {name: sl(days) for name, days in runs.items()}
    asa = {name: mean(days, "asa_s") for name, days in runs.items()}
    assert sl_of["3 fewer agents 02:00-05:00"] < sl_of["baseline"] - 0.05
    assert abandon(runs["3 fewer agents 02:00-05:00"]) > abandon(runs["baseline"])
    assert asa["AHT +20 s"] > asa["baseline"]
    assert mean(runs["AHT +20 s"], "occupancy") > mean(runs["baseline"], "occupancy")
    assert mean(runs["volume x1.2"], "offered") == pytest.approx(
        1.2 * mean(runs["baseline"], "offered"), rel=0.05
    )
    assert sl_of["volume x1.2"] < sl_of["baseline"]
    assert sl_of["one more agent"] > sl_of["baseline"]
    over = {name: mean(days, "at_risk_over_target") for name, days in runs.items()}
    churn = {name: mean(days, "expected_churn") for name, days in runs.items()}
    assert over["at-risk first"] < 0.7 * over["baseline"]
    assert churn["at-risk first"] < churn["baseline"]
    assert mean(runs["at-risk first"], "at_risk") == mean(runs["baseline"], "at_risk")


def test_asking_the_longest_idle_first_picks_as_asking_every_free_agent() -> None:
    model = one_queue(
        30,
        per_30m=300,
        aht_s=160,
        patience=Distribution("exponential", 100),
        hours=1,
        queue_toml="wrapup_s = 5",
    )
    for strategy in ("longest-idle-agent", "fewest-calls", "linear", "most-skilled"):
        queues = {"q": replace(model.config.queues["q"], strategy=strategy)}
        chosen = replace(model, config=replace(model.config, queues=queues))
        assert simulate_day(chosen, 3) == simulate_day(chosen, 3, narrow=False), strategy


def test_a_spanish_speaking_agent_serves_the_spanish_line_of_a_language_matched_queue() -> None:
    base = one_queue(
        4,
        per_30m=30,
        aht_s=120,
        patience=Distribution("exponential", 60),
        hours=3,
        queue_toml="language_match = true",
        agent_toml="languages = ['en']",
    )
    base = replace(base, demand={"q": replace(base.demand["q"], languages={"es": 0.2, "en": 0.8})})
    spanish = parse_scenarios(
        '[[scenario]]\nname = "es"\nadd_agents = [{ count = 1, languages = ["en", "es"] }]\n'
    )[0]
    without, with_one = pooled(base, 3), pooled(spanish.apply(base), 3)
    # Nobody speaks Spanish: every Spanish contact gives up (a fifth of them all).
    assert abandon(without) == pytest.approx(0.2, abs=0.05)
    assert abandon(with_one) < 0.1


# --- fits from history ---------------------------------------------------------------------------


def frame(rows: list[tuple[str, str, bool, bool, bool, float, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["queue", "channel", "answered", "abandoned", "callback", "wait_s", "handle_s"],
    )


def test_patience_is_those_who_gave_up_over_the_total_wait() -> None:
    rows = frame(
        [
            ("q", "phone", True, False, False, 30, 200),
            ("q", "phone", True, False, False, 50, 100),
            ("q", "phone", False, True, False, 40, None),
            ("q", "phone", False, False, True, 80, None),
            ("q", "chat", False, True, False, 999, None),
        ]
    )
    # 2 gave up (an abandon, a callback) over 30 + 50 + 40 + 80 = 200 s: a rate of 1/100 s.
    assert fit_patience(rows, "phone") == Distribution("exponential", 100.0)
    assert fit_patience(rows[rows.abandoned == False], "phone").kind == "exponential"  # noqa: E712
    assert fit_patience(rows[~rows.abandoned & ~rows.callback], "phone").kind == "infinite"


def test_handle_time_is_a_lognormal_by_maximum_likelihood_as_scipy_fits_it() -> None:
    talk = [120.0, 180.0, 240.0, 300.0, 600.0, 95.0]
    rows = frame([("q", "phone", True, False, False, 1, t) for t in talk])
    fitted = fit_handle(rows, "phone", 240)
    shape, _loc, scale = lognorm.fit(talk, floc=0)
    assert fitted.kind == "lognormal"
    assert fitted.sigma == pytest.approx(shape, rel=1e-3)
    assert fitted.mean_s == pytest.approx(scale * math.exp(shape**2 / 2), rel=1e-3)
    assert fit_handle(rows.head(1), "phone", 240) == Distribution("exponential", 240)


def test_churn_after_a_long_wait_is_fitted_among_at_risk_customers() -> None:
    # 40 at-risk contacts: 20 waited over the 20 s target, 10 of whom churned within 90 days
    # (one churned 100 days later: not within); 20 within, 2 churned. Shares 0.5 and 0.1.
    at = pd.Timestamp("2026-03-01 10:00")
    rows, churned = [], []
    for i in range(40):
        over = i < 20
        rows.append(
            (i, at, "q", "phone", True, False, False, 60.0 if over else 5.0, 100.0, "at_risk")
        )
        if (over and i < 10) or (not over and i in (20, 21)):
            churned.append((i, at + pd.Timedelta(days=30)))
        if i == 30:
            churned.append((i, at + pd.Timedelta(days=100)))
    contacts = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "occurred_at",
            "queue",
            "channel",
            "answered",
            "abandoned",
            "callback",
            "wait_s",
            "handle_s",
            "stage",
        ],
    )
    relation = churn_relation(
        History(contacts, pd.DataFrame(churned, columns=["customer_id", "at"])), {"q": 20}
    )
    assert relation is not None and relation.population == "at-risk customers"
    assert relation.over_target == pytest.approx(0.5, abs=0.01)
    assert relation.within_target == pytest.approx(0.1, abs=0.01)
    assert relation.expected(over=10, within=10) == pytest.approx(6.0, abs=0.2)


# --- scenario files ------------------------------------------------------------------------------


def test_a_bad_scenario_file_names_each_mistake_with_its_line() -> None:
    text = """# what-ifs
[[scenario]]
name = "fine"
volume = 1.2

[[scenario]]
name = "broken"
volume = -1
fewer_agents = [{ count = 3, from = "25:00" }]
aht_delta = 20
"""
    with pytest.raises(ValidationError) as raised:
        parse_scenarios(text)
    message = str(raised.value)
    assert "3 problems" in message
    assert "line 8: scenario[1].volume" in message
    assert "line 9: scenario[1].fewer_agents[0].from" in message and "25:00" in message
    assert "line 10: scenario[1].aht_delta" in message
    with pytest.raises(ValidationError, match="line 2"):
        parse_scenarios("[[scenario]]\nname = \n")
