"""Scores: each rule-based score model in force (its rules, half-life and thresholds, the
customers it scores, their mean and the customers in each band between the thresholds, as a
chart, and the top customers now) and the trained predictive models (their latest version's
quality beside its baseline and what it scored). The same services as `/v1/scores` and
`/v1/models`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from touchpoint.services import models as model_service
from touchpoint.services import scores as score_service
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()


@router.get("/scores", response_class=HTMLResponse)
def scores(
    request: Request, who: Annotated[Principal, signed_in("customers.list")]
) -> HTMLResponse:
    """The score models now, and the predictive models' latest versions."""
    tp = touchpoint_of(request)
    with read_connection(tp.engine) as conn:
        overviews = score_service.overviews(conn, tp)
    figures = {
        o.name: chart(charts.score_bands(o.name, list(o.bands)), f"bands-{i}")
        for i, o in enumerate(overviews)
    }
    latest, seen = [], set()
    for view in model_service.list_models(tp):  # newest first per model
        if view.name not in seen:
            seen.add(view.name)
            latest.append(view)
    return page(
        request,
        "scores.html",
        who,
        overviews=overviews,
        figures=figures,
        band_label=charts.band_label,
        predictive=latest,
        may_open=who.may("customers.read"),
    )
