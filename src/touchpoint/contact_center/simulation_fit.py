"""The simulation's inputs fitted from the interaction log's history of live contacts (inbound
calls and chats, as domain.contact_center defines them):

- **arrivals**: per queue, the mean count of contacts in each interval of the chosen weekday
  (contacts on that weekday and interval ÷ the number of such weekdays the history spans), in
  the center's time zone; the mix of channels, and of the customers' lifecycle stages at the
  moment of the contact (their latest stage transition before it);
- **handle time**: per queue and channel, a lognormal by maximum likelihood (mean and standard
  deviation of the log of answered contacts' talk time); fewer than two: exponential with the
  configuration's `default_handle_s`;
- **patience**: per queue and channel, exponential by maximum likelihood with censoring: the
  rate is the number who gave up (abandoned or asked a call back) ÷ the total time everyone
  waited (answered contacts' waits are censored patience: they would have waited at least that
  long). Nobody gave up: infinite patience;
- **callbacks**: the share of those who gave up on the phone who asked for a call back;
- **waiting and churn**: among contacts of at-risk customers, a logistic regression
  (scikit-learn) of "churned within 90 days" (a transition to the churned stage within 90 days
  after the contact) on "waited more than the queue's threshold". With one binary feature the
  fit gives each group's churn share, lightly regularised; with fewer than MIN_CHURN_CONTACTS
  at-risk contacts, or one outcome only, every customer's contacts are used and that is said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from touchpoint.analytics.churn import AT_RISK
from touchpoint.analytics.common import abandoned, answered, handle_time, live_contact, wait
from touchpoint.analytics.reports import Sources
from touchpoint.contact_center.config import CenterConfig
from touchpoint.contact_center.simulation_inputs import (
    ChurnRelation,
    Distribution,
    QueueDemand,
)
from touchpoint.domain import contact_center as cc

CHURNED = "churned"  # the overlay the default stage model enters after long inactivity
CHURN_WINDOW_DAYS = 90
MIN_CHURN_CONTACTS = 30
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class History:
    """The log's live contacts (one row each: customer_id, occurred_at as naive UTC, queue,
    channel, answered, abandoned, callback, wait_s, handle_s, stage at the time) and the
    churned transitions (customer_id, at)."""

    contacts: pd.DataFrame
    churned: pd.DataFrame


def read_history(sources: Sources) -> History:
    """Live contacts with a queue, and stage transitions, from the analytics sources."""
    t = sources.interactions
    live = t.filter(live_contact(t) & t.queue.notnull())
    contacts = live.select(
        "customer_id",
        "occurred_at",
        "queue",
        "channel",
        answered=answered(live),
        abandoned=abandoned(live),
        callback=live.outcome == cc.CALLBACK_REQUESTED,
        wait_s=wait(live),
        handle_s=handle_time(live).cast("float64"),
    ).to_pandas()
    moves = sources.transitions
    stages = moves.select("customer_id", "to_stage", "at").to_pandas()
    return History(
        _with_stage(contacts, stages), stages[stages.to_stage == CHURNED][["customer_id", "at"]]
    )


def _with_stage(contacts: pd.DataFrame, stages: pd.DataFrame) -> pd.DataFrame:
    """Each contact with the customer's stage at its moment (their latest transition before)."""
    contacts = contacts.assign(callback=contacts.callback.fillna(False).astype(bool))
    if contacts.empty:
        return contacts.assign(stage=pd.Series(dtype=object))
    left = contacts.sort_values("occurred_at").reset_index(drop=True)
    right = stages.rename(columns={"at": "occurred_at", "to_stage": "stage"}).sort_values(
        "occurred_at"
    )
    left["occurred_at"] = pd.to_datetime(left.occurred_at).astype("datetime64[us]")
    right["occurred_at"] = pd.to_datetime(right.occurred_at).astype("datetime64[us]")
    right["customer_id"] = right.customer_id.astype(left.customer_id.dtype)
    return pd.merge_asof(left, right, on="occurred_at", by="customer_id", direction="backward")


