"""The survey action: an email asking a CSAT (1-5) or NPS (0-10) question with one signed link per
score (automation/links.py). The link's page confirms; its POST records a `survey_response`
interaction ({"survey", "score"}, and the contact or ticket the run's trigger named) whose id comes
from the step's key, so a run step is answered once, whichever link is clicked and how often."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from touchpoint.automation import email
from touchpoint.automation.base import Automation, digest
from touchpoint.automation.links import (
    SurveyAnswer,
    Unsubscribe,
    survey_token,
    survey_url,
    unsubscribe_token,
    unsubscribe_url,
)
from touchpoint.automation.messages import Outcome, gate, log_item, retry
from touchpoint.automation.playbooks import RenderedEmail
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import DEFAULT_PURPOSE
from touchpoint.domain.playbooks import Playbook, Step
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection

ABOUT = ("contact_id", "ticket_id")  # what a trigger's properties may name, carried to the answer
QUESTIONS = {
    "csat": "How satisfied were you? (1 = not at all, 5 = very)",
    "nps": "How likely are you to recommend us to a friend? (0 = not at all, 10 = extremely)",
}


def answer_id(step_digest: str) -> str:
    """The survey_response's interaction id: one per run step."""
    return f"survey-{step_digest}"


def send_survey(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    customer = context["customer"]
    with read_connection(auto.engine) as conn:
        stopped = gate(auto, conn, row, playbook, step, customer, now)
    if stopped is not None:
        return stopped
    kind = str(step.action["kind"])
    properties = context["trigger"]["properties"]
    about = {k: str(properties[k]) for k in ABOUT if properties.get(k) is not None}
    step_digest = digest(row["key"], 32)
    links = [
        (
            score,
            survey_url(
                auto.settings,
                survey_token(
                    auto.settings,
                    SurveyAnswer(step_digest, row["customer_id"], kind, score, about),
                ),
            ),
        )
        for score in rules.SURVEY_SCALES[kind]
    ]
    question = str(step.action.get("question") or QUESTIONS[kind])
    text = question + "\n\n" + "\n".join(f"{score}: {link}" for score, link in links) + "\n"
    marketing = rules.is_marketing(step)
    purpose = str(step.action.get("purpose") or DEFAULT_PURPOSE)
    token = unsubscribe_token(auto.settings, Unsubscribe(row["customer_id"], "email", purpose))
    message = email.compose(
        auto.settings,
        key=row["key"],
        to=customer["email"],
        rendered=RenderedEmail(str(step.action["subject"]).replace("\n", " "), text, None),
        at=now,
        unsubscribe_url=unsubscribe_url(auto.settings, token) if marketing else None,
        unsubscribe_mailto=f"mailto:{auto.settings.smtp_from}?subject=unsubscribe%20{token}",
    )
    try:
        where = email.deliver(auto.settings, message)
    except OSError as exc:
        return retry(row, now, f"{type(exc).__name__}: {exc}")
    record = {
        "outcome": "sent",
        "message_id": message["Message-ID"],
        "via": where,
        "channel": "email",
        "marketing": marketing,
        "survey": kind,
    }
    item = log_item(
        row, playbook, customer, step, now, message_id=message["Message-ID"], survey=kind
    )
    return Outcome(store.DONE, record, item, next_due=now)
