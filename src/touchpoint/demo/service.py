"""The simulated contact center: queues, agents and conversations on every channel.

Service quality is what the demo is built to show: how long people wait and how skilled their agent
is decide whether a ticket is solved at first contact, solved at all, and how the customer feels —
and the relationship turns that feeling into their odds of buying again or leaving.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Any

from touchpoint.demo.people import Agent
from touchpoint.demo.timeline import DAY, HOUR, MINUTE, Timeline

MEAN_WAIT_S = {"sales": 35.0, "support": 110.0, "retention": 60.0}
STAFFING_GAP_FACTOR = 3.5  # how much longer queues get while the center is short-staffed


@dataclass(slots=True)
class Contact:
    """One conversation: when it ended, who took it, how long the customer waited, solved or not."""

    ended: float
    agent: Agent | None
    wait_s: float
    solved: bool


class ContactCenter:
    """Sales, support and retention queues; for ~10 weeks past mid-period it is short-staffed."""

    def __init__(self, agents: dict[str, list[Agent]], start: float, end: float) -> None:
        self.agents = agents
        self.gap_from = start + 0.55 * (end - start)
        self.gap_to = self.gap_from + 70 * DAY

    def wait(self, queue: str, ts: float, rng: Random, scale: float = 1.0) -> float:
        mean = MEAN_WAIT_S[queue] * scale
        if self.gap_from <= ts < self.gap_to:
            mean *= STAFFING_GAP_FACTOR
        return rng.expovariate(1 / mean)

    def solves(self, agent: Agent, rng: Random) -> bool:
        return rng.random() < 0.25 + 0.65 * agent.skill

    # --- conversations -------------------------------------------------------------------
    def converse(
        self, tl: Timeline, channel: str, ts: float, queue: str, ticket: str | None = None
    ) -> Contact:
        if channel == "phone":
            return self.call(tl, ts, queue, ticket)
        if channel == "chat":
            return self.chat(tl, ts, queue, ticket)
        if channel == "social":
            return self.social_thread(tl, ts, queue, ticket)
        return self.email_thread(tl, ts, queue, ticket)

    def call(self, tl: Timeline, ts: float, queue: str, ticket: str | None = None) -> Contact:
        rng = tl.rng
        ts = tl.open_hours(ts)
        wait, patience = self.wait(queue, ts, rng), rng.expovariate(1 / 300)
        props: dict[str, Any] = {"ticket_id": ticket} if ticket else {}
        if wait > patience:
            outcome = "callback_requested" if rng.random() < 0.4 else "abandoned"
            props["wait_s"] = round(patience)
            tl.emit(
                ts,
                "call",
                "phone",
                tl.by_phone(),
                queue=queue,
                duration_s=0,
                outcome=outcome,
                properties=props,
            )
            if outcome == "abandoned":
                return Contact(ts + patience, None, patience, False)
            return self.callback(tl, ts + patience, queue, props)
        agent = rng.choice(self.agents[queue])
        solved = self.solves(agent, rng)
        talk = rng.uniform(120, 600) * (1.6 - agent.skill)
        props |= {"wait_s": round(wait), "first_contact_resolution": solved}
        tl.emit(
            ts,
            "call",
            "phone",
            tl.by_phone(),
            agent=agent.id,
            queue=queue,
            duration_s=round(talk),
            outcome="answered",
            properties=props,
        )
        return Contact(ts + wait + talk, agent, wait, solved)

    def retention_call(self, tl: Timeline, ts: float) -> Contact:
        """A customer rings to cancel; a skilled retention agent sometimes talks them round
        (the contact is `solved` when they stay)."""
        rng = tl.rng
        ts = tl.open_hours(ts)
        wait = self.wait("retention", ts, rng)
        agent = rng.choice(self.agents["retention"])
        saved = rng.random() < 0.1 + 0.3 * agent.skill
        talk = rng.uniform(180, 900)
        props = {"wait_s": round(wait), "intent": "cancel", "saved": saved}
        tl.emit(
            ts,
            "call",
            "phone",
            tl.by_phone(),
            agent=agent.id,
            queue="retention",
            duration_s=round(talk),
            outcome="saved" if saved else "cancelled",
            properties=props,
        )
        return Contact(ts + wait + talk, agent, wait, saved)

    def callback(self, tl: Timeline, ts: float, queue: str, props: dict[str, Any]) -> Contact:
        rng = tl.rng
        ts = tl.open_hours(tl.later(ts, 20 * MINUTE, 6 * HOUR))
        agent = rng.choice(self.agents[queue])
        reached = rng.random() < 0.8
        solved = reached and self.solves(agent, rng)
        talk = rng.uniform(120, 600) * (1.6 - agent.skill) if reached else 0.0
        props = {k: v for k, v in props.items() if k == "ticket_id"} | {"callback": True}
        outcome = "answered" if reached else "no_answer"
        tl.emit(
            ts,
            "call",
            "phone",
            tl.by_phone(),
            direction="outbound",
            agent=agent.id,
            queue=queue,
            duration_s=round(talk),
            outcome=outcome,
            properties=props,
        )
        return Contact(ts + talk, agent, 600.0, solved)

    def chat(self, tl: Timeline, ts: float, queue: str, ticket: str | None = None) -> Contact:
        rng = tl.rng
        ts = tl.open_hours(ts, 7, 22)
        wait, patience = self.wait(queue, ts, rng, 0.6), rng.expovariate(1 / 240)
        props: dict[str, Any] = {"ticket_id": ticket} if ticket else {}
        who = tl.web()
        if wait > patience:
            props["wait_s"] = round(patience)
            tl.emit(
                ts,
                "chat",
                "chat",
                who,
                queue=queue,
                duration_s=round(patience),
                outcome="abandoned",
                properties=props,
            )
            return Contact(ts + patience, None, patience, False)
        agent = rng.choice(self.agents[queue])
        solved = self.solves(agent, rng)
        talk = rng.uniform(180, 1200) * (1.6 - agent.skill)
        props |= {"wait_s": round(wait), "first_contact_resolution": solved}
        tl.emit(
            ts,
            "chat",
            "chat",
            who,
            agent=agent.id,
            queue=queue,
            duration_s=round(talk),
            outcome="answered",
            properties=props,
        )
        return Contact(ts + wait + talk, agent, wait, solved)

    def email_thread(
        self, tl: Timeline, ts: float, queue: str, ticket: str | None = None
    ) -> Contact:
        rng = tl.rng
        props: dict[str, Any] = {"ticket_id": ticket} if ticket else {}
        tl.emit(ts, "email_received", "email", tl.by_email(), queue=queue, properties=dict(props))
        # Written replies come in hours; a customer feels a day's wait like ~15 minutes on hold.
        reply_s = self.wait(queue, ts, rng, 6 * HOUR / MEAN_WAIT_S["support"])
        reply_at = tl.open_hours(ts + 10 * MINUTE + reply_s, 8, 18)
        agent = rng.choice(self.agents[queue])
        solved = self.solves(agent, rng)
        props |= {
            "response_hours": round((reply_at - ts) / HOUR, 1),
            "first_contact_resolution": solved,
        }
        tl.emit(
            reply_at,
            "email_sent",
            "email",
            tl.by_email(),
            direction="outbound",
            agent=agent.id,
            queue=queue,
            properties=props,
        )
        return Contact(reply_at, agent, (reply_at - ts) / 96, solved)

    def social_thread(
        self, tl: Timeline, ts: float, queue: str, ticket: str | None = None
    ) -> Contact:
        rng = tl.rng
        props: dict[str, Any] = {"ticket_id": ticket} if ticket else {}
        network = next(iter(tl.person.handles))
        tl.emit(
            ts,
            "social_message",
            "social",
            tl.by_handle(),
            queue=queue,
            properties=props | {"network": network},
        )
        reply_at = tl.open_hours(ts + self.wait(queue, ts, rng, 30))
        agent = rng.choice(self.agents[queue])
        solved = self.solves(agent, rng)
        props |= {"network": network, "first_contact_resolution": solved}
        tl.emit(
            reply_at,
            "social_message",
            "social",
            tl.by_handle(),
            direction="outbound",
            agent=agent.id,
            queue=queue,
            properties=props,
        )
        return Contact(reply_at, agent, (reply_at - ts) / 20, solved)
