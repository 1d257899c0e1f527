"""The demo's last hours at its contact center, through the real router.

The 18 months of history are drawn per person (waits and agents from the simulation's own dice,
see demo.service). The final hours before the business's end are not: contacts arrive (Poisson,
per queue and channel), agents of each team log in and take what the router offers them,
customers give up or ask to be called back when the wait is long — and every one of those steps
is a call of contact_center.router on the center's own tables, on a simulated clock. Who answers,
how long each customer waited, which rule put them first: the router decided it, and its log
(`cc-<contact id>` interactions) is what the KPIs, the wallboard and the lifecycle then read.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import Connection, Engine

from touchpoint.contact_center import router
from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain.routing import CustomerFacts
from touchpoint.errors import Conflict
from touchpoint.store import contact_center as store

HOURS = 2.0  # the stretch of time the router runs the center for, ending at the business's end
ARRIVALS_PER_HOUR = {"sales": 30.0, "support": 55.0, "retention": 12.0}
CHANNELS = {  # the queues' contacts by channel (each queue takes these channels)
    "sales": {"phone": 0.6, "chat": 0.4},
    "support": {"phone": 0.5, "chat": 0.3, "email": 0.15, "social": 0.05},
    "retention": {"phone": 0.8, "chat": 0.2},
}
MEAN_HANDLE_S = {"phone": 330.0, "chat": 540.0, "email": 420.0, "social": 360.0}
MEAN_PATIENCE_S = {"phone": 200.0, "chat": 260.0}  # written channels wait as long as it takes
CALLBACK_SHARE = 0.35  # of those who would hang up, the share asking to be called back instead
ON_DUTY = {"sales": 4, "support": 7, "retention": 2}  # agents per team logged in this afternoon
LONGEST_S = 1_800.0  # no conversation runs longer than this


@dataclass(frozen=True)
class Caller:
    """A customer of the demo who may get in touch: how the router will know them."""

    identity: dict[str, Any]
    customer_id: str | None
    facts: CustomerFacts


@dataclass(frozen=True)
class SwitchboardRun:
    start: datetime
    end: datetime
    offered: int
    answered: int
    abandoned: int
    callbacks: int
    agents: int


Transaction = Callable[[], Any]  # opens the center's serialised transaction (a context manager)


def already_ran(conn: Connection, seed: int) -> bool:
    """Whether this data directory's center has taken the demo's contacts already."""
    return store.contact_by_ref(conn, _ref(seed, 0)) is not None


def run(
    engine: Engine,
    config: CenterConfig,
    callers: Sequence[Caller],
    *,
    end: datetime,
    seed: int,
    hours: float = HOURS,
) -> SwitchboardRun:
    """Run the center through the router from `hours` before `end` up to just before it (the
    business has no events at or after its end): arrivals stop a little earlier and the
    contacts still open then are ended (answered ones completed, waiting ones abandoned), so
    nothing is left hanging in the live tables."""
    if not callers:
        raise ValueError("the switchboard needs callers")
    rng = Random(seed)
    start = end - timedelta(hours=hours)
    last = end - timedelta(seconds=1)
    board = _Board(engine, config, rng, last, seed)
    board.staff(start)
    for n, (at, queue, channel) in enumerate(_arrivals(rng, start, end - timedelta(minutes=10))):
        board.at(at, "arrive", (n, queue, channel, rng.choice(callers)))
    board.play()
    board.close_at(last)
    return SwitchboardRun(
        start=start,
        end=end,
        offered=board.offered,
        answered=board.answered,
        abandoned=board.abandoned,
        callbacks=board.callbacks,
        agents=len(board.on_duty),
    )


def _ref(seed: int, n: int) -> str:
    return f"demo-{seed}-switchboard-{n}"


def _arrivals(rng: Random, start: datetime, until: datetime) -> list[tuple[datetime, str, str]]:
    """Each queue's contacts as a Poisson stream, merged in time order."""
    found: list[tuple[datetime, str, str]] = []
    for queue, per_hour in ARRIVALS_PER_HOUR.items():
        at = start
        while True:
            at += timedelta(seconds=rng.expovariate(per_hour / 3600))
            if at >= until:
                break
            mix = CHANNELS[queue]
            channel = rng.choices(list(mix), weights=list(mix.values()))[0]
            found.append((at, queue, channel))
    return sorted(found)


