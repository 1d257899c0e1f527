"""The seeded synthetic business behind `touchpoint demo`: months of believable customer journeys
on every channel, as interaction dicts in the shape `POST /v1/interactions` takes."""

from __future__ import annotations

import calendar
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from random import Random
from typing import Any

from touchpoint.demo.journey import Journey
from touchpoint.demo.people import PersonFactory, Pools, build_agents, build_pools
from touchpoint.demo.relationship import Referral
from touchpoint.demo.service import ContactCenter

B2B_SHARE = 0.06
REFERRAL_UPTAKE = 0.7  # share of new-person slots that accept a waiting invitation


def generate_interactions(
    customers: int = 5_000,
    *,
    seed: int = 7,
    end: datetime,
    months: int = 18,
) -> Iterator[dict[str, Any]]:
    """Yield the interactions of `customers` people over the `months` before `end` (the demo
    passes the moment it runs, so its business is happening now; tests pass a fixed moment).

    The same arguments always yield the same interactions, and the first n people are the same
    whatever `customers` is. Each person's interactions come out together and in time order;
    ids are `demo-{person}-{n}`. About 40 interactions per person.
    """
    if customers < 0:
        raise ValueError("customers must be zero or more")
    if months < 1:
        raise ValueError("months must be at least 1")
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    return _simulate(customers, seed, months_before(end.astimezone(UTC), months), end)


def _simulate(
    customers: int, seed: int, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    start_ts, end_ts = start.timestamp(), end.timestamp()
    rng = Random(seed)
    pools = _pools(seed)
    center = ContactCenter(build_agents(pools, rng), start_ts, end_ts)
    people = PersonFactory(pools, rng, end.astimezone(UTC).date())
    invitations: deque[Referral] = deque()
    for index in range(customers):
        while invitations and invitations[0].at >= end_ts:
            invitations.popleft()  # sent too late for the friend to show up in the period
        referral = None
        if invitations and rng.random() < REFERRAL_UPTAKE:
            referral = invitations.popleft()
        person = people.make(index, b2b=referral is None and rng.random() < B2B_SHARE)
        begins = referral.at if referral else start_ts + rng.random() * (end_ts - start_ts)
        journey = Journey(person, rng, end_ts, center, invitations)
        journey.run(begins, referral)
        yield from journey.finish()


def months_before(end: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's length)."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    day = min(end.day, calendar.monthrange(year, month + 1)[1])
    return end.replace(year=year, month=month + 1, day=day)


@lru_cache(maxsize=4)
def _pools(seed: int) -> Pools:
    return build_pools(seed)


def summarize(interactions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts by type and channel, people, revenue by currency (net of refunds and cancellations)."""
    by_type: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    people: set[str] = set()
    revenue: Counter[str] = Counter()
    for item in interactions:
        by_type[item["type"]] += 1
        by_channel[item["channel"]] += 1
        people.add(item["id"].rsplit("-", 1)[0])
        if item.get("revenue") is not None:
            revenue[item["currency"]] += item["revenue"]  # signed: money given back is negative
    return {
        "interactions": sum(by_type.values()),
        "people": len(people),
        "by_type": dict(by_type.most_common()),
        "by_channel": dict(by_channel.most_common()),
        "net_revenue": {currency: round(amount, 2) for currency, amount in revenue.items()},
    }


def center_config(seed: int = 7) -> dict[str, Any]:
    """The demo business's contact center as a configuration document (what
    `touchpoint cc config apply` reads, as JSON): its sales, support and retention queues and the
    same agents the simulation staffs them with — skill as a level 1-10, phone, chat and email —
    and lifecycle-aware rules: at-risk and churned customers to the retention team first, loyal
    ones and advocates ahead in line, the last agent a customer spoke to held for them a moment."""
    teams = build_agents(_pools(seed), Random(seed))  # the simulation's first draw: the same agents
    queues = {
        "sales": {"channels": ["phone", "chat"], "priority": 5, "target": "80/20", "wrapup_s": 30},
        "support": {
            "channels": ["phone", "chat", "email", "social"],
            "target": "80/30",
            "wrapup_s": 45,
            "skills": {"support": 3},
            "relax": [{"after_s": 60, "min_level": 1}],
        },
        "retention": {
            "channels": ["phone", "chat"],
            "priority": 10,
            "target": "90/20",
            "wrapup_s": 60,
        },
    }
    agents: dict[str, Any] = {}
    for team, members in teams.items():
        for agent in members:
            agent_id = agent.id
            served = [team] if team != "support" else ["support"]
            if team == "retention":
                served = ["retention", "support"]
            agents[agent_id] = {
                "name": agent.name,
                "team": team,
                "queues": served,
                "skills": {queue: max(1, min(10, round(agent.skill * 10))) for queue in served},
                "languages": ["en"],
                "capacity": {"phone": 1, "chat": 3, "email": 5, "social": 5},
            }
    rules = [
        {
            "name": "at-risk and churned customers to the retention team",
            "stages": ["at_risk", "churned"],
            "team": "retention",
            "team_for_s": 60,
            "priority": 10,
        },
        {
            "name": "loyal customers and advocates first",
            "stages": ["loyalty", "advocacy"],
            "priority": 5,
        },
        {
            "name": "the last agent, if ready within 20 s",
            "last_agent_within_days": 30,
            "prefer_agent_s": 20,
        },
    ]
    return {
        "center": {"lease_s": 15, "default_handle_s": 300},
        "queues": queues,
        "agents": agents,
        "rules": rules,
    }
