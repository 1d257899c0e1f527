"""domain.routing on hand-built agents and contacts: who is eligible, each strategy's pick, shared
capacity, skill relaxation, the order of service and lifecycle-aware rules. Every expected agent
is worked out by hand from the figures in the test."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.domain.routing import (
    AgentView,
    ContactView,
    CustomerFacts,
    QueueSpec,
    Relaxation,
    RoutingRule,
    apply_rules,
    choose,
    eligible,
    estimated_wait_s,
    service_order,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SALES = QueueSpec(id="sales", channels=("phone", "chat"), skills={"sales": 3})


def agent(
    name: str,
    order: int,
    *,
    idle_min: int = 0,
    skills: dict[str, int] | None = None,
    load: dict[str, int] | None = None,
    handled: int = 0,
    team: str | None = None,
    state: str = "ready",
    languages: tuple[str, ...] = ("en",),
    wrap_until: datetime | None = None,
) -> AgentView:
    return AgentView(
        id=name,
        order=order,
        state=state,
        queues=frozenset({"sales", "support"}),
        skills=skills if skills is not None else {"sales": 5},
        languages=frozenset(languages),
        team=team,
        capacity={"phone": 1, "chat": 3, "email": 5},
        load=load or {},
        idle_since=NOW - timedelta(minutes=idle_min),
        handled_today=handled,
        wrap_until=wrap_until,
    )


def call(joined_s_ago: float = 0, **kw: object) -> ContactView:
    return ContactView(
        id=str(kw.pop("id", "c1")),
        queue=str(kw.pop("queue", "sales")),
        channel=str(kw.pop("channel", "phone")),
        language=kw.pop("language", None),  # type: ignore[arg-type]
        joined_at=NOW - timedelta(seconds=joined_s_ago),
        **kw,  # type: ignore[arg-type]
    )


# Ana idle 10 min, 2 handled, level 4; Bo idle 30 min, 5 handled, level 9; Cy idle 20 min,
# 1 handled, level 3, one chat open (occupancy 1/3).
POOL = [
    agent("ana", 0, idle_min=10, handled=2, skills={"sales": 4}),
    agent("bo", 1, idle_min=30, handled=5, skills={"sales": 9}),
    agent("cy", 2, idle_min=20, handled=1, skills={"sales": 3}, load={"chat": 1}),
]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("longest-idle-agent", "bo"),  # idle 30 > 20 > 10 min
        ("leastrecent", "bo"),  # Asterisk's name for it
        ("least-occupied", "bo"),  # ana and bo at 0 (cy 1/3); the tie to the longest idle
        ("fewest-calls", "cy"),  # 1 < 2 < 5 handled today (cy takes a chat)
        ("linear", "ana"),  # first in the configuration
        ("most-skilled", "bo"),  # level 9
    ],
)
def test_each_strategy_picks_the_agent_worked_out_by_hand(strategy: str, expected: str) -> None:
    contact = call(channel="chat")
    decision = choose(contact, _queue(strategy), POOL, NOW)
    assert decision.agent == expected, decision
    assert set(decision.candidates) == {"ana", "bo", "cy"}


def _queue(strategy: str) -> QueueSpec:
    return QueueSpec(id="sales", channels=("phone", "chat"), skills={"sales": 3}, strategy=strategy)


def test_round_robin_takes_the_next_agent_after_the_last_one_chosen() -> None:
    queue = _queue("rrmemory")
    assert choose(call(), queue, POOL, NOW, last_chosen="ana").agent == "bo"
    assert choose(call(), queue, POOL, NOW, last_chosen="bo").agent == "ana"  # cy has a chat
    assert choose(call(), queue, POOL, NOW, last_chosen=None).agent == "ana"


def test_random_strategies_pick_only_eligible_agents_and_weigh_by_skill() -> None:
    rng = random.Random(7)
    picks = [choose(call(), _queue("wrandom"), POOL, NOW, rng=rng).agent for _ in range(900)]
    assert set(picks) == {"ana", "bo"}  # cy's chat leaves no room for a call
    # weights 4 : 9, so bo about 9/13 of the time (623 of 900): well inside 540..700.
    assert 540 < picks.count("bo") < 700


def test_shared_capacity_one_call_or_three_chats_or_five_emails() -> None:
    two_chats = agent("x", 0, load={"chat": 2})
    assert two_chats.has_room("chat")  # 2/3 + 1/3 = 1
    assert two_chats.has_room("email")  # 2/3 + 1/5 = 0.87
    assert not two_chats.has_room("phone")  # 2/3 + 1 > 1
    full = agent("y", 0, load={"chat": 2, "email": 2})  # 2/3 + 2/5 = 1.07: over already
    assert not full.has_room("email")
    assert agent("z", 0).has_room("phone") and not agent("z", 0, load={"phone": 1}).has_room("chat")
    assert agent("w", 0, load={"email": 4}).has_room("email")  # 4/5 + 1/5 = 1


def test_skill_levels_relax_with_waiting_time() -> None:
    queue = QueueSpec(
        id="sales",
        channels=("phone",),
        skills={"sales": 5},
        relaxations=(Relaxation(after_s=60, min_level=3), Relaxation(after_s=120, min_level=1)),
    )
    junior = agent("jr", 0, skills={"sales": 3})
    assert not eligible(junior, call(joined_s_ago=59), queue, NOW)
    assert eligible(junior, call(joined_s_ago=60), queue, NOW)
    novice = agent("nv", 0, skills={"sales": 1})
    assert not eligible(novice, call(joined_s_ago=119), queue, NOW)
    assert eligible(novice, call(joined_s_ago=121), queue, NOW)
    assert not eligible(agent("none", 0, skills={}), call(joined_s_ago=999), queue, NOW)


def test_who_is_not_eligible() -> None:
    contact = call(language="pt")
    matching = QueueSpec(id="sales", channels=("phone",), skills={}, language_match=True)
    assert not eligible(agent("en", 0), contact, matching, NOW)
    assert eligible(agent("pt", 0, languages=("en", "pt")), contact, matching, NOW)
    for unready in ("not_ready", "logged_out", "wrap_up"):
        assert not eligible(agent("u", 0, state=unready), call(), SALES, NOW)
    wrapping = agent("w", 0, wrap_until=NOW + timedelta(seconds=5))
    assert not eligible(wrapping, call(), SALES, NOW)
    assert eligible(wrapping, call(), SALES, NOW + timedelta(seconds=5))
    assert not eligible(agent("q", 0), call(queue="billing"), SALES, NOW)


def test_service_order_is_priority_then_place_in_line() -> None:
    vip = call(joined_s_ago=5, id="vip", priority=10)
    old = call(joined_s_ago=90, id="old")
    new = call(joined_s_ago=10, id="new")
    ordered = sorted([new, vip, old], key=lambda c: service_order(c, SALES))
    assert [c.id for c in ordered] == ["vip", "old", "new"]


def test_lifecycle_rules_send_at_risk_customers_to_retention_and_keep_sticky_agents() -> None:
    rules = [
        RoutingRule(name="vip", trait="vip", priority=5),
        RoutingRule(
            name="retention",
            stages=("at_risk", "churned"),
            team="retention",
            priority=10,
            team_for_s=60,
        ),
        RoutingRule(name="sticky", last_agent_within_days=30, prefer_agent_s=20),
    ]
    at_risk_vip = CustomerFacts(
        stage="at_risk",
        traits={"vip": True},
        last_agent="bo",
        last_agent_at=NOW - timedelta(days=3),
    )
    outcome = apply_rules(rules, at_risk_vip, "sales", NOW)
    assert outcome.applied == ("vip", "retention", "sticky")
    assert (outcome.priority, outcome.team, outcome.preferred_agent) == (15, "retention", "bo")
    assert outcome.team_until == NOW + timedelta(seconds=60)
    assert outcome.prefer_until == NOW + timedelta(seconds=20)
    stale = CustomerFacts(stage="loyalty", last_agent="bo", last_agent_at=NOW - timedelta(days=31))
    assert apply_rules(rules, stale, "sales", NOW).applied == ()
    # The retention team first; after 60 s anyone in the queue.
    pool = [agent("ana", 0, team="sales", idle_min=50), agent("rita", 1, team="retention")]
    contact = call(team="retention", team_until=NOW + timedelta(seconds=60))
    assert choose(contact, SALES, pool, NOW).agent == "rita"
    assert choose(contact, SALES, pool[:1], NOW).agent is None
    assert choose(contact, SALES, pool[:1], NOW + timedelta(seconds=61)).agent == "ana"


def test_a_sticky_contact_waits_for_its_agent_then_takes_anyone() -> None:
    pool = [agent("ana", 0, idle_min=50), agent("bo", 1, state="not_ready")]
    held = call(preferred_agent="bo", prefer_until=NOW + timedelta(seconds=20))
    decision = choose(held, SALES, pool, NOW)
    assert (decision.agent, decision.reason) == (None, "held for the preferred agent")
    assert choose(held, SALES, pool, NOW + timedelta(seconds=21)).agent == "ana"
    ready_bo = [agent("ana", 0, idle_min=50), agent("bo", 1)]
    assert choose(held, SALES, ready_bo, NOW).agent == "bo"


def test_estimated_wait() -> None:
    # third in line, 2 agents, 240 s each: 3 * 240 / 2 = 360 s
    assert estimated_wait_s(3, 2, 240) == 360
    assert estimated_wait_s(1, 0, 100) == 100  # no agent logged in: as if one


# --- assignments: the merge of the lines equals a scan of everything ---------------------------

from dataclasses import replace  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from touchpoint.domain.routing import assignments  # noqa: E402

QUEUES = {
    "sales": QueueSpec(id="sales", channels=("phone", "chat"), skills={"sales": 4}, priority=5),
    "support": QueueSpec(id="support", channels=("phone", "chat", "email"), skills={}),
    "fr": QueueSpec(id="fr", channels=("phone",), skills={}, language_match=True),
}


@st.composite
def centers(draw: st.DrawFn) -> tuple[dict[str, AgentView], list[ContactView]]:
    agents = {}
    for i in range(draw(st.integers(0, 6))):
        agents[f"a{i}"] = AgentView(
            id=f"a{i}",
            order=i,
            state=draw(st.sampled_from(("ready", "ready", "not_ready"))),
            queues=frozenset(draw(st.sets(st.sampled_from(sorted(QUEUES)), min_size=1))),
            skills={"sales": draw(st.integers(0, 10))},
            languages=frozenset(draw(st.sets(st.sampled_from(("en", "fr")), min_size=1))),
            team=draw(st.sampled_from((None, "retention"))),
            capacity={"phone": 1, "chat": 3, "email": 5},
            load=draw(st.sampled_from(({}, {"chat": 1}, {"chat": 2}, {"phone": 1}))),
            idle_since=NOW - timedelta(seconds=draw(st.integers(0, 100))),
            handled_today=0,
        )
    contacts = []
    for i in range(draw(st.integers(0, 15))):
        queue = draw(st.sampled_from(sorted(QUEUES)))
        contacts.append(
            ContactView(
                id=f"c{i:02d}",
                queue=queue,
                channel=draw(st.sampled_from(QUEUES[queue].channels)),
                language=draw(st.sampled_from((None, "en", "fr"))),
                joined_at=NOW - timedelta(seconds=draw(st.integers(0, 50))),
                priority=draw(st.sampled_from((0, 0, 10))),
                team=draw(st.sampled_from((None, None, "retention"))),
            )
        )
    return agents, contacts


def scan_all(agents: dict[str, AgentView], contacts: list[ContactView]) -> list[tuple[str, str]]:
    """Every waiting contact in service order, every agent tried: the definition, slowly."""
    agents = dict(agents)
    made = []
    last: dict[str, str] = {}
    for contact in sorted(contacts, key=lambda c: service_order(c, QUEUES[c.queue])):
        decision = choose(
            contact,
            QUEUES[contact.queue],
            list(agents.values()),
            NOW,
            last_chosen=last.get(contact.queue),
        )
        if decision.agent is not None:
            chosen = agents[decision.agent]
            load = dict(chosen.load)
            load[contact.channel] = load.get(contact.channel, 0) + 1
            agents[chosen.id] = replace(chosen, load=load)
            last[contact.queue] = chosen.id
            made.append((contact.id, chosen.id))
    return made


@settings(max_examples=300, deadline=None)
@given(centers())
def test_assignments_make_the_same_offers_as_scanning_everything(
    center: tuple[dict[str, AgentView], list[ContactView]],
) -> None:
    agents, contacts = center
    lines = {
        q: sorted((c for c in contacts if c.queue == q), key=lambda c: service_order(c, QUEUES[q]))
        for q in QUEUES
    }
    made = [(c.id, d.agent) for c, d, _ in assignments(lines, QUEUES, agents, NOW)]
    assert made == scan_all(agents, contacts)
    # and never an agent past capacity
    taken: dict[str, AgentView] = dict(agents)
    for contact_id, agent in made:
        contact = next(c for c in contacts if c.id == contact_id)
        assert taken[agent].has_room(contact.channel)
        load = dict(taken[agent].load)
        load[contact.channel] = load.get(contact.channel, 0) + 1
        taken[agent] = replace(taken[agent], load=load)