def busiest_weekday(history: History, zone: ZoneInfo) -> str:
    if history.contacts.empty:
        return "mon"
    local = _local(history.contacts.occurred_at, zone)
    return WEEKDAYS[int(local.dt.day_of_week.value_counts().idxmax())]


def next_date(weekday: str, after: date) -> date:
    """The first date after `after` falling on `weekday`."""
    ahead = (WEEKDAYS.index(weekday) - after.weekday() - 1) % 7 + 1
    return after + timedelta(days=ahead)


def _local(column: pd.Series, zone: ZoneInfo) -> pd.Series:
    return pd.to_datetime(column).dt.tz_localize("UTC").dt.tz_convert(zone)


def fit_demand(
    history: History,
    config: CenterConfig,
    *,
    weekday: str,
    interval_s: float,
    zone: ZoneInfo,
    day_start: datetime,
) -> dict[str, QueueDemand]:
    """Each configured queue's demand on `weekday`, from the history (see the module's text)."""
    frame = history.contacts
    intervals = int(86_400 // interval_s)
    local = _local(frame.occurred_at, zone) if not frame.empty else pd.Series(dtype=object)
    days = _weekdays_spanned(local, weekday) if not frame.empty else 0
    demand: dict[str, QueueDemand] = {}
    for queue_id, spec in config.queues.items():
        rows = frame[frame.queue == queue_id] if not frame.empty else frame
        live_channels = [c for c in spec.channels if c in ("phone", "chat")] or ["phone"]
        rates = [0.0] * intervals
        if days and not rows.empty:
            at = local[rows.index]
            on_day = at[at.dt.day_of_week == WEEKDAYS.index(weekday)]
            seconds = on_day.dt.hour * 3600 + on_day.dt.minute * 60 + on_day.dt.second
            for index, count in (seconds // interval_s).astype(int).value_counts().items():
                rates[int(index)] = count / days
        rates = _closed_hours_removed(rates, config, queue_id, day_start, interval_s)
        demand[queue_id] = QueueDemand(
            queue=queue_id,
            interval_s=interval_s,
            rates=tuple(rates),
            channels=_shares(rows.channel if not rows.empty else None, live_channels),
            handle={c: fit_handle(rows, c, config.default_handle_s) for c in live_channels},
            patience={c: fit_patience(rows, c) for c in live_channels},
            stages=_stage_shares(rows),
            callback_share=_callback_share(rows),
        )
    return demand


def _weekdays_spanned(local: pd.Series, weekday: str) -> int:
    first, last = local.min().date(), local.max().date()
    wanted = WEEKDAYS.index(weekday)
    return sum(
        1 for n in range((last - first).days + 1) if (first + timedelta(n)).weekday() == wanted
    )


def _closed_hours_removed(
    rates: list[float], config: CenterConfig, queue: str, day_start: datetime, interval_s: float
) -> list[float]:
    calendar = config.calendars.get(queue)
    if calendar is None:
        return rates
    return [
        rate if calendar.is_open(day_start + timedelta(seconds=(i + 0.5) * interval_s)) else 0.0
        for i, rate in enumerate(rates)
    ]


def _shares(column: pd.Series | None, channels: list[str]) -> dict[str, float]:
    if column is not None:
        counts = column[column.isin(channels)].value_counts()
        if counts.sum() > 0:
            return {str(k): float(v / counts.sum()) for k, v in counts.items()}
    return {channels[0]: 1.0}


def _stage_shares(rows: pd.DataFrame) -> dict[str, float]:
    if rows.empty or "stage" not in rows:
        return {}
    counts = rows.stage.dropna().value_counts()
    return {str(k): float(v / len(rows)) for k, v in counts.items()}


def _callback_share(rows: pd.DataFrame) -> float:
    phone = rows[rows.channel == "phone"] if not rows.empty else rows
    gave_up = int(phone.abandoned.sum() + phone.callback.sum()) if not phone.empty else 0
    return float(phone.callback.sum() / gave_up) if gave_up else 0.0


def fit_handle(rows: pd.DataFrame, channel: str, default_s: float) -> Distribution:
    """Lognormal by maximum likelihood over answered talk times; else exponential(default)."""
    times = _column(rows, channel, "handle_s", rows.answered if not rows.empty else None)
    times = times[times > 0]
    if len(times) < 2:
        return Distribution("exponential", default_s)
    logs = np.log(times)
    sigma = float(logs.std(ddof=0))
    return Distribution("lognormal", float(math.exp(logs.mean() + sigma**2 / 2)), sigma)


def fit_patience(rows: pd.DataFrame, channel: str) -> Distribution:
    """Exponential by maximum likelihood with censoring: gave up ÷ total waiting time."""
    if rows.empty:
        return Distribution("infinite")
    mine = rows[rows.channel == channel]
    gave_up = int(mine.abandoned.sum() + mine.callback.sum())
    waited = float(mine.wait_s.fillna(0).clip(lower=0).sum())
    if gave_up == 0 or waited <= 0:
        return Distribution("infinite")
    return Distribution("exponential", waited / gave_up)


def _column(rows: pd.DataFrame, channel: str, name: str, mask: Any) -> np.ndarray:
    if rows.empty:
        return np.array([], dtype=float)
    chosen = rows[(rows.channel == channel) & mask.fillna(False).astype(bool)]
    return chosen[name].dropna().to_numpy(dtype=float)


def churn_relation(history: History, thresholds: Mapping[str, float]) -> ChurnRelation | None:
    """P(churned within 90 days | waited over the threshold or not), by logistic regression
    among at-risk customers' contacts (all customers' when too few); None without contacts."""
    from sklearn.linear_model import LogisticRegression

    frame = history.contacts.dropna(subset=["wait_s"])
    if frame.empty:
        return None
    frame = frame.assign(
        over=[
            float(w > thresholds.get(q, cc.DEFAULT_THRESHOLD_S))
            for w, q in zip(frame.wait_s, frame.queue, strict=True)
        ],
        churned=_churned_within(frame, history.churned).astype(float),
    )
    population = "at-risk customers"
    chosen = frame[frame.stage == AT_RISK]
    if len(chosen) < MIN_CHURN_CONTACTS or chosen.churned.nunique() < 2:
        chosen, population = frame, "all customers"
    if chosen.churned.nunique() < 2:
        share = float(chosen.churned.mean())
        return ChurnRelation(share, share, len(chosen), population, CHURN_WINDOW_DAYS)
    model = LogisticRegression(C=100.0)
    model.fit(chosen[["over"]].to_numpy(), chosen.churned.to_numpy())
    p = model.predict_proba(np.array([[1.0], [0.0]]))[:, 1]
    return ChurnRelation(float(p[0]), float(p[1]), len(chosen), population, CHURN_WINDOW_DAYS)


def _churned_within(frame: pd.DataFrame, churned: pd.DataFrame) -> pd.Series:
    """Per contact: the customer entered the churned stage within the window after it."""
    if churned.empty:
        return pd.Series(False, index=frame.index)
    left = frame[["customer_id", "occurred_at"]].reset_index()
    left["occurred_at"] = pd.to_datetime(left.occurred_at).astype("datetime64[us]")
    right = churned.rename(columns={"at": "churned_at"}).copy()
    right["churned_at"] = pd.to_datetime(right.churned_at).astype("datetime64[us]")
    right["occurred_at"] = right.churned_at
    right["customer_id"] = right.customer_id.astype(left.customer_id.dtype)
    joined = pd.merge_asof(
        left.sort_values("occurred_at"),
        right.sort_values("occurred_at"),
        on="occurred_at",
        by="customer_id",
        direction="forward",
    )
    window = timedelta(days=CHURN_WINDOW_DAYS)
    hit = joined.churned_at.notna() & (joined.churned_at - joined.occurred_at <= window)
    return pd.Series(hit.to_numpy(), index=joined["index"].to_numpy()).reindex(frame.index)
