"""What makes the simulation fast must not change the day it simulates: asking only the first
agent in the strategy's order gives every contact the same outcome and agent as handing every
free agent to domain.routing.assignments, on a center with chats, languages, a relaxation and
lifecycle rules; the day is the one the model gave before it was made faster (each contact's
outcome hashed, the digests recorded from commit 4653561's model, with breaks between shifts and
other strategies too); and the cheap copies of an agent's view (domain.routing.updated, the
model's `changed`) are dataclasses.replace's."""

from __future__ import annotations

import hashlib
import math
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
from touchpoint.domain.routing import AgentView, taking, updated

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


def variant(day: ModelInput, kind: str) -> ModelInput:
    """`breaks`: every other agent's shift broken at 48 min for 0-4 minutes (a log-in while
    they may be in wrap-up); `orders`: sales least-occupied, support fewest-calls."""
    if kind == "breaks":
        shifts: list[Shift] = []
        for i, a in enumerate(day.config.agents):
            if i % 2:
                back = 0.8 * HOUR + 60 * (i % 5)
                shifts += [Shift(a, 0, 0.8 * HOUR), Shift(a, back, 2 * HOUR)]
            else:
                shifts.append(Shift(a, 0, 2 * HOUR))
        return replace(day, shifts=tuple(shifts))
    if kind == "orders":
        queues = dict(day.config.queues)
        queues["sales"] = replace(queues["sales"], strategy="least-occupied")
        queues["support"] = replace(queues["support"], strategy="fewest-calls")
        return replace(day, config=replace(day.config, queues=queues))
    return day


def digest(outcomes: list[tuple[object, ...]]) -> str:
    h = hashlib.sha256()
    for outcome in outcomes:
        h.update(repr(outcome).encode())
    return h.hexdigest()[:16]


# Each contact's outcome (CenterModel.outcomes) hashed as `digest` does, from the model of
# commit 4653561 — before the end of a call and of its wrap-up became one event, a freed agent
# was served without `assignments` and the sampling, events and views were made cheaper.
BEFORE = {
    (1, "plain"): "c0035cecbcd8ac3b",
    (1, "breaks"): "bd9b7abb781d8fde",
    (1, "orders"): "2599724a948279ac",
    (2, "plain"): "6a095392eb6a6f57",
    (2, "breaks"): "bda685f92a3a367f",
    (2, "orders"): "dd5cb0aab66794bc",
}


@pytest.mark.parametrize(("seed", "kind"), sorted(BEFORE))
def test_the_day_is_the_one_the_model_gave_before_it_was_made_faster(seed: int, kind: str) -> None:
    day = variant(mixed_center(45, seed), kind)
    fast, naive = CenterModel(day, seed), CenterModel(day, seed, narrow=False)
    figures = fast.run()
    assert replace(figures, events=0) == replace(naive.run(), events=0)
    assert digest(fast.outcomes()) == digest(naive.outcomes()) == BEFORE[(seed, kind)]
    assert figures.answered > 500


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


def test_the_models_copy_of_a_view_is_updated_s() -> None:
    """`CenterModel.changed` reuses what a view works out from its load; `taking` and every
    field of the copy (those worked out included) are domain.routing's."""
    model = CenterModel(mixed_center(6, 1), 1)
    rng = random.Random(7)
    view = AgentView(
        id="a",
        order=0,
        state="ready",
        queues=frozenset({"q"}),
        skills={},
        languages=frozenset({"en"}),
        team=None,
        capacity={"phone": 1, "chat": 3, "email": 5},
        load={},
        idle_since=DAY,
        handled_today=0,
    )
    for step in range(300):
        channel = rng.choice(["phone", "chat", "email"])
        if rng.random() < 0.5 and view.has_room(channel):
            ours, theirs = model.taking(view, channel), taking(view, channel)
        else:
            load = {c: max(0, n - rng.randint(0, 1)) for c, n in view.load.items()}
            changes = {"load": load, "idle_since": DAY, "handled_today": step}
            ours, theirs = model.changed(view, **changes), updated(view, **changes)
        assert vars(ours) == vars(theirs)
        assert ours.occupancy() == theirs.occupancy()
        assert ours.has_room_for_any() == theirs.has_room_for_any()
        view = ours


@pytest.mark.parametrize(
    "distribution",
    [
        Distribution("lognormal", 300, 0.5),
        Distribution("exponential", 240),
        Distribution("fixed", 30),
        Distribution("infinite"),
    ],
)
def test_a_distributions_sampler_draws_what_sample_draws(distribution: Distribution) -> None:
    draw = distribution.sampler()
    ours, theirs = random.Random(3), random.Random(3)
    for _ in range(50):
        a, b = draw(ours), distribution.sample(theirs)
        assert a == b or (math.isinf(a) and math.isinf(b))
