"""Customer activity per period (day, week or month): the (customer, period) pairs in which the
customer did something (an inbound interaction), with the previous and next active period —
the base of lifecycle composition and churn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import ibis.expr.types as ir

from touchpoint.analytics.catalog import check_interval
from touchpoint.analytics.common import active, naive, period_index, period_start, until_now
from touchpoint.analytics.reports import ReportRequest, Sources

EPOCH = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, like `naive()`


def active_periods(sources: Sources, request: ReportRequest) -> ir.Table:
    """customer_id, p (period index), prev_p, next_p, first_p — from all history up to "now"."""
    interval = check_interval(request.interval)
    if interval == "month":
        return _kept_months(sources, request)
    inter = active(sources.interactions)
    inter = inter.filter(until_now(inter.occurred_at, request))
    pairs = inter.select("customer_id", p=period_index(inter.occurred_at, interval)).distinct()
    by_customer = ibis.window(group_by=pairs.customer_id, order_by=pairs.p)
    return pairs.mutate(
        prev_p=pairs.p.lag().over(by_customer),
        next_p=pairs.p.lead().over(by_customer),
    )


def _kept_months(sources: Sources, request: ReportRequest) -> ir.Table:
    """Months from `Sources.monthly_activity` (kept at refresh in the copy), as of "now": a month
    counts when its first inbound moment is before now. A counted month's previous month counts
    too (its first moment is earlier); its next month only when that one's first moment does."""
    months = sources.monthly_activity
    months = months.filter(until_now(months.first_at, request))
    next_counts = until_now(months.next_first_at, request)
    return months.select(
        "customer_id", "p", "prev_p", next_p=next_counts.ifelse(months.next_p, None)
    )


def period_bounds(request: ReportRequest) -> tuple[int | None, int]:
    """The period indexes [first, last] a report shows: from the period holding start (if given)
    to the period holding the last instant before end, and never past the last period that is
    over by "now". The period "now" falls in is left out: two days into a month, nearly everyone
    active last month is not active yet this month, and counting them would read as churn
    (90% "churn", a thousand "dormant")."""
    end = request.end or request.at
    last = index_of(end - timedelta(microseconds=1), request.interval)
    first = index_of(request.start, request.interval) if request.start else None
    return first, min(last, index_of(request.at, request.interval) - 1)


def in_progress_note(request: ReportRequest) -> str:
    """What a person reads about the period left out by `period_bounds`."""
    current = period_start(index_of(request.at, request.interval), request.interval)
    return f"the {request.interval} in progress (from {current:%Y-%m-%d}) shows once it is over"


def index_of(moment: datetime, interval: str) -> int:
    """The same numbering as `common.period_index`, computed in Python."""
    moment = naive(moment)
    if interval == "month":
        return moment.year * 12 + moment.month - 1
    days = (moment - EPOCH).days
    return days if interval == "day" else (days + 3) // 7
