"""When a scheduled playbook trigger occurs for one customer: the yearly return of a date trait
(birthday, anniversary), a span after a customer's first interaction of a type, a span without
inbound activity, a day of every month — each at a local time in the customer's time zone, each
occurrence named so that a run is started once for it (the run's idempotency key).

29 February: in a year without one, the occurrence is on 28 February (`feb29 = "feb28"`, the
default: still in the birthday's month) or on 1 March (`feb29 = "mar1"`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

ANNIVERSARY: Final = "anniversary"  # subject: a date trait (birthday, signup_date)
DAYS_AFTER_FIRST: Final = "days_after_first"  # subject: an interaction type; days
INACTIVE_DAYS: Final = "inactive_days"  # no inbound interaction for `days`
MONTHLY: Final = "monthly"  # subject: the day of the month (1-31; a shorter month: its last)
SCHEDULE_KINDS: Final = (ANNIVERSARY, DAYS_AFTER_FIRST, INACTIVE_DAYS, MONTHLY)
FEB28: Final = "feb28"
MAR1: Final = "mar1"
FEB29_RULES: Final = (FEB28, MAR1)
DEFAULT_AT: Final = time(9, 0)  # anniversaries and monthly ones, unless `at` says


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str  # names the occurrence: `birthday:2027`, `monthly:2027-03`, `inactive:<moment>`
    at: datetime  # when it occurs (UTC)


def yearly_date(value: date, year: int, feb29: str = FEB28) -> date:
    """The day `value` comes back in `year` (29 February in a common year: see the module)."""
    if value.month == 2 and value.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1) if feb29 == MAR1 else date(year, 2, 28)
    return value.replace(year=year)


def monthly_date(day: int, year: int, month: int) -> date:
    """The `day` of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def read_date(value: Any) -> date | None:
    """A date trait as stored (`1990-02-28`, or a moment whose date counts); None if not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, in UTC (a local time skipped by a DST change: zoneinfo's fold=0
    reading, the first moment after the gap's start)."""
    moment = datetime.combine(day, at, tzinfo=zone)
    # A time in a spring-forward gap does not exist; normalising through UTC gives the moment
    # zoneinfo means by it (fold=0: the offset before the change).
    return moment.astimezone(UTC)


def anniversaries(
    value: date, trait: str, start: datetime, end: datetime, zone: ZoneInfo, *, at: time, feb29: str
) -> list[Occurrence]:
    """The returns of `value` (years after its own) at local `at` in the window (start, end]."""
    found = []
    for year in range(start.astimezone(zone).year - 1, end.astimezone(zone).year + 2):
        if year <= value.year:
            continue
        moment = local_moment(yearly_date(value, year, feb29), at, zone)
        if start < moment <= end:
            found.append(Occurrence(f"{trait}:{year}", moment))
    return found


def monthlies(
    day: int, start: datetime, end: datetime, zone: ZoneInfo, *, at: time
) -> list[Occurrence]:
    """The `day` of each month at local `at` in the window (start, end]."""
    found = []
    first = start.astimezone(zone).date().replace(day=1) - timedelta(days=1)
    year, month = first.year, first.month
    last = end.astimezone(zone).date()
    while (year, month) <= (last.year, last.month + 1):
        moment = local_moment(monthly_date(day, year, month), at, zone)
        if start < moment <= end:
            found.append(Occurrence(f"monthly:{year}-{month:02d}", moment))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def after(moment: datetime, days: int, key: str, zone: ZoneInfo, *, at: time | None) -> Occurrence:
    """`days` after `moment` — at that day's local `at` when given, else to the second."""
    due = moment + timedelta(days=days)
    if at is not None:
        due = local_moment(due.astimezone(zone).date(), at, zone)
    return Occurrence(key, due.astimezone(UTC))
