"""Rule-based scores for every face: the models in force, a customer's scores with their
breakdown (decayed to a moment), and applying a new score file (validated, then replayed)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from touchpoint.domain.scores import DAY_S, ScoreModel, decayed
from touchpoint.errors import NotFound, ValidationError
from touchpoint.projections.contract import Progress
from touchpoint.projections.scores import ScoreProjection, parse_models
from touchpoint.services import audit
from touchpoint.store import scores as store
from touchpoint.store.engine import read_connection

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint

TOP_CUSTOMERS = 10
_OPS = {"eq": "=", "ne": "≠", "in": "in", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_OPS["exists"] = "exists:"


@dataclass(frozen=True)
class ScoreAward:
    """One award of the breakdown: what a rule gave, when, and what it is worth at the moment."""

    rule: str
    interaction_id: str | None  # None: time passing (an inactivity rule)
    at: datetime
    points: float  # as given (after the rule's caps)
    now: float  # decayed to the moment asked


@dataclass(frozen=True)
class RuleTotal:
    rule: str
    awards: int
    points: float  # decayed to the moment asked


@dataclass(frozen=True)
class ScoreCrossing:
    kind: str  # score_rose_above, score_fell_below
    threshold: float
    at: datetime
    interaction_id: str | None
    key: str


@dataclass(frozen=True)
class CustomerScore:
    """A customer's score under one model at `at`, with its breakdown."""

    model: str
    score: float
    at: datetime
    half_life_days: float | None
    by_rule: tuple[RuleTotal, ...]  # largest magnitude first
    awards: tuple[ScoreAward, ...]  # newest first
    crossings: tuple[ScoreCrossing, ...]  # oldest first
    due_at: datetime | None  # when time alone next changes it


@dataclass(frozen=True)
class RuleView:
    name: str
    kind: str  # "event" or "inactivity"
    points: float
    when: str  # what it matches, in words
    caps: str  # its caps, in words ("" without)


@dataclass(frozen=True)
class ModelSummary:
    name: str
    description: str
    half_life_days: float | None
    thresholds: tuple[float, ...]
    rules: tuple[RuleView, ...]
    customers: int  # customers with a score row
    mean: float  # mean score at `at`
    above: dict[str, int]  # threshold (as text) -> customers at or above it at `at`
    at: datetime


@dataclass(frozen=True)
class ModelDetail(ModelSummary):
    top: tuple[tuple[str, float], ...]  # (customer_id, score at `at`), highest first


@dataclass(frozen=True)
class ScoreBand:
    """Customers whose score at the moment is at least `low` and below `high` (None: no end)."""

    low: float | None  # None: no start (below zero)
    high: float | None
    customers: int


@dataclass(frozen=True)
class ModelOverview(ModelDetail):
    bands: tuple[ScoreBand, ...]  # below 0, then from 0 to each threshold and beyond the last


@dataclass(frozen=True)
class ApplyResult:
    models: tuple[str, ...]
    customers: int
    events: int


def _now(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def projection(tp: Touchpoint) -> ScoreProjection:
    found = tp.projections.get("scores")
    assert isinstance(found, ScoreProjection)
    return found


def scores_of(
    conn: Connection, tp: Touchpoint, customer_id: str, *, at: datetime | None = None
) -> tuple[CustomerScore, ...]:
    """Every model's score of the customer at `at` (default now), with the breakdown."""
    moment = _now(at)
    rows = {row.model: row for row in store.score_rows(conn, customer_id)}
    crossings: dict[str, list[ScoreCrossing]] = defaultdict(list)
    for c in store.crossings_of(conn, customer_id):
        crossings[c["model"]].append(
            ScoreCrossing(c["kind"], c["threshold"], c["at"], c["interaction_id"], c["key"])
        )
    result = []
    for model in projection(tp).models(conn):
        row = rows.get(model.name)
        awards = [
            ScoreAward(
                a["rule"],
                a["interaction_id"],
                a["at"],
                a["points"],
                decayed(a["points"], a["at"].timestamp(), moment.timestamp(), model.half_life_s),
            )
            for a in store.awards_of(conn, customer_id, model.name)
            if a["at"] <= moment
        ]
        result.append(
            CustomerScore(
                model=model.name,
                score=sum(a.now for a in awards) if awards else 0.0,
                at=moment,
                half_life_days=_days(model.half_life_s),
                by_rule=_by_rule(awards),
                awards=tuple(reversed(awards)),
                crossings=tuple(c for c in crossings[model.name] if c.at <= moment),
                due_at=row.due_at if row else None,
            )
        )
    return tuple(result)


def _by_rule(awards: list[ScoreAward]) -> tuple[RuleTotal, ...]:
    totals: dict[str, list[float]] = defaultdict(list)
    for award in awards:
        totals[award.rule].append(award.now)
    rows = [RuleTotal(rule, len(values), sum(values)) for rule, values in totals.items()]
    return tuple(sorted(rows, key=lambda r: (-abs(r.points), r.rule)))


def _days(seconds: float | None) -> float | None:
    return seconds / DAY_S if seconds is not None else None


def list_models(
    conn: Connection, tp: Touchpoint, *, at: datetime | None = None
) -> list[ModelSummary]:
    moment = _now(at)
    return [_summary(conn, model, moment) for model in projection(tp).models(conn)]


def model_detail(
    conn: Connection, tp: Touchpoint, name: str, *, at: datetime | None = None
) -> ModelDetail:
    moment = _now(at)
    models = {m.name: m for m in projection(tp).models(conn)}
    if name not in models:
        raise NotFound(f"no score model {name!r}; in force: {', '.join(models)}")
    return _detail(conn, models[name], moment)[0]


def _detail(
    conn: Connection, model: ScoreModel, moment: datetime
) -> tuple[ModelDetail, dict[str, float]]:
    """The model's detail at `moment`, and the scores it was worked out from (read once)."""
    scores = store.decayed_scores(conn, model.name, moment)
    summary = _summary(conn, model, moment, list(scores.values()))
    top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CUSTOMERS]
    values = {f.name: getattr(summary, f.name) for f in fields(summary)}
    return ModelDetail(**values, top=tuple(top)), scores


