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

The day must not change when the model gets faster: each contact's outcome (arrival, outcome,
wait, callback, the agent who took it) is hashed, and with the default arguments compared with
the hash the model gave before it was made fast (commit 9791c57, whose CPU times on this bench
are printed beside today's). Events counts the SimPy events scheduled: since then a contact
taken on arrival schedules no give-up or hold-end events (they could only find it taken), and
the end of a contact that took all of an idle agent and the end of its wrap-up are one event
(nobody can offer the agent anything in between), so events/s fell with the work per day.

    uv run python bench/simulate.py [--agents 500] [--hours 12] [--occupancy 0.9] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from touchpoint.contact_center.config import validate
from touchpoint.contact_center.simulation import CenterModel, DayFigures
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


# Before the model was made fast (commit 9791c57), with the default arguments: the hash of each
# contact's outcome (as `digest` makes it; the outcomes recorded from that commit's model) and
# the CPU seconds docs/decisions.md gives for each run.
BEFORE_DIGEST = "b58641b312a0be06bd2b58792515dec1909dc08288ef0ba4c9b8ce7f7d65364a"
BEFORE_CPU_S = {
    "the model": 11.4,
    "naive dispatch (every free agent asked)": 18.4,
    "lifecycle rules off": 9.8,
}
DEFAULTS = {"agents": 500, "hours": 12.0, "occupancy": 0.9, "seed": 1}


def digest(outcomes: list[tuple[object, ...]]) -> str:
    h = hashlib.sha256()
    for outcome in outcomes:
        h.update(repr(outcome).encode())
    return h.hexdigest()


def timed(
    day: ModelInput, seed: int, *, narrow: bool = True
) -> tuple[DayFigures, float, float, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    model = CenterModel(day, seed, narrow=narrow)
    figures = model.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return figures, wall, cpu, digest(model.outcomes())


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
    defaults = vars(args) == DEFAULTS
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
        "CPU s before (9791c57)",
        "events/s (CPU)",
        "SL",
        "abandoned",
        "occupancy",
        "at-risk over target",
    ):
        table.add_column(column, justify="left" if column == "run" else "right")
    for name, figures, wall, cpu, _digest in runs:
        before = BEFORE_CPU_S[name] if defaults else None
        table.add_row(
            name,
            f"{figures.offered:,}",
            f"{figures.events:,}",
            f"{wall:.2f}",
            f"{cpu:.2f}",
            "" if before is None else f"{before:.1f}",
            f"{figures.events / cpu:,.0f}",
            f"{figures.service_level or 0:.1%}",
            f"{figures.abandon_rate or 0:.1%}",
            f"{figures.occupancy or 0:.1%}",
            f"{figures.at_risk_over_target:,}",
        )
    console.print(table)
    same = runs[0][1] == runs[1][1] and runs[0][4] == runs[1][4]
    console.print(
        f"naive dispatch gives the same day, contact by contact: {'yes' if same else 'NO'}"
    )
    console.print(f"the model's day: sha256 {runs[0][4][:16]}…")
    if defaults:
        unchanged = runs[0][4] == BEFORE_DIGEST
        console.print(
            f"the same day as before the speed-up (9791c57): {'yes' if unchanged else 'NO'}"
        )
    else:
        console.print("the day before the speed-up is recorded for the default arguments only")


if __name__ == "__main__":
    main()
