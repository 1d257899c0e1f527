"""Surveys: their definition files (the shipped ones in this package's `surveys/`, replaced by a
data directory's `surveys/*.toml` of the same name; each problem named by file and line) and the
send — an email with a signed, expiring link to the survey's form and one one-click link per
score of its first scored question. A playbook's `send_survey` step, the API and an agent all
send through `send_survey`, behind the gate every message passes (automation/messages.py)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from touchpoint.automation import email
from touchpoint.automation.base import Automation, digest
from touchpoint.automation.links import (
    SurveyLink,
    Unsubscribe,
    survey_token,
    survey_url,
    unsubscribe_token,
    unsubscribe_url,
)
from touchpoint.automation.messages import FAILED, Outcome, gate, log_item, retry
from touchpoint.automation.playbooks import RenderedEmail, line_of
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import DEFAULT_PURPOSE
from touchpoint.domain.playbooks import Playbook, Step
from touchpoint.domain.surveys import Question, Survey, SurveyError, parse_survey
from touchpoint.errors import NotFound, ValidationError
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection

SHIPPED_DIR = Path(__file__).parent / "surveys"
ABOUT = ("contact_id", "ticket_id")  # what a send may be about, carried to every answer


@dataclass(frozen=True, slots=True)
class SurveyFile:
    survey: Survey
    path: Path
    shipped: bool


def surveys_dir(data_dir: Path) -> Path:
    return data_dir / "surveys"


def read_survey(path: Path, text: str | None = None) -> Survey:
    """One file, checked as a whole: a ValidationError lists every problem as `file:line: …`."""
    source = path.read_text(encoding="utf-8") if text is None else text
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path.name}: not valid TOML: {exc}") from None
    try:
        return parse_survey(raw)
    except SurveyError as exc:
        lines = source.splitlines()
        raise ValidationError(
            "; ".join(f"{path.name}:{line_of(lines, w)}: {w}: {m}" for w, m in exc.problems)
        ) from None


def load_surveys(data_dir: Path) -> dict[str, SurveyFile]:
    """Every survey by name: the shipped ones, replaced by the data directory's of the same name."""
    found: dict[str, SurveyFile] = {}
    for folder, shipped in ((SHIPPED_DIR, True), (surveys_dir(data_dir), False)):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                survey = read_survey(path)
                found[survey.name] = SurveyFile(survey, path, shipped)
    return found


def find_survey(data_dir: Path, name: str) -> Survey:
    found = load_surveys(data_dir).get(name)
    if found is None:
        raise NotFound(f"no survey named {name!r}")
    return found.survey


def answer_id(send: str, question: Question, survey: Survey) -> str:
    """A question's survey_response id for one send: the first scored question's is the send's
    own (what the one-click score links record), every other one's adds its name."""
    first = survey.first_scored
    if first is not None and question.name == first.name:
        return f"survey-{send}"
    return f"survey-{send}-{question.name}"


def send_id(row: Any) -> str:
    """A send's id: its step key's digest (a playbook run step, or an API or agent send)."""
    return digest(row["key"], 32)


def send_survey(
    auto: Automation,
    row: Any,
    playbook: Playbook,
    step: Step,
    context: dict[str, Any],
    now: datetime,
) -> Outcome:
    """Email the survey the step names (`survey = NAME`, or `kind = csat|nps`: the shipped
    one-question surveys), if the gate lets it go now."""
    name = str(step.action.get("survey") or step.action.get("kind"))
    try:
        survey = find_survey(auto.settings.data_dir, name)
    except (NotFound, ValidationError) as exc:
        return Outcome(FAILED, {"outcome": "failed", "why": str(exc)}, run_status="failed")
    if "transactional" not in step.action:
        step = replace(step, action={**step.action, "transactional": survey.transactional})
    customer = context["customer"]
    with read_connection(auto.engine) as conn:
        stopped = gate(auto, conn, row, playbook, step, customer, now)
    if stopped is not None:
        return stopped
    properties = context["trigger"]["properties"]
    about = {k: str(properties[k]) for k in ABOUT if properties.get(k) is not None}
    send = send_id(row)
    subject = str(step.action.get("subject") or survey.subject).replace("\n", " ")
    text = _body(
        auto, survey, step, SurveyLink(send, row["customer_id"], survey.name, 0, about), now
    )
    marketing = rules.is_marketing(step)
    purpose = str(step.action.get("purpose") or DEFAULT_PURPOSE)
    token = unsubscribe_token(auto.settings, Unsubscribe(row["customer_id"], "email", purpose))
    message = email.compose(
        auto.settings,
        key=row["key"],
        to=customer["email"],
        rendered=RenderedEmail(subject, text, None),
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
        "survey": survey.name,
        "send": send,
    }
    item = log_item(
        row,
        playbook,
        customer,
        step,
        now,
        message_id=message["Message-ID"],
        survey=survey.name,
        send=send,
        **about,
    )
    return Outcome(store.DONE, record, item, next_due=now)


def _body(auto: Automation, survey: Survey, step: Step, link: SurveyLink, now: datetime) -> str:
    """The email's text: the first scored question with a link per score, then the form's link."""
    expires = int((now + survey.expires_after).timestamp())
    link = replace(link, expires=expires)
    form = survey_url(auto.settings, survey_token(auto.settings, link))
    first = survey.first_scored
    if first is None:
        return f"{survey.title}\n\nPlease answer here: {form}\n"
    question = str(step.action.get("question") or first.text)
    scores = "\n".join(
        f"{score}: {survey_url(auto.settings, survey_token(auto.settings, replace(link, score=score)))}"
        for score in first.scores
    )
    more = "" if len(survey.questions) == 1 else "Every question on one page: "
    return f"{question}\n\n{scores}\n\n{more or 'Or answer on a page: '}{form}\n"