class _Board:
    """The simulated people around the router: callers, agents and the clock."""

    def __init__(
        self, engine: Engine, config: CenterConfig, rng: Random, end: datetime, seed: int
    ) -> None:
        self.engine, self.config, self.rng, self.end, self.seed = engine, config, rng, end, seed
        self.contacts: dict[str, tuple[str, str]] = {}  # contact -> (queue, channel)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.order = itertools.count()
        self.taken: set[tuple[str, str]] = set()  # (contact, agent) offers already answered
        self.on_duty: list[str] = []
        self.offered = self.answered = self.abandoned = self.callbacks = 0

    def at(self, moment: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self.queue, (moment, next(self.order), kind, payload))

    def staff(self, start: datetime) -> None:
        by_team: dict[str, list[str]] = {}
        for agent_id, spec in self.config.agents.items():
            by_team.setdefault(spec.team or "", []).append(agent_id)
        for team, wanted in ON_DUTY.items():
            members = by_team.get(team, [])
            self.on_duty += self.rng.sample(members, min(wanted, len(members)))
        for n, agent_id in enumerate(self.on_duty):
            moment = start + timedelta(seconds=n)
            self._step(moment, router.set_agent_state, agent_id, "login")
            self._step(moment, router.set_agent_state, agent_id, "ready")

    def play(self) -> None:
        while self.queue and self.queue[0][0] < self.end:
            moment, _n, kind, payload = heapq.heappop(self.queue)
            getattr(self, "_" + kind)(moment, *payload)

    def close_at(self, end: datetime) -> None:
        """What is still open at the end: conversations finish, waiting customers hang up."""
        with store.center_transaction(self.engine) as conn:
            rows = store.contacts_in(conn, ("waiting", "callback", "reserved", "assigned"))
        for row in rows:
            if row["status"] == "assigned":
                self._quietly(end, router.complete, row["id"], row["agent"], None)
                self.answered += 1
            else:
                self._quietly(end, router.abandon, row["id"])
                self.abandoned += 1

    # --- what happens ---------------------------------------------------------------------

    def _arrive(self, moment: datetime, n: int, queue: str, channel: str, who: Caller) -> None:
        offered = self._step(
            moment,
            router.offer,
            queue=queue,
            channel=channel,
            identity=who.identity,
            customer_id=who.customer_id,
            facts=who.facts,
            language="en",
            external_ref=_ref(self.seed, n),
            rng=self.rng,
        )
        self.offered += 1
        self.contacts[offered.id] = (queue, channel)
        mean = MEAN_PATIENCE_S.get(channel)
        if mean is not None:
            patience = min(self.rng.expovariate(1 / mean), 900.0)
            self.at(moment + timedelta(seconds=patience), "give_up", (offered.id,))

    def _accept(self, moment: datetime, contact_id: str, agent_id: str) -> None:
        if self._quietly(moment, router.accept, contact_id, agent_id) is None:
            return  # the customer hung up while it rang
        self.answered += 1
        channel = self.contacts[contact_id][1]
        talk = min(self.rng.expovariate(1 / MEAN_HANDLE_S[channel]) + 30.0, LONGEST_S)
        self.at(moment + timedelta(seconds=talk), "complete", (contact_id, agent_id))

    def _complete(self, moment: datetime, contact_id: str, agent_id: str) -> None:
        self._step(moment, router.complete, contact_id, agent_id, None)
        wrapup = self.config.queues[self.contacts[contact_id][0]].wrapup_s
        self.at(moment + timedelta(seconds=wrapup + 1), "wake", ())

    def _give_up(self, moment: datetime, contact_id: str) -> None:
        with store.center_transaction(self.engine) as conn:
            row = store.contact(conn, contact_id)
        if row is None or row["status"] not in ("waiting", "reserved"):
            return  # answered (or called back) in time
        if row["status"] == "waiting" and self.rng.random() < CALLBACK_SHARE:
            if self._quietly(moment, router.callback, contact_id) is not None:
                self.callbacks += 1
                return
        if self._quietly(moment, router.abandon, contact_id) is not None:
            self.abandoned += 1

    def _wake(self, moment: datetime) -> None:
        self._step(moment, _settle_and_dispatch)

    # --- the router, on the simulated clock ----------------------------------------------

    def _step(self, moment: datetime, change: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """One change in the center's serialised transaction at `moment`; then the agents
        answer whatever the router offered them, a few seconds later."""
        with store.center_transaction(self.engine) as conn:
            result = change(conn, self.config, moment, *args, **kw)
            reserved = store.contacts_in(conn, ("reserved",))
        for row in reserved:
            key = (row["id"], row["agent"])
            if key not in self.taken:
                self.taken.add(key)
                ring = self.rng.uniform(2.0, 9.0)
                self.at(moment + timedelta(seconds=ring), "accept", key)
        return result

    def _quietly(self, moment: datetime, change: Callable[..., Any], *args: Any) -> Any:
        """A change that the race with the customer may have made moot (None if so)."""
        try:
            return self._step(moment, change, *args)
        except Conflict:
            return None


def _settle_and_dispatch(conn: Connection, config: CenterConfig, now: datetime) -> None:
    router.settle(conn, config, now)
    router.dispatch(conn, config, now)
