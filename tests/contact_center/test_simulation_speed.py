"""What makes the simulation fast must not change the day it simulates: asking only the first
agent in the strategy's order gives every contact the same outcome and agent as handing every
free agent to domain.routing.assignments, on a center with chats, languages, a relaxation and
lifecycle rules; and the cheap copy of an agent's view (domain.routing.updated) is
dataclasses.replace's."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from touchpoint.contact_center.config import validate
from touchpoint.contact_center.simulation import CenterModel
from touchpoint.contact_center.simulation_inputs import (
    Distribution,
    ModelInput,
    QueueDemand,
    Shift,
)
from touchpoint.domain.routing import AgentView, updated

DAY = datetime(2026, 6, 1, tzinfo=UTC)
HOUR = 3600.0


def mixed_center(agents: int, seed: int) -> ModelInput:
    """Three queues (one language-matched with a skill relaxed after 60 s), phone and chat with
    room for 3 chats, English and Spanish speakers, at-risk customers held 60 s for the
    retention team and loyal ones ahead — about 90% occupied for two hours."""
    rng = random.Random(seed)
    served = {"sales": ["sales"], "support": ["support"], "retention": ["retention", "support"]}
    people = {}
    for i in range(agents):
        team = ("sales", "support", "retention")[i % 3]
        people[f"a{i:03d}"] = {
            "team": team,
            "queues": served[team],
            "skills": {q: rng.randint(1, 10) for q in served[team]},
            "languages": ["en", "es"] if i % 4 == 0 else ["en"],
            "capacity": {"phone": 1, "chat": 3},
        }
    config = validate(
        {
            "queues": {
                "sales": {"channels": ["phone", "chat"], "wrapup_s": 20},
                "support": {
                    "channels": ["phone", "chat"],
                    "wrapup_s": 30,
                    "skills": {"support": 4},
                    "relax": [{"after_s": 60, "min_level": 1}],
                    "language_match": True,
                },
                "retention": {"channels": ["phone"], "priority": 10, "wrapup_s": 45},
            },
            "agents": people,
            "rules": [
                {"name": "at risk", "stages": ["at_risk"], "team": "retention", "team_for_s": 60},
                {"name": "loyal", "stages": ["loyalty"], "priority": 5},
            ],
        }
    )
    per_30m = 0.9 * agents * 1800 / 250 / 3
    demand = {
        q: QueueDemand(
            queue=q,
            interval_s=1800,
            rates=(per_30m,) * 4,
            channels={"phone": 1.0} if q == "retention" else {"phone": 0.6, "chat": 0.4},
            handle={
                "phone": Distribution("lognormal", 300, 0.5),
                "chat": Distribution("lognormal", 540, 0.5),
            },
            patience={
                "phone": Distribution("exponential", 240),
                "chat": Distribution("exponential", 300),
            },
            stages={"at_risk": 0.15, "loyalty": 0.1},
            languages={"es": 0.15, "en": 0.85},
            callback_share=0.3,
        )
        for q in ("sales", "support", "retention")
    }
    return ModelInput(
        config=config,
        demand=demand,
        shifts=tuple(Shift(a, 0, 2 * HOUR) for a in people),
        day_start=DAY,
        horizon_s=2 * HOUR,
        warmup_s=0,
        thresholds={},
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_asking_the_first_agent_in_order_gives_every_contact_the_same_day(seed: int) -> None:
    day = mixed_center(45, seed)
    fast, naive = CenterModel(day, seed), CenterModel(day, seed, narrow=False)
    assert fast.run() == naive.run()
    outcomes = fast.outcomes()
    assert outcomes == naive.outcomes()
    # the day has what the shortcuts must get right, or the comparison proves little
    agents = day.config.agents
    answered = [o for o in outcomes if o[5] == "assigned"]
    assert len(answered) > 500
    assert {o[5] for o in outcomes} >= {"assigned", "abandoned"}
    assert any(o[7] for o in outcomes)  # callbacks
    spanish = [o for o in answered if o[1] == "support" and "es" in agents[o[8]].languages]
    assert spanish
    retention_took_support = [
        o for o in answered if o[1] == "support" and agents[o[8]].team == "retention"
    ]
    assert retention_took_support
    chats = [o for o in answered if o[2] == "chat"]
    assert len({o[8] for o in chats}) < len(chats)  # agents took several chats


def test_updated_is_dataclasses_replace() -> None:
    view = AgentView(
        id="a",
        order=0,
        state="ready",
        queues=frozenset({"q"}),
        skills={"s": 3},
        languages=frozenset({"en"}),
        team=None,
        capacity={"phone": 1, "chat": 3},
        load={},
        idle_since=DAY,
        handled_today=0,
    )
    changes = {"load": {"chat": 2}, "handled_today": 4, "state": "not_ready"}
    copy = updated(view, **changes)
    assert copy == replace(view, **changes)  # type: ignore[arg-type]
    assert view.load == {} and view.occupancy() == 0  # the original is untouched
    # two of three chats: 2/3 taken, room for one more chat and no call
    assert copy.occupancy() == pytest.approx(2 / 3)
    assert copy.has_room("chat") and not copy.has_room("phone")
    with pytest.raises(TypeError, match="no field 'room'"):
        updated(view, room=1)
