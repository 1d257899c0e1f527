"""Forecast and plan for every face: contacts per queue and interval for the days ahead from the
log's history (with its backtest beside a naive forecast), and next week's staffing plan on
each queue's target with a shift cover. The queues' targets, calendars and time zones come from
the contact-center configuration in force (without one: every queue 80/20, UTC, always open)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from touchpoint.analytics.sources import open_sources
from touchpoint.contact_center import forecast as model
from touchpoint.contact_center import plan as planning
from touchpoint.contact_center.config import CenterConfig
from touchpoint.domain.contact_center import DEFAULT_THRESHOLD_S
from touchpoint.errors import Conflict, ValidationError
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import current_config
from touchpoint.store.engine import read_connection

DEFAULT_TARGET = (0.8, DEFAULT_THRESHOLD_S)
MAX_DAYS = 62
MAX_WEEKS = 52


@dataclass(frozen=True)
class Forecast:
    interval_min: int
    start: date
    days: int
    history_weeks: int
    holdout_weeks: int
    rows: list[dict[str, Any]]  # queue, interval_start, expected
    accuracy: list[model.Accuracy]
    aht_s: dict[str, float]


@dataclass(frozen=True)
class Plan:
    forecast: Forecast
    shrinkage: float
    max_occupancy: float
    patience_s: float | None
    needs: list[planning.Need]
    covers: list[planning.Cover]


def check(
    *, interval: str, days: int, history_weeks: int, holdout_weeks: int, queue: str | None
) -> int:
    """The interval in minutes, after checking every field."""
    minutes = {"15m": 15, "30m": 30, "60m": 60, "1h": 60}.get(interval.strip().lower())
    if minutes is None:
        raise ValidationError(f"interval: 15m, 30m or 60m; got {interval!r}")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"days: 1 to {MAX_DAYS}; got {days}")
    if not 1 <= history_weeks <= MAX_WEEKS:
        raise ValidationError(f"history_weeks: 1 to {MAX_WEEKS}; got {history_weeks}")
    if not 1 <= holdout_weeks <= 8:
        raise ValidationError(f"holdout_weeks: 1 to 8; got {holdout_weeks}")
    if queue is not None and not queue.strip():
        raise ValidationError("queue: a queue's id")
    return minutes


def forecast(
    tp: Touchpoint,
    *,
    interval: str = "30m",
    days: int = 7,
    start: date | None = None,
    history_weeks: int = 8,
    holdout_weeks: int = 2,
    queue: str | None = None,
    now: datetime | None = None,
) -> Forecast:
    """Contacts per queue per interval for `days` days from `start` (default tomorrow), fitted on
    the `history_weeks` full weeks of history before today, and the backtest on the last
    `holdout_weeks` weeks."""
    minutes = check(
        interval=interval,
        days=days,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        queue=queue,
    )
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    start = start or today + timedelta(days=1)
    if start < today:
        raise ValidationError(f"start: today ({today}) or later; got {start}")
    config = _config(tp)
    calendars = config.calendars if config else {}
    with open_sources(tp.settings) as sources:
        history = model.contact_history(sources.interactions, until=_midnight(today))
    queues = _queues(config, history, queue)
    arrivals = model.forecast_arrivals(
        history,
        start=start,
        days=days,
        interval_min=minutes,
        history_weeks=history_weeks,
        calendars=calendars,
        queues=queues,
        until=today,
    )
    accuracy = model.backtest(
        history,
        cutoff=today,
        interval_min=minutes,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        calendars=calendars,
        queues=queues,
    )
    recent = history[history["occurred_at"] >= _naive(today - timedelta(weeks=history_weeks))]
    handle = model.handle_times(history) | model.handle_times(recent)  # recent weeks first
    default = config.default_handle_s if config else 240.0
    return Forecast(
        interval_min=minutes,
        start=start,
        days=days,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        rows=arrivals.to_pylist(),
        accuracy=accuracy,
        aht_s={q: handle.get(q, default) for q in queues},
    )


def plan(
    tp: Touchpoint,
    *,
    interval: str = "30m",
    start: date | None = None,
    history_weeks: int = 8,
    holdout_weeks: int = 2,
    queue: str | None = None,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    patience: float | None = None,
    shift_hours: int = planning.SHIFT_HOURS,
    now: datetime | None = None,
) -> Plan:
    """Next week's plan (default from the coming Monday): agents per queue and interval for
    each queue's target, the agents to schedule with shrinkage, and each queue's shift cover."""
    if not 0 <= shrinkage < 1:
        raise ValidationError(f"shrinkage: 0 to <1; got {shrinkage}")
    if not 0 < max_occupancy <= 1:
        raise ValidationError(f"max_occupancy: above 0, at most 1; got {max_occupancy}")
    if patience is not None and not patience > 0:
        raise ValidationError(f"patience: seconds, > 0; got {patience}")
    if not 1 <= shift_hours <= 12:
        raise ValidationError(f"shift_hours: 1 to 12; got {shift_hours}")
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    start = start or today + timedelta(days=7 - today.weekday())
    ahead = forecast(
        tp,
        interval=interval,
        days=7,
        start=start,
        history_weeks=history_weeks,
        holdout_weeks=holdout_weeks,
        queue=queue,
        now=now,
    )
    config = _config(tp)
    targets = {
        q: (config.targets.get(q, DEFAULT_TARGET) if config else DEFAULT_TARGET)
        for q in ahead.aht_s
    }
    zones = {q: ZoneInfo(c.time_zone) for q, c in (config.calendars if config else {}).items()}
    import pyarrow as pa

    found = planning.needs(
        pa.Table.from_pylist(ahead.rows, schema=model.ARRIVALS_SCHEMA),
        interval_min=ahead.interval_min,
        aht_s=ahead.aht_s,
        targets=targets,
        zones=zones,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        patience_s=patience,
    )
    covers = [
        planning.shift_cover(
            [n for n in found if n.queue == q],
            interval_min=ahead.interval_min,
            shift_hours=shift_hours,
        )
        for q in sorted(ahead.aht_s)
        if any(n.queue == q for n in found)
    ]
    return Plan(ahead, shrinkage, max_occupancy, patience, found, covers)


def _config(tp: Touchpoint) -> CenterConfig | None:
    try:
        with read_connection(tp.engine) as conn:
            return current_config(conn)[1]
    except Conflict:  # no configuration yet: the log's queues, default targets
        return None


def _queues(config: CenterConfig | None, history: Any, queue: str | None) -> list[str]:
    known = set(config.queues) if config else set()
    known |= {str(q) for q in history["queue"].unique()}
    if queue is not None:
        if queue not in known:
            raise ValidationError(f"queue: no queue {queue!r} in the configuration or the log")
        return [queue]
    return sorted(known)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _naive(day: date) -> Any:
    import pandas as pd

    return pd.Timestamp(day)


def forecast_document(found: Forecast) -> dict[str, Any]:
    """The forecast as JSON: its parameters, each queue's AHT and backtest, and the rows."""
    return {
        "interval_min": found.interval_min,
        "start": found.start.isoformat(),
        "days": found.days,
        "history_weeks": found.history_weeks,
        "holdout_weeks": found.holdout_weeks,
        "aht_s": found.aht_s,
        "accuracy": [asdict(a) for a in found.accuracy],
        "rows": [r | {"interval_start": r["interval_start"].isoformat()} for r in found.rows],
    }


def plan_document(found: Plan) -> dict[str, Any]:
    """The plan as JSON: each queue's shift cover and every interval's need."""
    return {
        "start": found.forecast.start.isoformat(),
        "interval_min": found.forecast.interval_min,
        "shrinkage": found.shrinkage,
        "max_occupancy": found.max_occupancy,
        "patience_s": found.patience_s,
        "aht_s": found.forecast.aht_s,
        "accuracy": [asdict(a) for a in found.forecast.accuracy],
        "covers": [
            asdict(c) | {"shifts": [asdict(s) | {"day": s.day.isoformat()} for s in c.shifts]}
            for c in found.covers
        ],
        "needs": [
            asdict(n)
            | {
                "interval_start": n.interval_start.isoformat(),
                "local_start": n.local_start.isoformat(),
            }
            for n in found.needs
        ],
    }
