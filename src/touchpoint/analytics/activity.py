"""Customer activity per period (day, week or month): the (customer, period) pairs in which the
customer did something (an inbound interaction), with the previous and next active period —
the base of lifecycle composition and churn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import ibis.expr.types as ir

from touchpoint.analytics.common import INTERVALS, active, naive, period_index, until_now
from touchpoint.analytics.reports import ReportRequest, Sources
from touchpoint.errors import ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, like `naive()`


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise ValidationError(f"unknown interval {interval!r}; use one of {', '.join(INTERVALS)}")
    return interval


def active_periods(sources: Sources, request: ReportRequest) -> ir.Table:
    """customer_id, p (period index), prev_p, next_p, first_p — from all history up to "now"."""
    interval = check_interval(request.interval)
    inter = active(sources.interactions)
    inter = inter.filter(until_now(inter.occurred_at, request))
    pairs = inter.select("customer_id", p=period_index(inter.occurred_at, interval)).distinct()
    by_customer = ibis.window(group_by=pairs.customer_id, order_by=pairs.p)
    return pairs.mutate(
        prev_p=pairs.p.lag().over(by_customer),
        next_p=pairs.p.lead().over(by_customer),
    )


def period_bounds(request: ReportRequest) -> tuple[int | None, int]:
    """The period indexes [first, last] a report shows: from the period holding start (if given)
    to the period holding the last instant before end, and never past the period of "now"."""
    end = request.end or request.at
    last = index_of(end - timedelta(microseconds=1), request.interval)
    first = index_of(request.start, request.interval) if request.start else None
    return first, min(last, index_of(request.at, request.interval))


def index_of(moment: datetime, interval: str) -> int:
    """The same numbering as `common.period_index`, computed in Python."""
    moment = naive(moment)
    if interval == "month":
        return moment.year * 12 + moment.month - 1
    days = (moment - EPOCH).days
    return days if interval == "day" else (days + 3) // 7
