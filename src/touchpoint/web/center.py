"""The contact center's planning pages: the staffing calculator (Erlang C, Erlang A with
callers' patience) and the simulation's what-ifs (SimPy, the same policy as the router), both
forms sent with GET — they change nothing, and the address holds the question, so an answer can
be shared. The same services as `touchpoint cc staffing|simulate` and the API."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from touchpoint.contact_center.simulation_scenarios import scenarios_from
from touchpoint.errors import ValidationError
from touchpoint.services import simulation
from touchpoint.services import staffing as staffing_service
from touchpoint.services.access import Principal
from touchpoint.web import charts
from touchpoint.web.auth import signed_in, touchpoint_of
from touchpoint.web.render import chart, page

router = APIRouter()

Field = Annotated[str, Query(max_length=40)]
CURVE_POINTS = 30
MAX_REPLICATIONS = 10
MAX_CONTACTS = 50_000  # as the API's simulation
WHAT_IFS = 2  # scenarios the form offers beside the baseline


def _number(name: str, text: str, *, integer: bool = False) -> float | None:
    """A form field as a number (empty: not given), refused naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ValidationError(f"{name}: {kind}, got {text!r}") from None
    if not math.isfinite(value):
        raise ValidationError(f"{name}: a finite number, got {text!r}")
    return value


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _curve(q: staffing_service.StaffingQuestion, found: staffing_service.Staffing) -> Any:
    """The service level for each staffing around the answer (where Erlang C is stable)."""
    low = max(1, math.floor(found.traffic_erlangs) + 1 if q.patience_s is None else 1)
    high = max(low + 5, found.agents + 5)
    low = max(low, high - CURVE_POINTS)
    points = []
    for agents in range(low, high + 1):
        performance = staffing_service.performance(q, found.traffic_erlangs, agents)
        points.append((agents, performance.service_level, performance.occupancy))
    return chart(
        charts.staffing_curve(points, q.target, q.threshold_s, found.agents), "staffing-chart"
    )


@router.get("/staffing", response_class=HTMLResponse)
def staffing(
    request: Request,
    who: Annotated[Principal, signed_in("cc.read")],
    volume: Field = "",
    interval: Field = "30m",
    aht: Field = "",
    target: Field = "80/20",
    shrinkage: Field = "0",
    max_occupancy: Field = "1",
    patience: Field = "",
    agents: Field = "",
) -> HTMLResponse:
    """Agents needed for a volume and a service-level target, or what a number of agents
    achieve, with the service level for each staffing around the answer."""
    form = {
        "volume": volume,
        "interval": interval,
        "aht": aht,
        "target": target,
        "shrinkage": shrinkage,
        "max_occupancy": max_occupancy,
        "patience": patience,
        "agents": agents,
    }
    found = figure = None
    problem = None
    if volume.strip() or aht.strip():
        try:
            q = staffing_service.question(
                volume=_or(_number("volume", volume), 0.0),
                interval=interval,
                aht=_or(_number("aht", aht), 0.0),
                target=target,
                shrinkage=_or(_number("shrinkage", shrinkage), 0.0),
                max_occupancy=_or(_number("max_occupancy", max_occupancy), 1.0),
                patience=_number("patience", patience),
                agents=None
                if not agents.strip()
                else int(_number("agents", agents, integer=True) or 0),
            )
            found = staffing_service.answer(q)
            if found.stable and q.volume > 0:
                figure = _curve(q, found)
        except ValidationError as exc:
            problem = str(exc)
    status = 422 if problem else 200
    return page(
        request,
        "staffing.html",
        who,
        status_code=status,
        form=form,
        found=found,
        figure=figure,
        problem=problem,
    )


def _what_if(i: int, values: dict[str, str]) -> dict[str, Any] | None:
    """Scenario i of the form as the scenario file's table (None: left empty)."""
    name = values.get(f"name{i}", "").strip()
    numbers = {
        "volume": _number(f"volume{i}", values.get(f"volume{i}", "")),
        "aht_delta_s": _number(f"aht{i}", values.get(f"aht{i}", "")),
    }
    add = _number(f"add{i}", values.get(f"add{i}", ""), integer=True)
    fewer = _number(f"fewer{i}", values.get(f"fewer{i}", ""), integer=True)
    if not name and all(v is None for v in (*numbers.values(), add, fewer)):
        return None
    scenario: dict[str, Any] = {"name": name or f"what-if {i}"}
    scenario |= {k: v for k, v in numbers.items() if v is not None}
    if add:
        scenario["add_agents"] = [{"count": int(add)}]
    if fewer:
        scenario["fewer_agents"] = [{"count": int(fewer)}]
    return scenario


@router.get("/simulate", response_class=HTMLResponse)
def simulate(
    request: Request,
    who: Annotated[Principal, signed_in("cc.read")],
    run: bool = False,
    replications: Field = "3",
    seed: Field = "1",
) -> HTMLResponse:
    """A day of the center simulated on the configuration in force: the baseline beside up to
    two what-ifs (volume, handle time, agents added or taken away), each figure a mean with its
    95% interval."""
    values = {k: str(v) for k, v in request.query_params.items() if len(str(v)) <= 80}
    values |= {"replications": replications, "seed": seed}
    result = problem = figure = None
    if run:
        try:
            found = [_what_if(i, values) for i in range(1, WHAT_IFS + 1)]
            scenarios = scenarios_from({"scenario": [s for s in found if s]}) if any(found) else []
            reps = int(_or(_number("replications", replications, integer=True), 3))
            if not 1 <= reps <= MAX_REPLICATIONS:
                raise ValidationError(f"replications: 1 to {MAX_REPLICATIONS}; got {reps}")
            result = simulation.simulate(
                touchpoint_of(request),
                scenarios=scenarios,
                replications=reps,
                seed=int(_or(_number("seed", seed, integer=True), 1)),
                max_contacts=MAX_CONTACTS,
            )
            figure = chart(charts.scenario_bars(result.scenarios), "scenario-chart")
        except ValidationError as exc:
            problem = str(exc)
    return page(
        request,
        "simulate.html",
        who,
        status_code=422 if problem else 200,
        values=values,
        what_ifs=range(1, WHAT_IFS + 1),
        result=result,
        figure=figure,
        problem=problem,
    )
