"""Surveys: each survey defined (shipped or in the data directory's `surveys/`) with its
questions, and the answers it received — how many sends were answered, per question how many
answers, and for a CSAT or NPS question each score's answers (a chart beside its table) and the
CSAT or NPS they make, as the KPIs define them; and the CSAT and NPS answers from no survey's
form (imported, or a survey tool's), which the KPIs count too. The same service as `touchpoint
survey list`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.services import surveys as survey_service
from touchpoint.services.access import Principal
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()


@router.get("/surveys", response_class=HTMLResponse)
def surveys(
    request: Request, who: Annotated[Principal, signed_in("analytics.read")]
) -> HTMLResponse:
    """The surveys and the answers each received (aggregates only: no customer is shown)."""
    found = survey_service.answers(touchpoint_of(request))
    figures = {
        f"{s.survey.name}/{q.name}": chart(
            charts.answer_scores(f"{s.survey.name}: {q.name} answers by score", q.distribution),
            f"scores-{i}-{j}",
        )
        for i, s in enumerate(found.surveys)
        for j, q in enumerate(s.questions)
        if q.distribution and q.answers
    }
    other = [q for q in found.other if q.answers]
    for q in other:
        title = f"{q.name.upper()} answers from no survey's form, by score"
        figures[f"/{q.name}"] = chart(
            charts.answer_scores(title, q.distribution), f"other-{q.name}"
        )
    return page(request, "surveys.html", who, surveys=found.surveys, other=other, figures=figures)
