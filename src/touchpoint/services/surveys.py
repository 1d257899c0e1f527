"""Surveys for every face: the definitions, a send by the API or an agent (through the same
function and gate as a playbook's step), and the signed link's form — what it asks and what was
answered (a GET changes nothing) — and its answers, one `survey_response` interaction per
question, each once per send however often the form or a score's link is posted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from touchpoint.automation import runs as engine_runs
from touchpoint.automation import surveys as engine
from touchpoint.automation.links import LinkExpired, SurveyLink, expired, read_survey_token
from touchpoint.automation.messages import DONE, PENDING, log_item_id
from touchpoint.domain import playbooks as rules
from touchpoint.domain.surveys import (
    CSAT,
    DETRACTOR_UP_TO,
    KPI_CSAT_SCALE,
    NPS,
    NPS_SCALE,
    PROMOTER_FROM,
    Question,
    Survey,
    answer_properties,
    csat_score,
    nps_score,
)
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.errors import BackendError, Conflict, NotFound, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services.customers import current_id
from touchpoint.store import automation as store
from touchpoint.store import surveys as survey_store
from touchpoint.store.engine import read_connection

SENT_BY = ("api", "agent")  # who sends a survey outside a playbook
_TRIGGER = rules.Trigger("interaction", InteractionType.SURVEY_RESPONSE.value)


@dataclass(frozen=True, slots=True)
class SurveyView:
    name: str
    title: str
    shipped: bool
    path: str
    questions: list[str]  # "csat 1-5: How satisfied…"
    expires_after: str
    transactional: bool


def list_surveys(tp: Touchpoint) -> list[SurveyView]:
    return [
        SurveyView(
            f.survey.name,
            f.survey.title,
            f.shipped,
            str(f.path),
            [_describe(q) for q in f.survey.questions],
            f"{f.survey.expires_after.days}d" if f.survey.expires_after.days else "<1d",
            f.survey.transactional,
        )
        for f in engine.load_surveys(tp.settings.data_dir).values()
    ]


def _describe(question: Question) -> str:
    scale = f" {question.scale[0]}-{question.scale[1]}" if question.scale else ""
    return f"{question.name} ({question.kind}{scale}): {question.text}"


# --- the answers received -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionAnswers:
    name: str
    kind: str  # csat, nps, text, choice
    text: str
    answers: int
    distribution: list[tuple[int, str, int]]  # csat, nps: every score, its label, its answers
    csat: float | None = None  # the KPI's CSAT: the mean answer on the 1-5 scale
    nps: float | None = None  # the KPI's NPS, -100 to +100
    promoters: int = 0
    detractors: int = 0


@dataclass(frozen=True, slots=True)
class SurveyAnswers:
    survey: SurveyView
    responses: int  # sends answered (one question or more)
    questions: list[QuestionAnswers]


@dataclass(frozen=True, slots=True)
class AllAnswers:
    surveys: list[SurveyAnswers]
    # CSAT and NPS answers from no survey's form (imported, or a survey tool's), which the KPIs
    # count too: csat on the 1-5 scale, then nps
    other: list[QuestionAnswers]


_OTHER = (
    Question(CSAT, CSAT, "CSAT answers from no survey's form", KPI_CSAT_SCALE),
    Question(NPS, NPS, "NPS answers from no survey's form", NPS_SCALE),
)


def answers(tp: Touchpoint) -> AllAnswers:
    """Every survey with the answers it received: per question how many, and for a CSAT or NPS
    question how many gave each score and the CSAT or NPS they make, as the KPIs define them;
    and the CSAT and NPS answers from no survey's form."""
    files = engine.load_surveys(tp.settings.data_dir)
    with read_connection(tp.engine) as conn:
        counts = survey_store.answer_counts(conn, list(files))
        responses = survey_store.responses(conn, list(files))
    by_question: dict[tuple[str | None, str], list[survey_store.AnswerCount]] = {}
    for row in counts:
        by_question.setdefault((row.form, row.question), []).append(row)
    views = {v.name: v for v in list_surveys(tp)}
    found = [
        SurveyAnswers(
            views[name],
            responses.get(name, 0),
            [_question_answers(q, by_question.get((name, q.name), [])) for q in f.survey.questions],
        )
        for name, f in files.items()
    ]
    other = [_question_answers(q, by_question.get((None, q.name), [])) for q in _OTHER]
    return AllAnswers(found, other)


