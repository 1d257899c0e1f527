"""A Hypothesis state machine over random sequences of router operations on a real database
(SQLite): offers, agents' states, accept, decline, complete, abandon, callback, transfer and
time passing. After every step: no agent past capacity, every offered or assigned contact has one
agent and every waiting one none, and no waiting contact is left while an agent who may take it
is ready with room (the known failure of Asterisk app_queue and Chatwoot: queued contacts not
assigned when capacity frees up)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.contact_center.center import Center
from touchpoint.contact_center import router
from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain.routing import eligible
from touchpoint.errors import Conflict, ValidationError
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings
from touchpoint.store import contact_center as store

CONFIG = """
[center]
lease_s = 15

[queues.sales]
channels = ["phone", "chat"]
priority = 5
wrapup_s = 20

[queues.support]
channels = ["phone", "chat", "email"]

[agents.ana]
team = "sales"
queues = ["sales", "support"]
capacity = { phone = 1, chat = 3, email = 5 }

[agents.bo]
team = "retention"
queues = ["sales", "support"]
capacity = { phone = 1, chat = 2 }

[agents.cy]
queues = ["support"]
capacity = { chat = 3, email = 5 }

[[rules]]
name = "retention"
stages = ["at_risk"]
team = "retention"
team_for_s = 30
priority = 10
"""
AGENTS = ("ana", "bo", "cy")


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tp = open_touchpoint(Settings(data_dir=tempfile.mkdtemp(prefix="tp-router-sm-")))
        self.cc = Center(self.tp, CONFIG)
        self.clock = 0.0
        self.cc.at(0).ready(*AGENTS)  # everyone starts ready; rules change it from there

    def teardown(self) -> None:
        self.tp.close()

    def _contacts(self, *statuses: str) -> list[Any]:
        with self.tp.engine.connect() as conn:
            return sorted(store.contacts_in(conn, statuses), key=lambda r: r["id"])

    def _try(self, work: Any, *args: Any, **kwargs: Any) -> None:
        try:
            self.cc.at(self.clock).run(work, *args, **kwargs)
        except (Conflict, ValidationError):
            pass  # a step the state forbids is refused: that is allowed, not a failure

    @rule(
        queue=st.sampled_from(("sales", "support")),
        channel=st.sampled_from(("phone", "chat", "email")),
        stage=st.sampled_from((None, "loyalty", "at_risk")),
    )
    def offer(self, queue: str, channel: str, stage: str | None) -> None:
        try:
            self.cc.at(self.clock).offer(queue=queue, channel=channel, stage=stage)
        except ValidationError:
            assert queue == "sales" and channel == "email"

    @rule(agent=st.sampled_from(AGENTS), command=st.sampled_from(router.AGENT_COMMANDS))
    def agent_state(self, agent: str, command: str) -> None:
        self._try(router.set_agent_state, agent, command)

    @rule(command=st.sampled_from(("ready", "not_ready")))
    def everyone(self, command: str) -> None:  # a break for all, then back: lines build up
        for agent in AGENTS:
            self._try(router.set_agent_state, agent, command)

    @rule(pick=st.integers(0, 20), take=st.booleans())
    def answer_offer(self, pick: int, take: bool) -> None:
        offered = self._contacts("reserved")
        if offered:
            row = offered[pick % len(offered)]
            self._try(router.accept if take else router.decline, row["id"], row["agent"])

    @rule(pick=st.integers(0, 20))
    def complete(self, pick: int) -> None:
        held = self._contacts("assigned")
        if held:
            row = held[pick % len(held)]
            self._try(router.complete, row["id"], row["agent"])

    @rule(pick=st.integers(0, 20))
    def abandon(self, pick: int) -> None:
        waiting = self._contacts("waiting", "reserved", "callback")
        if waiting:
            self._try(router.abandon, waiting[pick % len(waiting)]["id"])

    @rule(pick=st.integers(0, 20))
    def callback(self, pick: int) -> None:
        waiting = self._contacts("waiting")
        if waiting:
            self._try(router.callback, waiting[pick % len(waiting)]["id"])

    @rule(pick=st.integers(0, 20), to=st.sampled_from(("sales", "support")))
    def transfer(self, pick: int, to: str) -> None:
        held = self._contacts("assigned")
        if held:
            row = held[pick % len(held)]
            self._try(router.transfer, row["id"], row["agent"], to_queue=to)

    @rule(seconds=st.sampled_from((1.0, 5.0, 16.0, 21.0, 31.0)))
    def time_passes(self, seconds: float) -> None:
        self.clock += seconds

        def settle(conn: Any, config: CenterConfig, now: datetime) -> None:
            router.settle(conn, config, now)
            router.dispatch(conn, config, now)

        self.cc.at(self.clock).run(settle)

    @invariant()
    def nothing_double_booked_or_overfilled_or_left_waiting(self) -> None:
        now = self.cc.at(self.clock).now
        with self.tp.engine.connect() as conn:
            from touchpoint.services.contact_center import current_config

            _version, config = current_config(conn)
            views = router.agent_views(conn, config, now)
            everyone = store.contacts_in(conn, ("waiting", "reserved", "assigned", "callback"))
        for view in views.values():
            assert view.occupancy() <= 1 + 1e-9, (view.id, view.load)
        for row in everyone:
            if row["status"] in ("reserved", "assigned"):
                assert row["agent"] in AGENTS, row
            else:
                assert row["agent"] is None, row
        for row in everyone:
            if row["status"] not in ("waiting", "callback"):
                continue
            contact = router.contact_view(row)
            if contact.preferred_agent and contact.prefer_until and now < contact.prefer_until:
                continue  # held for a named agent a while, by design
            takers = [
                a.id
                for a in views.values()
                if eligible(a, contact, config.queues[contact.queue], now)
            ]
            assert takers == [], f"{row['id']} waits while {takers} could take it"


RouterMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_router_state_machine = pytest.mark.slow(RouterMachine.TestCase)
