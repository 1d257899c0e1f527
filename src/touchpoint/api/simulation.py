"""The center's simulation over HTTP: a day simulated on the configuration in force and the log's
history, the baseline beside each what-if, with confidence intervals. Sized so that a request
cannot run for minutes: at most MAX_REPLICATIONS days per scenario, MAX_SCENARIOS what-ifs and
MAX_CONTACTS simulated contacts in all."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.contact_center.simulation_scenarios import parse_scenarios, scenarios_from
from touchpoint.errors import ValidationError
from touchpoint.services import simulation as service
from touchpoint.services.access import Principal

Reader = Annotated[Principal, allowed("cc.read")]

MAX_REPLICATIONS = 20
MAX_SCENARIOS = 4
MAX_CONTACTS = 50_000
INTERVALS = {"15m": 900.0, "30m": 1800.0, "60m": 3600.0}

router = APIRouter(
    prefix="/v1/cc",
    tags=["contact center"],
    responses=error_responses(400, 401, 403, 409, 422),
)


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=MAX_SCENARIOS,
        description="What-ifs, each as a [[scenario]] table of the TOML file: name, volume, "
        "aht_delta_s, at_risk_priority, fewer_agents, add_agents, languages",
    )
    scenario_toml: str | None = Field(
        None, max_length=20_000, description="Or the scenario file's text (TOML)"
    )
    replications: int = Field(5, ge=1, le=MAX_REPLICATIONS, description="Days per scenario")
    seed: int = Field(1, description="Same seed, same figures")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = Field(
        None, description="The day to simulate (default: the history's busiest)"
    )
    interval: Literal["15m", "30m", "60m"] = "30m"
    arrivals: Literal["history", "forecast"] = Field(
        "history",
        description="Arrival rates: the history's weekday × interval means, or the forecast",
    )


@router.post("/simulate", summary="Simulate a day, with what-ifs")
def simulate(tp: TouchpointDep, _who: Reader, body: Annotated[SimulateIn, Body()]) -> Any:
    """A day of the center simulated (SimPy) on the configuration in force, with arrivals,
    handle times and patience fitted from the log's history, routed by the same policy as the
    router: per scenario (the baseline first) the service level, ASA, abandonment, occupancy,
    at-risk customers who waited past the target and the churn that implies, each as a mean
    with its 95% confidence interval, and the fits used. 422 for a run larger than
    50,000 simulated contacts in all."""
    scenarios = scenarios_from({"scenario": body.scenarios}) if body.scenarios else []
    if body.scenario_toml is not None:
        scenarios += parse_scenarios(body.scenario_toml)
    if len(scenarios) > MAX_SCENARIOS:
        raise ValidationError(f"scenarios: at most {MAX_SCENARIOS}")
    result = service.simulate(
        tp,
        scenarios=scenarios,
        replications=body.replications,
        seed=body.seed,
        weekday=body.weekday,
        interval_s=INTERVALS[body.interval],
        arrivals=body.arrivals,
        max_contacts=MAX_CONTACTS,
    )
    return service.as_document(result)