def _question_answers(question: Question, rows: list[survey_store.AnswerCount]) -> QuestionAnswers:
    total = sum(r.answers for r in rows)
    if question.scale is None:
        return QuestionAnswers(question.name, question.kind, question.text, total, [])
    given: dict[int, int] = {}
    for r in rows:
        if r.given is not None:
            given[round(r.given)] = given.get(round(r.given), 0) + r.answers
    spread = [(n, question.labels.get(n, ""), given.get(n, 0)) for n in question.scores]
    if question.kind == NPS:
        promoters = sum(c for n, _, c in spread if n >= PROMOTER_FROM)
        detractors = sum(c for n, _, c in spread if n <= DETRACTOR_UP_TO)
        nps = nps_score(promoters, detractors, total)
        return QuestionAnswers(
            question.name,
            question.kind,
            question.text,
            total,
            spread,
            None,
            nps,
            promoters,
            detractors,
        )
    scored = [r for r in rows if r.score is not None]
    csat = csat_score(
        sum((r.score or 0) * r.answers for r in scored), sum(r.answers for r in scored)
    )
    return QuestionAnswers(question.name, question.kind, question.text, total, spread, csat)


# --- sending ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveySent:
    customer_id: str
    survey: str
    send: str  # the send's id (its answers are survey-<send>…)
    status: str  # sent, suppressed, or already (this send went before: nothing more)
    reason: str | None = None  # why it was suppressed
    message_id: str | None = None


def send(
    tp: Touchpoint,
    customer: str,
    survey: str,
    *,
    about: Mapping[str, str] | None = None,
    key: str | None = None,
    by: str = "api",
    actor: str | None = None,
    now: datetime | None = None,
) -> SurveySent:
    """Email `survey` to a customer now, as a playbook step would (the same function, the same
    consent, quiet-hours, caps and send-by gate), logged as an email_sent or a suppression. The
    send's idempotency key is `key`, else what it is about (a second send about the same ticket
    or contact sends nothing), else a new one. Quiet hours refuse it (Conflict): nothing would
    send it later."""
    moment = now or datetime.now(UTC)
    about = {k: str(v) for k, v in (about or {}).items() if k in engine.ABOUT and v}
    definition = engine.find_survey(tp.settings.data_dir, survey)
    reference = key or (json.dumps(about, sort_keys=True) if about else uuid.uuid4().hex)
    with read_connection(tp.engine) as conn:
        customer_id = current_id(conn, customer)
        context = engine_runs.customer_context(conn, customer_id, "", moment)
    row = {
        "key": f"survey:{definition.name}|{customer_id}|{reference}",
        "customer_id": customer_id,
        "run_id": None,
        "step": 0,
        "due_at": moment,
        "attempts": 1,
    }
    send_id = engine.send_id(row)
    log_id = log_item_id(row)
    with read_connection(tp.engine) as conn:
        if store.interaction(conn, log_id) is not None:
            return SurveySent(customer_id, definition.name, send_id, "already")
    context["trigger"]["properties"] = dict(about)
    step = rules.Step("send_survey", action={"survey": definition.name})
    sender = rules.Playbook(f"survey_{by}", f"{definition.title} ({by})", _TRIGGER, (step,))
    outcome = engine.send_survey(playbooks.automation(tp), row, sender, step, context, moment)
    if outcome.status == PENDING:
        why = outcome.record.get("why", "not now")
        if outcome.record.get("outcome") == "retry":
            raise BackendError(f"the survey was not sent: {why}")
        raise Conflict(f"the survey was not sent: {why}; send it later")
    if outcome.status != DONE or outcome.log_item is None:
        raise ValidationError(str(outcome.record.get("why") or "the survey was not sent"))
    outcome.log_item["properties"]["sent_by"] = by
    if by == "agent" and actor:
        outcome.log_item["agent"] = actor
    tp.ingestor.ingest([(0, outcome.log_item)])
    if outcome.record["outcome"] == "suppressed":
        reason = str(outcome.record["reason"])
        return SurveySent(customer_id, definition.name, send_id, "suppressed", reason)
    message = str(outcome.record["message_id"])
    return SurveySent(customer_id, definition.name, send_id, "sent", message_id=message)


