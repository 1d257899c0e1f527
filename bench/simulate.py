"""Claim (issue 12): one simulated day of a 500-agent center takes under 5 s, printed with its
events/s — beside two baselines in the same run:

- **the model** (contact_center.simulation): arrivals to the free agents of a queue asked in the
  strategy's order, the first few then the rest;
- **naive dispatch**: the same day, every free agent of the queue handed to
  domain.routing.assignments for each arrival (the figures must come out identical);
- **lifecycle rules off**: the same day without the configuration's routing rules (at-risk
  customers to the retention team, loyal ones ahead), to show what the rules cost.

The center: 500 agents in three teams (sales, support, retention) over three queues, skill
levels 1-10, English and some Spanish, capacity 1 call or 3 chats; phone and chat arrivals from
08:00 to 20:00 at about 90% occupancy, lognormal handle times, exponential patience; 10% of the
customers at risk, 10% loyal. Wall time and CPU time of this process are both shown: the machine
may be shared.

    uv run python bench/simulate.py [--agents 500] [--hours 12] [--occupancy 0.9] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from touchpoint.contact_center.config import validate
from touchpoint.contact_center.simulation import DayFigures, simulate_day
from touchpoint.contact_center.simulation_inputs import (
    ChurnRelation,
    Distribution,
    ModelInput,
    QueueDemand,
    Shift,
)

DAY = datetime(2026, 6, 1, tzinfo=UTC)
TEAMS = {"sales": 0.4, "support": 0.45, "retention": 0.15}
HANDLE = {"phone": Distribution("lognormal", 300, 0.5), "chat": Distribution("lognormal", 540, 0.5)}
PATIENCE = {"phone": Distribution("exponential", 240), "chat": Distribution("exponential", 300)}


def center(agents: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    queues = {
        "sales": {"channels": ["phone", "chat"], "priority": 5, "target": "80/20", "wrapup_s": 20},
        "support": {
            "channels": ["phone", "chat"],
            "target": "80/30",
            "wrapup_s": 30,
            "skills": {"support": 3},
            "relax": [{"after_s": 60, "min_level": 1}],
            "language_match": True,
        },
        "retention": {"channels": ["phone"], "priority": 10, "target": "90/20", "wrapup_s": 45},
    }
    people: dict[str, object] = {}
    names = list(TEAMS)
    for i in range(agents):
        team = rng.choices(names, weights=list(TEAMS.values()))[0]
        served = {"sales": ["sales"], "support": ["support"], "retention": ["retention", "support"]}
        people[f"agent-{i:04d}"] = {
            "team": team,
            "queues": served[team],
            "skills": {q: rng.randint(1, 10) for q in served[team]},
            "languages": ["en", "es"] if rng.random() < 0.2 else ["en"],
            "capacity": {"phone": 1, "chat": 3},
        }
    rules = [
        {
            "name": "at-risk to retention",
            "stages": ["at_risk"],
            "team": "retention",
            "team_for_s": 60,
            "priority": 10,
        },
        {"name": "loyal first", "stages": ["loyalty"], "priority": 5},
    ]
    return {"queues": queues, "agents": people, "rules": rules}


def model(agents: int, hours: float, occupancy: float, seed: int) -> ModelInput:
    config = validate(center(agents, seed))
    open_from, open_to = 8 * 3600.0, (8 + hours) * 3600.0
    work_per_contact = 0.7 * 330 + 0.3 * 570 / 3  # phone: talk + wrap-up; chat: a third of one
    per_30m = occupancy * agents * 1800 / work_per_contact
    demand = {}
    for queue, share in TEAMS.items():
        rates = tuple(
            per_30m * share if open_from <= i * 1800 < open_to else 0.0 for i in range(48)
        )
        channels = {"phone": 1.0} if queue == "retention" else {"phone": 0.7, "chat": 0.3}
        demand[queue] = QueueDemand(
            queue=queue,
            interval_s=1800,
            rates=rates,
            channels=channels,
            handle=HANDLE,
            patience=PATIENCE,
            stages={"at_risk": 0.1, "loyalty": 0.1},
            languages={"es": 0.1, "en": 0.9},
            callback_share=0.3,
        )
    return ModelInput(
        config=config,
        demand=demand,
        shifts=tuple(Shift(a, open_from, open_to) for a in config.agents),
        day_start=DAY,
        thresholds={q: s for q, (_p, s) in config.targets.items()},
        churn=ChurnRelation(0.3, 0.1, 100, "at-risk customers"),
    )


def timed(day: ModelInput, seed: int, *, narrow: bool = True) -> tuple[DayFigures, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    figures = simulate_day(day, seed, narrow=narrow)
    return figures, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--occupancy", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    day = model(args.agents, args.hours, args.occupancy, args.seed)
    no_rules = replace(day, config=replace(day.config, rules=()))
    runs = [
        ("the model", *timed(day, args.seed)),
        ("naive dispatch (every free agent asked)", *timed(day, args.seed, narrow=False)),
        ("lifecycle rules off", *timed(no_rules, args.seed)),
    ]
    console = Console()
    console.print(
        f"One simulated day: {args.agents} agents, {args.hours:g} h open, "
        f"target occupancy {args.occupancy:.0%}, seed {args.seed}"
    )
    table = Table(title="bench/simulate.py (goal: the model under 5 s)")
    for column in (
        "run",
        "contacts",
        "events",
        "wall s",
        "CPU s",
        "events/s (CPU)",
        "SL",
        "abandoned",
        "occupancy",
        "at-risk over target",
    ):
        table.add_column(column, justify="left" if column == "run" else "right")
    for name, figures, wall, cpu in runs:
        table.add_row(
            name,
            f"{figures.offered:,}",
            f"{figures.events:,}",
            f"{wall:.2f}",
            f"{cpu:.2f}",
            f"{figures.events / cpu:,.0f}",
            f"{figures.service_level or 0:.1%}",
            f"{figures.abandon_rate or 0:.1%}",
            f"{figures.occupancy or 0:.1%}",
            f"{figures.at_risk_over_target:,}",
        )
    console.print(table)
    same = runs[0][1] == runs[1][1]
    console.print(f"naive dispatch gives the same day: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
