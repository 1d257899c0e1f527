"""Rule-based scores: the models in force, one customer's scores with their breakdown, and
applying a new score file (validated, then all history rescored)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from touchpoint.api.deps import ReadConn, TouchpointDep, allowed
from touchpoint.api.schemas import CustomerViewOut, error_responses, moment_query, read_moment
from touchpoint.services import scores as service
from touchpoint.services.access import Principal
from touchpoint.services.customers import current_id

router = APIRouter(tags=["scores"], responses=error_responses(401, 403, 422))


class RuleOut(BaseModel):
    name: str
    kind: str = Field(description="event (an interaction matching it) or inactivity (time)")
    points: float
    when: str = Field(description="What it matches, in words")
    caps: str = Field(description="Its caps, in words (empty without)")


class ModelOut(BaseModel):
    name: str
    description: str
    half_life_days: float | None = Field(description="Every award is worth half after it")
    thresholds: list[float]
    rules: list[RuleOut]
    customers: int = Field(description="Customers scored")
    mean: float = Field(description="Mean score at `at`")
    above: dict[str, int] = Field(description="Threshold -> customers at or above it at `at`")
    at: datetime


class ModelsOut(BaseModel):
    models: list[ModelOut]


class TopCustomerOut(BaseModel):
    customer_id: str
    score: float


class ModelDetailOut(ModelOut):
    top: list[TopCustomerOut] = Field(description="The highest scores at `at`")


class AwardOut(BaseModel):
    rule: str
    interaction_id: str | None = Field(description="null: time passing (an inactivity rule)")
    at: datetime
    points: float = Field(description="As given, after the rule's caps")
    now: float = Field(description="Decayed to `at` of the score")


class RuleTotalOut(BaseModel):
    rule: str
    awards: int
    points: float = Field(description="The rule's awards, decayed to `at` of the score")


class CrossingOut(BaseModel):
    kind: str = Field(description="score_rose_above or score_fell_below")
    threshold: float
    at: datetime
    interaction_id: str | None = Field(description="null: decay or inactivity")
    key: str


class CustomerScoreOut(BaseModel):
    model: str
    score: float = Field(description="The score at `at`, decay applied")
    at: datetime
    half_life_days: float | None
    by_rule: list[RuleTotalOut] = Field(description="Largest contribution first")
    awards: list[AwardOut] = Field(description="Newest first")
    crossings: list[CrossingOut] = Field(description="Oldest first")
    due_at: datetime | None = Field(description="When time alone next changes it")


class CustomerScoresOut(BaseModel):
    customer_id: str
    scores: list[CustomerScoreOut]


class CustomerViewScoredOut(CustomerViewOut):
    scores: list[CustomerScoreOut] = Field(description="Each score model's score now")


class ScoreFileIn(BaseModel):
    source: str = Field(description="The score file (TOML): [[model]] tables with their rules")


class ApplyOut(BaseModel):
    models: list[str]
    customers: int = Field(description="Customers rescored")
    events: int = Field(description="Interactions folded")


@router.get("/v1/scores", response_model=ModelsOut, summary="The score models in force")
def list_models(
    conn: ReadConn,
    tp: TouchpointDep,
    _who: Annotated[Principal, allowed("customers.read")],
    at: Annotated[str | None, moment_query("Score as of this moment (default now)")] = None,
) -> ModelsOut:
    """Each model in force: its rules, half-life and thresholds, how many customers it scores,
    their mean score and how many are at or above each threshold at `at`."""
    models = service.list_models(conn, tp, at=read_moment(at, "at"))
    return ModelsOut.model_validate({"models": models}, from_attributes=True)


@router.get(
    "/v1/scores/{model}",
    response_model=ModelDetailOut,
    summary="One score model and its top customers",
    responses=error_responses(404),
)
def show_model(
    model: str,
    conn: ReadConn,
    tp: TouchpointDep,
    _who: Annotated[Principal, allowed("customers.read")],
    at: Annotated[str | None, moment_query("Score as of this moment (default now)")] = None,
) -> ModelDetailOut:
    detail = service.model_detail(conn, tp, model, at=read_moment(at, "at"))
    top = [{"customer_id": cid, "score": score} for cid, score in detail.top]
    values = ModelOut.model_validate(detail, from_attributes=True).model_dump()
    return ModelDetailOut.model_validate({**values, "top": top})


@router.put(
    "/v1/scores",
    response_model=ApplyOut,
    summary="Apply a score file: validate it, then rescore all history",
    responses=error_responses(400),
)
def apply_models(
    tp: TouchpointDep,
    who: Annotated[Principal, allowed("scores.config")],
    body: Annotated[ScoreFileIn, Body()],
) -> ApplyOut:
    """Check the file (a mistake is a 422 naming the model or rule, the problem and its line,
    and nothing changes), then rescore every customer's whole history with it; it is then the
    file in force."""
    result = service.apply_text(tp, body.source, where="source", actor=who.actor)
    return ApplyOut.model_validate(result, from_attributes=True)


@router.get(
    "/v1/customers/{customer_id}/scores",
    response_model=CustomerScoresOut,
    summary="One customer's scores with their breakdown",
    responses=error_responses(404),
)
def customer_scores(
    customer_id: str,
    conn: ReadConn,
    tp: TouchpointDep,
    _who: Annotated[Principal, allowed("customers.read")],
    at: Annotated[str | None, moment_query("Decay the scores to this moment")] = None,
) -> CustomerScoresOut:
    """Each model's score (decayed to `at`, default now), by rule and award (which interaction
    gave how many points, and what they are worth now), and its threshold crossings. A
    merged-away id answers with its survivor."""
    cid = current_id(conn, customer_id)
    scores = service.scores_of(conn, tp, cid, at=read_moment(at, "at"))
    return CustomerScoresOut.model_validate(
        {"customer_id": cid, "scores": scores}, from_attributes=True
    )
