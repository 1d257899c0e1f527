"""Segments and playbooks: the saved segments with their members and counts over time, a live
count of a rule being written (htmx asks `services.segments.preview` as you type), saving one;
the playbooks with their runs, paused or resumed by a manager. Saving and pausing are POST forms
with the session's CSRF token; everything else is a GET."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from touchpoint.errors import TouchpointError, ValidationError
from touchpoint.services import playbooks as playbook_service
from touchpoint.services import segments as segment_service
from touchpoint.services.access import Principal
from touchpoint.web import charts
from touchpoint.web.auth import Change, changes, signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()

Rule = Annotated[str, Query(max_length=4000)]
MEMBERS_SHOWN = 50
RUNS_SHOWN = 50
COUNT_DAYS = 90


def _segments_page(
    request: Request,
    who: Principal,
    *,
    name: str = "",
    rule: str = "",
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tp = touchpoint_of(request)
    saved = segment_service.list_segments(tp)
    trends = {}
    for i, s in enumerate(saved):  # members at the end of each day with a change
        points = segment_service.counts(tp, s.id, days=COUNT_DAYS)
        if points:
            fig = charts.sparkline(
                [p.day for p in points], [p.members for p in points], s.name, step=True
            )
            trends[s.id] = chart(fig, f"segment-trend-{i}", small=True)
    return page(
        request,
        "segments.html",
        who,
        status_code=status_code,
        segments=saved,
        trends=trends,
        count_days=COUNT_DAYS,
        may_write=who.may("segments.write"),
        name=name,
        rule=rule,
        problem=problem,
    )


@router.get("/segments", response_class=HTMLResponse)
def segments(
    request: Request, who: Annotated[Principal, signed_in("customers.list")]
) -> HTMLResponse:
    """The saved segments, each with its members now; a form to write a rule and save it."""
    return _segments_page(request, who)


@router.get("/segments/preview", response_class=HTMLResponse)
def preview(
    request: Request, who: Annotated[Principal, signed_in("customers.list")], rule: Rule = ""
) -> HTMLResponse:
    """How many customers a rule holds now (nothing saved): the fragment the form swaps in as
    the rule is typed, or the rule's mistake."""
    count = problem = None
    if rule.strip():
        try:
            count = segment_service.preview(touchpoint_of(request), rule=rule).members
        except ValidationError as exc:
            problem = str(exc)
    return page(request, "_segment_preview.html", who, count=count, problem=problem)


@router.post("/segments", response_class=HTMLResponse, response_model=None)
def save_segment(
    request: Request, change: Annotated[Change, changes("segments.write")]
) -> Response:
    """Save a segment (its members are evaluated at once) and open it."""
    name, rule = change.form.get("name", "").strip(), change.form.get("rule", "").strip()
    try:
        if not name or not rule:
            raise ValidationError("a segment needs a name and a rule")
        saved = segment_service.create_segment(
            touchpoint_of(request), name=name, rule=rule, actor=change.who.actor
        )
    except TouchpointError as exc:  # a bad rule, a name taken: shown on the form, kept
        if exc.status_code >= 500:
            raise
        return _segments_page(
            request, change.who, name=name, rule=rule, problem=str(exc), status_code=exc.status_code
        )
    return RedirectResponse(f"/app/segments/{saved.id}", status_code=303)


@router.get("/segments/{key}", response_class=HTMLResponse)
def segment(
    request: Request,
    key: str,
    who: Annotated[Principal, signed_in("customers.list")],
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """A segment: its rule, members over the last 90 days, and its members (contact details only
    for a role that sees them)."""
    tp = touchpoint_of(request)
    view = segment_service.get_segment(tp, key)
    members = segment_service.members(
        tp, view.id, after=after, limit=MEMBERS_SHOWN, contact_details=who.sees_contact_details
    )
    figure = None
    if who.may("analytics.read"):
        points = segment_service.counts(tp, view.id, days=COUNT_DAYS)
        figure = chart(charts.segment_counts(points), "segment-counts") if points else None
    return page(
        request,
        "segment.html",
        who,
        s=view,
        members=members,
        figure=figure,
        details=who.sees_contact_details,
        may_open=who.may("customers.read"),
    )


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(
    request: Request,
    who: Annotated[Principal, signed_in("playbooks.read")],
    playbook: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """The playbooks (state, trigger, steps, runs by status), pause and resume for a manager,
    and the latest runs (of one playbook when named)."""
    tp = touchpoint_of(request)
    listed = playbook_service.list_playbooks(tp)
    if playbook:
        playbook_service.show(tp, playbook)  # an unknown name is a 404
    runs = playbook_service.list_runs(tp, playbook=playbook or None, limit=RUNS_SHOWN)
    return page(
        request,
        "playbooks.html",
        who,
        playbooks=listed,
        runs=runs,
        playbook=playbook or "",
        may_write=who.may("playbooks.write"),
    )


@router.post("/playbooks/{name}/state", response_model=None)
def playbook_state(
    request: Request, name: str, change: Annotated[Change, changes("playbooks.write")]
) -> Response:
    """Pause or resume a playbook (in the audit trail as the signed-in user)."""
    state = change.form.get("state", "")
    if state not in ("active", "paused"):
        raise ValidationError(f"state: 'active' or 'paused', got {state!r}")
    playbook_service.set_state(touchpoint_of(request), name, state, actor=change.who.actor)
    return RedirectResponse("/app/playbooks", status_code=303)
