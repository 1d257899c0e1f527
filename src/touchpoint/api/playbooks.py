"""Playbooks over HTTP: list and read them, their runs with step states, a dry run against one
customer at a moment, pause and resume; and the one-click unsubscribe (RFC 8058) their emails
link to — a POST unsubscribes, a GET (a person, or a link scanner prefetching) only shows a page
with the button. (A survey's links: api/surveys.py.)"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses, read_moment
from touchpoint.services import playbooks as service
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("playbooks.read")]
Writer = Annotated[Principal, allowed("playbooks.write")]

router = APIRouter(
    prefix="/v1/playbooks", tags=["playbooks"], responses=error_responses(401, 403, 404, 422)
)
# The public link a playbook's emails carry to unsubscribe: the signed token in the link is the
# credential, so no key.
unsubscribe_router = APIRouter(prefix="/v1", tags=["playbooks"])

Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,59}$", description="A playbook's name")]


class PlaybookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    title: str
    state: str = Field(description="active or paused (a shipped playbook is paused until resumed)")
    shipped: bool
    path: str
    trigger: str
    reentry: str
    consent: str = Field(description="opt_in or opt_out: who marketing email may go to")
    steps: list[str]
    runs: dict[str, int] = Field(description="Runs by status")


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: int
    kind: str
    status: str
    due_at: datetime
    attempts: int
    finished_at: datetime | None
    outcome: dict[str, Any] | None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    playbook: str
    customer_id: str
    trigger_id: str
    trigger_at: datetime
    status: str
    reason: str | None
    steps: list[StepOut]


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=40)
    at: str = Field(description="The moment the trigger happens (ISO 8601 with a zone)")


class DryStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: int
    at: datetime
    action: str
    outcome: str = Field(
        description="wait, pass, branch, stop, send, suppress, defer (quiet hours), call or act"
    )
    why: str


@router.get("", summary="Every playbook with its state")
def list_playbooks(tp: TouchpointDep, _: Reader) -> list[PlaybookOut]:
    return [PlaybookOut.model_validate(v) for v in service.list_playbooks(tp)]


@router.get("/{name}", summary="One playbook")
def show(tp: TouchpointDep, _: Reader, name: Name) -> PlaybookOut:
    return PlaybookOut.model_validate(service.show(tp, name))


@router.get("/{name}/runs", summary="A playbook's runs with their steps, newest first")
def runs(
    tp: TouchpointDep,
    _: Reader,
    name: Name,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    failed: Annotated[
        bool, Query(description="Only failed runs (a step failed its last attempt)")
    ] = False,
) -> list[RunOut]:
    service.show(tp, name)
    found = service.list_runs(
        tp, playbook=name, customer_id=customer_id, limit=limit, failed=failed
    )
    return [RunOut.model_validate(r) for r in found]


@router.post("/{name}/test", summary="Dry-run a playbook for one customer at a moment")
def dry_run(
    tp: TouchpointDep, _: Reader, name: Name, body: Annotated[DryRunIn, Body()]
) -> list[DryStepOut]:
    at = read_moment(body.at, "at")
    assert at is not None
    return [DryStepOut.model_validate(s) for s in service.dry_run(tp, name, body.customer_id, at)]


@router.post("/{name}/pause", summary="Pause: no new runs, due steps wait")
def pause(tp: TouchpointDep, principal: Writer, name: Name) -> PlaybookOut:
    view = service.set_state(tp, name, service.PAUSED, actor=principal.actor)
    return PlaybookOut.model_validate(view)


@router.post("/{name}/resume", summary="Resume (or enable a shipped playbook)")
def resume(tp: TouchpointDep, principal: Writer, name: Name) -> PlaybookOut:
    view = service.set_state(tp, name, service.ACTIVE, actor=principal.actor)
    return PlaybookOut.model_validate(view)


Token = Annotated[str, Path(min_length=10, max_length=2000, pattern=r"^[A-Za-z0-9_.\-]+$")]
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def public_page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A page a public link opens (unsubscribe, survey): `body` is HTML, escaped by the caller."""
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status_code)


@unsubscribe_router.get(
    "/unsubscribe/{token}",
    summary="The unsubscribe page (it never unsubscribes)",
    response_class=HTMLResponse,
    responses=error_responses(404),
)
def unsubscribe_page(tp: TouchpointDep, token: Token) -> HTMLResponse:
    """The page an email's unsubscribe link opens: what it would stop and a button that posts.
    No key: the signed token in the link is the proof (404 for one that is not ours). A GET
    never unsubscribes, so a mail scanner prefetching the link changes nothing."""
    target = service.unsubscribe_target(tp, token)
    body = (
        f"<p>Stop {html.escape(target.purpose)} messages by {html.escape(target.channel)}?</p>"
        f'<form method="post" action="/v1/unsubscribe/{html.escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return public_page("Unsubscribe", body)


@unsubscribe_router.post(
    "/unsubscribe/{token}",
    summary="One-click unsubscribe (RFC 8058); the same link twice unsubscribes once",
    response_class=HTMLResponse,
    responses=error_responses(404),
)
def unsubscribe(tp: TouchpointDep, token: Token) -> HTMLResponse:
    """Unsubscribe the person the signed token names from what it names (RFC 8058's
    List-Unsubscribe-Post one-click, or the page's button): an `unsubscribe` interaction in the
    log, once however often the link is posted. No key: the token is the proof."""
    done = service.unsubscribe(tp, token)
    body = (
        f"<p>You will get no more {html.escape(done.purpose)} messages by "
        f"{html.escape(done.channel)}.</p>"
    )
    return public_page("Unsubscribe", body)
