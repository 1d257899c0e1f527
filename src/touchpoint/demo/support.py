"""Support cases: a ticket from first contact to resolution (or not), and the CSAT survey after.

How the case went — waits, first-contact resolution, the agent's skill, resolved at all — is the
customer's `Experience`, which the relationship turns into their odds of staying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from touchpoint.demo.service import ContactCenter
from touchpoint.demo.timeline import DAY, HOUR, MINUTE, Timeline


@dataclass(slots=True)
class Experience:
    """How a support case went for the customer."""

    wait_s: float  # the longest wait on the case
    first_contact: bool
    resolved: bool
    skill: float  # of the agent who last handled it
    contacts: int

    @property
    def score(self) -> float:
        """How the customer felt about it, 0 (furious) to 1 (delighted)."""
        raw = (
            0.35 * self.resolved
            + 0.2 * self.first_contact
            + 0.25 * self.skill
            + 0.2 * max(0.0, 1.0 - self.wait_s / 900)
            - 0.05 * (self.contacts - 1)
        )
        return min(1.0, max(0.0, raw))


def support_case(
    center: ContactCenter, tl: Timeline, ts: float, category: str, sku: str | None = None
) -> Experience:
    """A ticket from first contact to resolution (or not), followed by a CSAT survey."""
    rng = tl.rng
    ticket = tl.serial("T")
    channel = pick_channel(tl)
    ts = tl.open_hours(ts)
    props = {
        "ticket_id": ticket,
        "category": category,
        "priority": rng.choice(("low", "normal", "normal", "high")),
    }
    if sku:
        props["sku"] = sku
    tl.emit(ts, "ticket_opened", channel, who(tl, channel), queue="support", properties=props)
    contact = center.converse(tl, channel, ts + 5, "support", ticket)
    first, worst_wait, contacts = contact.solved, contact.wait_s, 1
    while not contact.solved and contacts < 4 and rng.random() > 0.2:
        channel = channel if rng.random() < 0.6 else pick_channel(tl)
        contact = center.converse(
            tl, channel, tl.later(contact.ended, 2 * HOUR, 3 * DAY), "support", ticket
        )
        worst_wait, contacts = max(worst_wait, contact.wait_s), contacts + 1
    skill = contact.agent.skill if contact.agent else 0.1
    if contact.solved and contact.agent:
        done = contact.ended + rng.uniform(MINUTE, 2 * HOUR)
        hours = round((done - ts) / HOUR, 1)
        resolved = {
            "ticket_id": ticket,
            "contacts": contacts,
            "first_contact_resolution": first,
            "resolution_hours": hours,
        }
        tl.emit(
            done,
            "ticket_resolved",
            channel,
            who(tl, channel),
            agent=contact.agent.id,
            queue="support",
            properties=resolved,
        )
    experience = Experience(worst_wait, first, contact.solved, skill, contacts)
    survey_csat(tl, contact.ended, ticket, experience)
    return experience


def pick_channel(tl: Timeline) -> str:
    person = tl.person
    channels, weights = ["chat", "email"], [3.0, 3.0]
    if person.phone:
        channels.append("phone")
        weights.append(4.0)
    if person.handles:
        channels.append("social")
        weights.append(0.7)
    return tl.rng.choices(channels, weights)[0]


def who(tl: Timeline, channel: str) -> dict[str, Any]:
    if channel == "phone":
        return tl.by_phone()
    if channel == "social":
        return tl.by_handle()
    return tl.by_account()


def survey_csat(tl: Timeline, ts: float, ticket: str, experience: Experience) -> None:
    rng = tl.rng
    sent = tl.later(ts, HOUR, DAY)
    tl.emit(
        sent,
        "email_sent",
        "email",
        tl.by_email(),
        direction="outbound",
        properties={"template": "csat_survey", "ticket_id": ticket},
    )
    feeling = experience.score
    if rng.random() < 0.35 + 0.5 * abs(feeling - 0.5):  # the delighted and the angry answer
        score = min(5, max(1, round(1 + 4 * feeling + rng.gauss(0, 0.6))))
        answer = {"survey": "csat", "score": score, "ticket_id": ticket}
        tl.emit(
            tl.later(sent, 5 * MINUTE, 2 * DAY),
            "survey_response",
            "email",
            tl.by_email(),
            properties=answer,
        )
