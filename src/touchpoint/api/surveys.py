"""Surveys over HTTP: the definitions, a send (by the API or an agent: `POST /v1/surveys/sends`),
and the public page a survey email links to — a server-rendered form, every question on one
page, usable without JavaScript. A GET only shows it (a link scanner prefetching answers
nothing); the POST records the answers; an expired link shows a page saying so (410)."""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.playbooks import Token, public_page
from touchpoint.api.schemas import error_responses
from touchpoint.automation.links import LinkExpired
from touchpoint.domain.surveys import Question
from touchpoint.services import surveys as service
from touchpoint.services.access import Principal

# Sending a survey is what an agent does after a contact or a ticket: the same people may.
Sender = Annotated[Principal, allowed("tickets.write")]
Reader = Annotated[Principal, allowed("playbooks.read")]
router = APIRouter(prefix="/v1/surveys", tags=["playbooks"])
# The public link a survey email carries: the signed, expiring token is the credential.
link_router = APIRouter(prefix="/v1", tags=["playbooks"])
_GONE: dict[int | str, dict[str, Any]] = {
    410: {"description": "The survey link has expired (an HTML page says so)"}
}


class SurveyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    title: str
    shipped: bool
    path: str
    questions: list[str]
    expires_after: str = Field(description="How long a sent link stays open")
    transactional: bool


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(min_length=1, max_length=200, description="A customer's id")
    survey: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$", description="A survey's name")
    contact_id: str | None = Field(None, min_length=1, max_length=200)
    ticket_id: str | None = Field(None, min_length=1, max_length=200)
    key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="An idempotency key: the same key sends once (default: what it is about)",
    )
    sent_by: Literal["api", "agent"] = "api"


class SendOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    survey: str
    send: str
    status: str = Field(description="sent, suppressed (see reason), or already (sent before)")
    reason: str | None
    message_id: str | None


@router.get("", summary="Every survey definition", responses=error_responses(401, 403))
def list_surveys(tp: TouchpointDep, _: Reader) -> list[SurveyOut]:
    return [SurveyOut.model_validate(v) for v in service.list_surveys(tp)]


@router.post(
    "/sends",
    summary="Email a survey to a customer now (consent, quiet hours and caps apply)",
    responses=error_responses(401, 403, 404, 409, 422),
)
def send(tp: TouchpointDep, principal: Sender, body: Annotated[SendIn, Body()]) -> SendOut:
    """Send a survey as a playbook's step would, about a contact or a ticket if named (every
    answer carries it). Marketing outside quiet hours only: inside them, 409 and nothing sent."""
    about = {"contact_id": body.contact_id, "ticket_id": body.ticket_id}
    sent = service.send(
        tp,
        body.customer,
        body.survey,
        about={k: v for k, v in about.items() if v},
        key=body.key,
        by=body.sent_by,
        actor=principal.actor,
    )
    return SendOut.model_validate(sent)


async def _fields(request: Request) -> dict[str, str]:
    """The posted form's fields (none for a one-click score link's empty POST)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    found = await request.form()
    return {k: v for k, v in found.items() if isinstance(v, str)}


@link_router.get(
    "/survey/{token}",
    summary="A survey's form (it records nothing)",
    response_class=HTMLResponse,
    responses=error_responses(404) | _GONE,
)
def survey_page(tp: TouchpointDep, token: Token) -> HTMLResponse:
    """The page a survey email's link opens: every question on one form (a score's link
    preselects that score). No key: the signed token is the proof (404 for one that is not
    ours); a GET records nothing."""
    try:
        found = service.form(tp, token)
    except LinkExpired as exc:
        return _expired(exc)
    return _form_page(token, found, {})


@link_router.post(
    "/survey/{token}",
    summary="Answer a survey (the form, or a score's one-click link); each question once",
    response_class=HTMLResponse,
    responses=error_responses(404, 422) | _GONE,
)
def answer_survey(
    tp: TouchpointDep, token: Token, fields: Annotated[dict[str, str], Depends(_fields)]
) -> HTMLResponse:
    """Record the answers: one `survey_response` interaction per question ({"survey": "csat",
    "score": 4}…, and the contact or ticket the send was about), once per send however often
    it is posted — the first answer stands. A form with a problem records nothing: 422 and the
    form again, each problem beside its question. No key."""
    try:
        done = service.answer(tp, token, fields)
    except LinkExpired as exc:
        return _expired(exc)
    if done.problems:
        return _form_page(token, done.form, fields, done.problems, status_code=422)
    said = "Thank you" if done.recorded else "We have your answer already"
    shown = ", ".join(
        f"{html.escape(_label(q))} {html.escape(str(done.form.answered[q.name]))}"
        for q in done.form.survey.questions
        if q.name in done.form.answered and q.scale is not None
    )
    body = f"<p>{said}{': ' + shown if shown else ''}.</p>"
    left = [q for q in done.form.survey.questions if q.name not in done.form.answered]
    if left:
        body += f'<p><a href="/v1/survey/{html.escape(token)}">Answer the other questions</a></p>'
    return public_page(done.form.survey.title, body)


def _expired(exc: LinkExpired) -> HTMLResponse:
    return public_page("Survey closed", f"<p>Sorry: {html.escape(str(exc))}.</p>", 410)


def _label(question: Question) -> str:
    return question.kind.upper() if question.scale is not None else question.name


def _form_page(
    token: str,
    found: service.SurveyForm,
    given: dict[str, str],
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    problems = problems or {}
    first = found.survey.first_scored
    if not given and first is not None and found.link.score is not None:
        given = {first.name: str(found.link.score)}
    parts = [
        _question(i, q, found.answered, given.get(q.name, ""), problems.get(q.name))
        for i, q in enumerate(found.survey.questions)
    ]
    open_ = any(q.name not in found.answered for q in found.survey.questions)
    button = '<button type="submit">Send my answers</button>' if open_ else ""
    body = (
        f'<form method="post" action="/v1/survey/{html.escape(token)}">'
        + "".join(parts)
        + button
        + "</form>"
    )
    return public_page(found.survey.title, body, status_code)


def _question(
    i: int, q: Question, answered: dict[str, Any], value: str, problem: str | None
) -> str:
    """One question's controls, each with its label; a problem is announced and tied to them."""
    ident = f"q{i}"
    error = f'<p id="{ident}-error" role="alert">{html.escape(problem)}</p>' if problem else ""
    described = f' aria-describedby="{ident}-error"' if problem else ""
    text = html.escape(q.text)
    if q.name in answered:
        return f"<section><h2>{text}</h2><p>Answered: {html.escape(str(answered[q.name]))}</p></section>"
    required = " required" if q.required else ""
    if q.kind == "text":
        return (
            f'<p><label for="{ident}">{text}</label><br>'
            f'<textarea id="{ident}" name="{html.escape(q.name)}" maxlength="{q.max_length}" '
            f'rows="4" cols="50"{required}{described}>{html.escape(value)}</textarea></p>{error}'
        )
    choices = [(str(s), str(s) + (f" ({q.labels[s]})" if s in q.labels else "")) for s in q.scores]
    choices = choices or [(o, o) for o in q.options]
    radios = "".join(
        f'<label><input type="radio" name="{html.escape(q.name)}" value="{html.escape(v)}"'
        f"{' checked' if v == value else ''}{required}> {html.escape(shown)}</label> "
        for v, shown in choices
    )
    return f"<fieldset{described}><legend>{text}</legend>{radios}</fieldset>{error}"