# --- the form and its answers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyForm:
    link: SurveyLink
    survey: Survey
    answered: dict[str, Any] = field(default_factory=dict)  # question name -> the answer recorded


def _open(tp: Touchpoint, token: str, now: datetime) -> tuple[SurveyLink, Survey]:
    link = read_survey_token(tp.settings, token)
    if expired(link, now):
        when = datetime.fromtimestamp(link.expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise LinkExpired(f"this survey closed on {when}")
    return link, engine.find_survey(tp.settings.data_dir, link.survey)


def form(tp: Touchpoint, token: str, *, now: datetime | None = None) -> SurveyForm:
    """What a link's form asks and what was answered already (nothing changes: a link scanner
    prefetching it answers nothing). A forged link is NotFound, an expired one LinkExpired."""
    link, survey = _open(tp, token, now or datetime.now(UTC))
    return SurveyForm(link, survey, _answered(tp, link, survey))


def _answered(tp: Touchpoint, link: SurveyLink, survey: Survey) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with read_connection(tp.engine) as conn:
        for question in survey.questions:
            earlier = store.interaction(conn, engine.answer_id(link.send, question, survey))
            if earlier is not None:
                props = earlier["properties"] or {}
                found[question.name] = props.get("answer", props.get("score"))
    return found


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    form: SurveyForm
    recorded: dict[str, Any]  # what this post recorded, by question
    problems: dict[str, str] = field(default_factory=dict)  # question -> why refused (none kept)


def answer(
    tp: Touchpoint,
    token: str,
    fields: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> SurveyAnswered:
    """Record a form's answers (or, with no fields, a one-click link's score for the first
    scored question): one survey_response per question answered, with an id from the send and
    the question, so a question is answered once — what was answered first stands. A form with a
    problem records nothing and says what, by question."""
    moment = now or datetime.now(UTC)
    link, survey = _open(tp, token, moment)
    given = _given(survey, link, fields)
    one_click = not fields
    answered = _answered(tp, link, survey)
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for question in survey.questions:
        if question.name in answered or (one_click and question.name not in given):
            continue  # a one-click score answers its question only; the rest wait for the form
        try:
            value = question.read(given.get(question.name))
        except ValueError as exc:
            problems[question.name] = str(exc)
            continue
        if value is not None:
            values[question.name] = value
    if problems:
        return SurveyAnswered(SurveyForm(link, survey, answered), {}, problems)
    recorded = _record(tp, link, survey, values, moment) if values else {}
    return SurveyAnswered(SurveyForm(link, survey, answered | recorded), recorded)


def _given(survey: Survey, link: SurveyLink, fields: Mapping[str, str] | None) -> dict[str, str]:
    if fields:
        return dict(fields)
    first = survey.first_scored
    if link.score is None or first is None:
        return {}
    return {first.name: str(link.score)}  # a one-click score: the first scored question only


def _record(
    tp: Touchpoint, link: SurveyLink, survey: Survey, values: dict[str, Any], now: datetime
) -> dict[str, Any]:
    with read_connection(tp.engine) as conn:
        customer_id = current_id(conn, link.customer_id)
        keys = store.identity_keys(conn, customer_id)
    identity = engine_runs.identity_of({"identity_keys": keys})
    if not identity:
        raise NotFound("no such survey link")
    asked = [q for q in survey.questions if q.name in values]
    items = [
        (
            n,
            {
                "id": engine.answer_id(link.send, question, survey),
                "type": InteractionType.SURVEY_RESPONSE.value,
                "channel": "email",
                "direction": "inbound",
                "occurred_at": now.isoformat(),
                "customer": identity,
                "properties": answer_properties(question, values[question.name])
                | {"form": survey.name, "send": link.send, **link.about},
            },
        )
        for n, question in enumerate(asked)
    ]
    report = tp.ingestor.ingest(items)
    recorded: dict[str, Any] = {}
    for question, result in zip(asked, report.results, strict=True):
        if result.status not in ("accepted", "duplicate"):
            raise ValidationError(f"survey answer not recorded: {result.status}")
        if result.status == "accepted":
            recorded[question.name] = values[question.name]
    return recorded


def validate(path: Path) -> Survey:
    """Check a survey file as a whole (a ValidationError names each problem's line)."""
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    return engine.read_survey(path)
