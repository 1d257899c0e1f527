"""Claim (issue 11): a routing decision takes < 1 ms at p99 and the router makes >= 5,000
decisions/s, with 1,000 agents, 10,000 waiting contacts, mixed skills and languages and
lifecycle rules on. Measured two ways, each beside a baseline in the same run:

- **decisions**: the router's decision code (domain.routing.assignments) on a loaded center —
  every agent busy but one, who has just become free, gets the contact routing gives them —
  beside a naive scan-all (sort the whole line, try every agent for each contact in turn);
- **end to end on SQLite** (the embedded default): the same center in a data directory; an
  agent ends a contact through the service (one transaction: end it, wrap-up, dispatch the next
  contact to whoever may take it) — per call, the latency a telephony front end sees.

    uv run python bench/routing.py [--agents 1000] [--waiting 10000] [--decisions 2000] [--calls 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from touchpoint.domain.routing import (
    AgentView,
    ContactView,
    QueueSpec,
    assignments,
    choose,
    service_order,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SKILLS = ("sales", "billing", "tech", "retention", "vip")
LANGUAGES = ("en", "es", "pt", "fr")
CHANNELS = ("phone", "chat", "email")


def build_center(
    n_agents: int, n_waiting: int, seed: int = 7
) -> tuple[dict[str, QueueSpec], dict[str, AgentView], list[ContactView]]:
    rng = random.Random(seed)
    queues = {}
    for i in range(20):
        skill = SKILLS[i % len(SKILLS)]
        queues[f"q{i}"] = QueueSpec(
            id=f"q{i}",
            channels=CHANNELS,
            skills={skill: rng.randint(1, 6)},
            priority=rng.choice((0, 0, 5, 10)),
            language_match=i % 3 == 0,
            strategy=rng.choice(("longest-idle-agent", "least-occupied", "most-skilled")),
        )
    agents = {}
    for i in range(n_agents):
        served = rng.sample(sorted(queues), 4)
        agents[f"a{i}"] = AgentView(
            id=f"a{i}",
            order=i,
            state="ready",
            queues=frozenset(served),
            skills={s: rng.randint(1, 10) for s in rng.sample(SKILLS, 3)},
            languages=frozenset(rng.sample(LANGUAGES, rng.randint(1, 2))),
            team=rng.choice(("sales", "support", "retention")),
            capacity={"phone": 1, "chat": 3, "email": 5},
            load={"phone": 1},  # everyone busy on a call
            idle_since=NOW - timedelta(seconds=rng.randint(0, 3600)),
            handled_today=rng.randint(0, 40),
        )
    contacts = []
    for i in range(n_waiting):
        at_risk = rng.random() < 0.1  # lifecycle rules: at-risk to the retention team, boosted
        contacts.append(
            ContactView(
                id=f"c{i:06d}",
                queue=f"q{rng.randrange(20)}",
                channel="phone",
                language=rng.choice(LANGUAGES),
                joined_at=NOW - timedelta(seconds=rng.randint(0, 1800)),
                priority=10 if at_risk else 0,
                team="retention" if at_risk else None,
                team_until=NOW + timedelta(seconds=60) if at_risk else None,
            )
        )
    return queues, agents, contacts


def lines_of(
    contacts: list[ContactView], queues: dict[str, QueueSpec]
) -> dict[str, list[ContactView]]:
    lines: dict[str, list[ContactView]] = {q: [] for q in queues}
    for contact in contacts:
        lines[contact.queue].append(contact)
    for queue_id, line in lines.items():
        line.sort(key=lambda c: service_order(c, queues[queue_id]))
    return lines


def naive(
    contacts: list[ContactView], queues: dict[str, QueueSpec], agents: dict[str, AgentView]
) -> str | None:
    """Scan-all: the whole line in service order, every agent tried for each contact."""
    ordered = sorted(contacts, key=lambda c: service_order(c, queues[c.queue]))
    everyone = list(agents.values())
    for contact in ordered:
        decision = choose(contact, queues[contact.queue], everyone, NOW)
        if decision.agent is not None:
            return contact.id
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def decisions_bench(
    n_agents: int, n_waiting: int, samples: int
) -> tuple[list[float], list[float], int]:
    queues, agents, contacts = build_center(n_agents, n_waiting)
    lines = lines_of(contacts, queues)
    rng = random.Random(1)
    ours: list[float] = []
    baseline: list[float] = []
    chosen: list[str | None] = []
    names = sorted(agents)
    freed_agents = [rng.choice(names) for _ in range(samples)]

    def center_with(freed: str) -> dict[str, AgentView]:
        center = dict(agents)
        center[freed] = replace(agents[freed], load={})
        return center

    for freed in freed_agents:
        center = center_with(freed)
        started = time.perf_counter()
        got = next(assignments(lines, queues, center, NOW), None)
        ours.append(time.perf_counter() - started)
        chosen.append(got[0].id if got else None)
    agreed = 0
    for n, freed in enumerate(freed_agents[: max(20, samples // 20)]):  # slow: a sample of it
        center = center_with(freed)
        started = time.perf_counter()
        expected = naive(contacts, queues, center)
        baseline.append(time.perf_counter() - started)
        agreed += chosen[n] == expected
    return ours, baseline, agreed


def end_to_end(n_agents: int, n_waiting: int, calls: int) -> list[float]:
    from touchpoint.contact_center import router
    from touchpoint.runtime import open_touchpoint
    from touchpoint.services import contact_center as service
    from touchpoint.settings import Settings
    from touchpoint.store import contact_center as store

    queues, agents, contacts = build_center(n_agents, n_waiting)
    lines = ["[center]\nlease_s = 600\n"]
    for q in queues.values():
        skill, level = next(iter(q.skills.items()))
        lines.append(
            f'[queues.{q.id}]\nchannels = ["phone", "chat", "email"]\nskills = {{ {skill} = {level} }}\n'
            f"priority = {q.priority}\nlanguage_match = {str(q.language_match).lower()}\n"
            f'strategy = "{q.strategy}"\n'
        )
    for a in agents.values():
        skills = ", ".join(f"{s} = {v}" for s, v in a.skills.items())
        langs = ", ".join(f'"{x}"' for x in sorted(a.languages))
        served = ", ".join(f'"{x}"' for x in sorted(a.queues))
        lines.append(
            f'[agents.{a.id}]\nteam = "{a.team}"\nqueues = [{served}]\nskills = {{ {skills} }}\n'
            f"languages = [{langs}]\ncapacity = {{ phone = 1, chat = 3, email = 5 }}\n"
        )
    lines.append(
        '[[rules]]\nname = "retention"\nstages = ["at_risk"]\nteam = "retention"\n'
        "team_for_s = 60\npriority = 10\n"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    tp = open_touchpoint(Settings(data_dir=folder))
    try:
        service.apply_config(tp, text="".join(lines), actor="bench")
        now = datetime.now(UTC)
        with store.center_transaction(tp.engine) as conn:
            _v, config = service.current_config(conn)
            router.settle(conn, config, now)
            for a in agents.values():
                store.set_agent(conn, a.id, state="ready", state_since=now, idle_since=a.idle_since)
            # every agent on a call already, then the waiting line
            for a in agents.values():
                store.add_contact(
                    conn,
                    id=f"busy-{a.id}",
                    queue=sorted(a.queues)[0],
                    channel="phone",
                    identity={"external_id": f"busy-{a.id}"},
                    status="assigned",
                    created_at=now,
                    joined_at=now,
                    agent=a.id,
                    assigned_at=now,
                )
            for c in contacts:
                store.add_contact(
                    conn,
                    id=c.id,
                    queue=c.queue,
                    channel="phone",
                    language=c.language,
                    identity={"external_id": c.id},
                    status="waiting",
                    created_at=c.joined_at,
                    joined_at=c.joined_at,
                    priority=c.priority,
                    team=c.team,
                    team_until=c.team_until,
                )
        rng = random.Random(2)
        names = sorted(agents)
        timings = []
        for _ in range(calls):
            agent_id = rng.choice(names)
            with tp.engine.connect() as conn:
                held = [
                    r
                    for r in store.contacts_in(conn, ("assigned", "reserved"))
                    if r["agent"] == agent_id
                ]
            for row in held:
                if row["status"] == "reserved":
                    service.accept(tp, row["id"], agent_id)
            started = time.perf_counter()
            for row in held:
                service.complete(tp, row["id"], agent_id)  # ends it and dispatches the next
            if held:
                timings.append((time.perf_counter() - started) / len(held))
        return timings
    finally:
        tp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    console = Console(width=120)
    ours, baseline, agreed = decisions_bench(args.agents, args.waiting, args.decisions)
    console.print(
        f"[dim]the router and the scan-all chose the same contact in {agreed} of {len(baseline)} samples[/]"
    )
    flow = end_to_end(args.agents, args.waiting, args.calls)
    table = Table(
        title=f"Routing: {args.agents:,} agents, {args.waiting:,} waiting, lifecycle rules on"
    )
    for column in ("what", "samples", "p50", "p99", "per second", "goal"):
        table.add_column(column, justify="left" if column in ("what", "goal") else "right")

    def row(name: str, values: list[float], goal: str) -> None:
        table.add_row(
            name,
            f"{len(values):,}",
            f"{percentile(values, 0.5) * 1000:.3f} ms",
            f"{percentile(values, 0.99) * 1000:.3f} ms",
            f"{1 / statistics.mean(values):,.0f}",
            goal,
        )

    row("decision: router (assignments)", ours, "p99 < 1 ms, >= 5,000/s")
    row("decision: naive scan-all (baseline)", baseline, "")
    row("end to end on SQLite: complete -> next offered", flow, "")
    console.print(table)


if __name__ == "__main__":
    main()
