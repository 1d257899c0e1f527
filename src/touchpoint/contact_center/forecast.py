"""Contacts per queue and interval for the days ahead, from the log's history, and how well that
would have done on the last weeks held out, beside a naive forecast.

The model, per queue, in the queue's time zone (its calendar's, else UTC):

- **level and trend**: each day's total over the last `history_weeks` weeks, holidays left out,
  divided by its weekday's factor, and a straight line fitted through them (least squares; flat
  under two weeks of history), never below zero;
- **weekday**: the factor of each weekday, its mean day total over the mean of all days;
- **interval**: each weekday's share of its day per interval, smoothed toward the share of all
  days alike (one day's worth of weight), so a sparse history does not put a weekday's volume in
  the few intervals it happened to see;
- **holidays and opening hours**: a queue with a calendar gets nothing on its holidays nor in
  an interval it is closed for.

The backtest fits the same model on the history before the last `holdout_weeks` weeks and
compares it with what arrived, interval by interval: WAPE (sum of absolute errors over the sum
of arrivals) and MAPE (mean absolute percentage error over the intervals that had arrivals),
beside the naive forecast "the same interval last week" made at the same moment: every week
held out gets the last week known before it.

`forecast_arrivals` is the function for callers (the plan, the simulation): a table of
(queue, interval_start, expected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from touchpoint.analytics.common import answered, handle_time, live_contact, naive
from touchpoint.domain.calendar import BusinessCalendar

INTERVALS_MIN = (15, 30, 60)
DAY_MIN = 24 * 60
SMOOTHING_DAYS = 1.0  # the weight of the all-days shape in a weekday's intraday shape
ARRIVALS_SCHEMA = pa.schema(
    [
        ("queue", pa.string()),
        ("interval_start", pa.timestamp("us", tz="UTC")),
        ("expected", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Accuracy:
    """A queue's backtest: the model's and the naive forecast's errors over `intervals`
    intervals held out, in which `actual` contacts arrived (MAPE None when none had any)."""

    queue: str
    intervals: int
    actual: int
    forecast: float
    mape: float | None
    wape: float | None
    naive_mape: float | None
    naive_wape: float | None


def contact_history(interactions: ir.Table, *, until: datetime) -> pd.DataFrame:
    """The live contacts with a queue before `until`: queue, occurred_at (naive UTC) and the
    handle time of the answered ones (NaN otherwise)."""
    t = interactions
    live = t.filter(live_contact(t) & t.queue.notnull() & (t.occurred_at < naive(until)))
    took = answered(live)
    picked = live.select(
        queue=live.queue,
        occurred_at=live.occurred_at,
        handle_s=took.ifelse(handle_time(live).cast("float64"), None),
    )
    frame = picked.to_pyarrow().to_pandas()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    return frame


def handle_times(history: pd.DataFrame) -> dict[str, float]:
    """Each queue's average handle time of answered contacts (seconds), where it has some."""
    answered_rows = history.dropna(subset=["handle_s"])
    return {str(q): float(s) for q, s in answered_rows.groupby("queue")["handle_s"].mean().items()}


def forecast_arrivals(
    history: pd.DataFrame,
    *,
    start: date,
    days: int,
    interval_min: int = 30,
    history_weeks: int = 8,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    queues: Sequence[str] | None = None,
    until: date | None = None,
) -> pa.Table:
    """Expected contacts per queue per interval for `days` days from `start` (local midnight in
    each queue's zone), fitted on the history before `until` (default `start`; the trend runs on
    from there): a table of (queue, interval_start in UTC, expected)."""
    _check_interval(interval_min)
    calendars = calendars or {}
    until = until or start
    rows: list[dict[str, object]] = []
    for queue in queues if queues is not None else sorted(history["queue"].unique()):
        calendar = calendars.get(queue)
        zone = _zone([calendar])
        counts = _counts(history[history["queue"] == queue], zone, interval_min)
        fitted = _fit(counts, _zone_midnight(until, zone), history_weeks, interval_min, calendar)
        ahead = (start - until).days
        for at, expected in _predict(fitted, start, days, interval_min, zone, calendar, ahead):
            rows.append({"queue": queue, "interval_start": at, "expected": expected})
    return pa.Table.from_pylist(rows, schema=ARRIVALS_SCHEMA)