def overviews(
    conn: Connection, tp: Touchpoint, *, at: datetime | None = None
) -> list[ModelOverview]:
    """Every model in force as `model_detail` gives it, and its customers by score band (the
    thresholds are the bands' edges), the scores decayed to `at` read once per model."""
    moment = _now(at)
    found = []
    for model in projection(tp).models(conn):
        detail, scores = _detail(conn, model, moment)
        values = {f.name: getattr(detail, f.name) for f in fields(detail)}
        found.append(ModelOverview(**values, bands=_bands(model, scores.values())))
    return found


def _bands(model: ScoreModel, scores: Iterable[float]) -> tuple[ScoreBand, ...]:
    edges = sorted({0.0, *(t for t in model.thresholds if t > 0)})
    lows: list[float | None] = [None, *edges]
    highs: list[float | None] = [*edges, None]
    counts = [0] * len(lows)
    for score in scores:
        counts[bisect_right(edges, score)] += 1
    return tuple(ScoreBand(lo, hi, n) for lo, hi, n in zip(lows, highs, counts, strict=True))


def _summary(
    conn: Connection, model: ScoreModel, moment: datetime, scores: list[float] | None = None
) -> ModelSummary:
    if scores is None:
        scores = list(store.decayed_scores(conn, model.name, moment).values())
    return ModelSummary(
        name=model.name,
        description=model.description,
        half_life_days=_days(model.half_life_s),
        thresholds=model.thresholds,
        rules=_rules(model),
        customers=len(scores),
        mean=sum(scores) / len(scores) if scores else 0.0,
        above={f"{t:g}": sum(1 for s in scores if s >= t) for t in model.thresholds},
        at=moment,
    )


def _rules(model: ScoreModel) -> tuple[RuleView, ...]:
    views = []
    for rule in model.rules:
        when = [
            f"type {' or '.join(sorted(rule.types))}" if rule.types else "any type",
            *([f"on {' or '.join(sorted(rule.channels))}"] if rule.channels else []),
            *(f"{c.field} {_OPS[c.op]} {c.value!r}" for c in rule.conditions),
        ]
        caps = [
            *([f"at most {rule.cap:g} in all"] if rule.cap is not None else []),
            *(
                [f"at most {rule.period_cap:g} per {(rule.period_s or 0) / DAY_S:g} days"]
                if rule.period_cap is not None
                else []
            ),
        ]
        views.append(RuleView(rule.name, "event", rule.points, ", ".join(when), "; ".join(caps)))
    for quiet in model.inactivity:
        days = quiet.after_s / DAY_S
        views.append(
            RuleView(quiet.name, "inactivity", quiet.points, f"no activity for {days:g} days", "")
        )
    return tuple(views)


def check_file(path: Path) -> str:
    """The text of a score file that parses (a ValidationError naming the file, rule and problem
    otherwise)."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such score file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    parse_models(text, str(path))
    return text


def apply_text(
    tp: Touchpoint,
    text: str,
    *,
    where: str = "score file",
    actor: str = "system",
    progress: Progress | None = None,
) -> ApplyResult:
    """Validate a score file, then rescore all history with it (it is then the file in force),
    and record who did. A file that does not parse changes nothing."""
    models = parse_models(text, where)
    report = tp.projections.replay("scores", progress, source=text)
    names = tuple(m.name for m in models)
    audit.record_read(tp.engine, actor, "scores.config", None, models=list(names))
    return ApplyResult(names, report.customers, report.events)


def source_in_force(tp: Touchpoint) -> str:
    from touchpoint.projections.scores import default_models_text

    with read_connection(tp.engine) as conn:
        return store.read_meta(conn).get("models") or default_models_text()