def backtest(
    history: pd.DataFrame,
    *,
    cutoff: date,
    interval_min: int = 30,
    history_weeks: int = 8,
    holdout_weeks: int = 2,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    queues: Sequence[str] | None = None,
) -> list[Accuracy]:
    """Each queue's errors on the `holdout_weeks` weeks before `cutoff`, the model fitted on
    what came before them, beside the naive forecast."""
    _check_interval(interval_min)
    calendars = calendars or {}
    begin = cutoff - timedelta(weeks=holdout_weeks)
    found = []
    for queue in queues if queues is not None else sorted(history["queue"].unique()):
        calendar = calendars.get(queue)
        zone = _zone([calendar])
        counts = _counts(history[history["queue"] == queue], zone, interval_min)
        fitted = _fit(counts, _zone_midnight(begin, zone), history_weeks, interval_min, calendar)
        predicted = np.array(
            [
                e
                for _at, e in _predict(
                    fitted, begin, holdout_weeks * 7, interval_min, zone, calendar
                )
            ]
        )
        per_day = DAY_MIN // interval_min
        actual = _dense(counts, begin, holdout_weeks * 7, per_day).ravel()
        last_week = _dense(counts, begin - timedelta(weeks=1), 7, per_day).ravel()
        naive_guess = np.tile(last_week, holdout_weeks)
        found.append(_accuracy(queue, actual, predicted, naive_guess))
    return found


def _accuracy(
    queue: str, actual: np.ndarray, model: np.ndarray, naive_guess: np.ndarray
) -> Accuracy:
    def mape(guess: np.ndarray) -> float | None:
        some = actual > 0
        return (
            float(np.mean(np.abs(guess[some] - actual[some]) / actual[some]))
            if some.any()
            else None
        )

    def wape(guess: np.ndarray) -> float | None:
        total = actual.sum()
        return float(np.abs(guess - actual).sum() / total) if total > 0 else None

    return Accuracy(
        queue=queue,
        intervals=int(actual.size),
        actual=int(actual.sum()),
        forecast=float(model.sum()),
        mape=mape(model),
        wape=wape(model),
        naive_mape=mape(naive_guess),
        naive_wape=wape(naive_guess),
    )


# --- the model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fitted:
    level: float  # deseasonalised contacts per day at the cutoff
    slope: float  # per day
    weekday: np.ndarray  # 7 factors, Monday first
    shape: np.ndarray  # 7 x intervals per day, each row summing to 1 (or 0 without history)


def _counts(contacts: pd.DataFrame, zone: ZoneInfo, interval_min: int) -> pd.Series:
    """Contacts per (local date, interval index of the day)."""
    if contacts.empty:
        return pd.Series(dtype="int64")
    local = contacts["occurred_at"].dt.tz_localize("UTC").dt.tz_convert(zone)
    index = (local.dt.hour * 60 + local.dt.minute) // interval_min
    return contacts.groupby([local.dt.date, index]).size()


def _dense(counts: pd.Series, first: date, days: int, per_day: int) -> np.ndarray:
    grid = np.zeros((days, per_day))
    for (day, index), n in counts.items():
        offset = (day - first).days
        if 0 <= offset < days and index < per_day:
            grid[offset, index] = n
    return grid


def _fit(
    counts: pd.Series,
    cutoff: datetime,
    history_weeks: int,
    interval_min: int,
    calendar: BusinessCalendar | None,
) -> _Fitted:
    per_day = DAY_MIN // interval_min
    days = history_weeks * 7
    first = cutoff.date() - timedelta(days=days)
    grid = _dense(counts, first, days, per_day)
    dates = [first + timedelta(days=i) for i in range(days)]
    usable = np.array([not _holiday(calendar, d) for d in dates])
    weekdays = np.array([d.weekday() for d in dates])
    totals = grid.sum(axis=1)
    weekday = _weekday_factors(totals, weekdays, usable)
    shape = _shapes(grid, weekdays, usable)
    level, slope = _trend(totals, weekdays, weekday, usable)
    return _Fitted(level=level, slope=slope, weekday=weekday, shape=shape)


def _weekday_factors(totals: np.ndarray, weekdays: np.ndarray, usable: np.ndarray) -> np.ndarray:
    mean_all = totals[usable].mean() if usable.any() else 0.0
    factors = np.ones(7)
    if mean_all <= 0:
        return factors
    for wd in range(7):
        those = usable & (weekdays == wd)
        if those.any():
            factors[wd] = totals[those].mean() / mean_all
    return factors


def _shapes(grid: np.ndarray, weekdays: np.ndarray, usable: np.ndarray) -> np.ndarray:
    overall = grid[usable].sum(axis=0)
    overall_share = overall / overall.sum() if overall.sum() > 0 else np.zeros_like(overall)
    shape = np.zeros((7, grid.shape[1]))
    for wd in range(7):
        counts = grid[usable & (weekdays == wd)].sum(axis=0)
        smoothed = counts + SMOOTHING_DAYS * overall_share * max(overall.sum() / 7, 1.0)
        shape[wd] = smoothed / smoothed.sum() if smoothed.sum() > 0 else 0.0
    return shape


def _trend(
    totals: np.ndarray, weekdays: np.ndarray, factors: np.ndarray, usable: np.ndarray
) -> tuple[float, float]:
    """The deseasonalised daily total at the end of the history and its slope per day."""
    keep = usable & (factors[weekdays] > 0)
    if not keep.any():
        return 0.0, 0.0
    x = np.arange(len(totals))[keep]
    y = totals[keep] / factors[weekdays[keep]]
    if keep.sum() < 14:
        return float(y.mean()), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept + slope * len(totals)), float(slope)


def _predict(
    fitted: _Fitted,
    start: date,
    days: int,
    interval_min: int,
    zone: ZoneInfo,
    calendar: BusinessCalendar | None,
    ahead: int = 0,
) -> list[tuple[datetime, float]]:
    """Each interval's expected contacts, `ahead` days after the end of the fitted history."""
    out: list[tuple[datetime, float]] = []
    per_day = DAY_MIN // interval_min
    for offset in range(days):
        day = start + timedelta(days=offset)
        holiday = _holiday(calendar, day)
        level = fitted.level + fitted.slope * (offset + ahead)
        total = max(0.0, level) * fitted.weekday[day.weekday()]
        for index in range(per_day):
            wall = datetime.combine(day, datetime.min.time(), zone) + timedelta(
                minutes=index * interval_min
            )
            at = wall.astimezone(UTC)
            closed = holiday or (
                calendar is not None
                and not calendar.is_open(at + timedelta(minutes=interval_min / 2))
            )
            expected = 0.0 if closed else total * float(fitted.shape[day.weekday(), index])
            out.append((at, expected))
    return out


def _holiday(calendar: BusinessCalendar | None, day: date) -> bool:
    """A public holiday of the queue's calendar, or a date it lists as closed."""
    return calendar is not None and (calendar.is_holiday(day) or day in calendar.closed)


def _zone(calendars: Sequence[BusinessCalendar | None]) -> ZoneInfo:
    for calendar in calendars:
        if calendar is not None:
            return ZoneInfo(calendar.time_zone)
    return ZoneInfo("UTC")


def _zone_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone)


def _check_interval(interval_min: int) -> None:
    if interval_min not in INTERVALS_MIN:
        raise ValueError(f"interval: one of {', '.join(f'{m}m' for m in INTERVALS_MIN)}")
