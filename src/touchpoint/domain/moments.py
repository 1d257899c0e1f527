"""Moments: the one rule every face uses to read a moment a user types (`--at`, `?at=`, `--from`,
`--to`, `--now`), and moments as text that sorts like time.

The rule: an ISO 8601 date (`2026-03-01`, meaning its midnight UTC) or date-time
(`2026-03-01T12:00`, seconds and fractions optional, `T` or a space between); a zone (`Z`,
`+02:00`) is honoured and a moment without one is UTC. Bare numbers are refused rather than
guessed at as epoch seconds, and so are the other ISO spellings (week dates, ordinal dates,
`20260301`), which no two libraries read alike. Moments before 1900 are refused too: no
interaction is that old, and reports step back from "now" by days and months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EXAMPLE = "use an ISO 8601 date (2026-03-01, midnight UTC) or date-time (2026-03-01T12:00:00Z; no zone means UTC)"

_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # the date
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"  # the time: minutes, seconds, fraction
    r"(?:[Zz]|[+-]\d{2}:?\d{2})?)?",  # the zone, only after a time
    re.ASCII,
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


class MomentError(ValueError):
    """A text that is not a moment; the message names the field and shows an example."""


def parse_moment(text: str | None, field: str) -> datetime | None:
    """The moment `text` names, in UTC (None when no text is given); `field` is the option or
    parameter it came from, named in the error (`--at`, `at`)."""
    if text is None:
        return None
    value = text.strip()
    if _NUMBER.fullmatch(value):
        raise MomentError(
            f"{field}: {text!r} is a number, not a moment (epoch times are not read); {EXAMPLE}"
        )
    if not _MOMENT.fullmatch(value):
        raise MomentError(f"{field}: {text!r} is not a date or date-time; {EXAMPLE}")
    try:
        moment = datetime.fromisoformat(_normalise(value))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise MomentError(f"{field}: {text!r} is not a valid moment ({exc}); {EXAMPLE}") from None
    if moment < EARLIEST:
        raise MomentError(
            f"{field}: {text!r} is before 1900, earlier than any interaction; {EXAMPLE}"
        )
    return moment


# What an event's moment must be, said in every refusal: a zone makes it one instant.
ZONED_EXAMPLE = "an ISO 8601 date-time with a zone, such as 2026-03-01T12:00:00Z"


def is_number_text(text: str) -> bool:
    """Whether `text` is a number (`12345`, `1.7e9`): an epoch time, which no rule reads."""
    return _NUMBER.fullmatch(text.strip()) is not None


def number_moment_error(value: object) -> str:
    """Why a number (or a number's text) is refused where a moment is expected."""
    return f"{value!r} is a number, not a moment (epoch times are not read); send {ZONED_EXAMPLE}"


def event_moment_error(moment: datetime) -> str | None:
    """Why an aware moment cannot be stored at all, or None: in UTC it must fall in years 1-9999,
    the years a datetime holds (an offset may push a moment written in year 9999 or 1 outside
    them). Whether the moment is plausible for an interaction is `EventWindow`'s question."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return f"{moment.isoformat()} falls outside the years 1-9999 once read in UTC"
    return None


# The plausibility window's defaults: no interaction of a customer's is older than 1970, and one
# dated past the server's clock by more than a day is a wrong clock or a plan, not a touchpoint.
DEFAULT_EVENT_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_FUTURE_TOLERANCE = timedelta(days=1)
MAX_FUTURE_TOLERANCE = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class EventWindow:
    """When an interaction may have occurred, as it arrives at `now`: from `earliest` to
    `future_tolerance` past the server's clock (settings `event_earliest` and
    `event_future_tolerance`). Every ingest path applies it (`ingest.prepare`)."""

    earliest: datetime = DEFAULT_EVENT_EARLIEST
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE

    def error(self, moment: datetime, now: datetime, field: str) -> str | None:
        """Why an event dated `moment`, arriving at `now`, is refused, or None. Too early: a
        default date (1970-01-01 is epoch 0, 1900 a spreadsheet's) or a typo of the year. In the
        future: one dated past the clock would move the customer's lifecycle clocks to a time
        that has not come, and a scheduled callback is not an interaction until it happens."""
        if moment < self.earliest:
            return f"{field}: {moment.isoformat()} is before {self.describe(now)}"
        if moment > now + self.future_tolerance:
            return (
                f"{field}: {moment.isoformat()} is in the future, after {self.describe(now)}; "
                "an interaction is recorded once it has happened"
            )
        return None

    def describe(self, now: datetime) -> str:
        """`the plausible window for an interaction, 1970-01-01T00:00:00Z to 2026-03-02T12:00:00Z
        (the server's clock + 1 day)`."""
        return (
            f"the plausible window for an interaction, {_zulu(self.earliest)} to "
            f"{_zulu(now + self.future_tolerance)} (the server's clock + "
            f"{duration_text(self.future_tolerance)})"
        )


def window_setting_error(earliest: datetime, tolerance: timedelta) -> str | None:
    """Why a plausibility window cannot be configured, or None: its start must be a moment
    `parse_moment` reads (1900 or later) and in the past, its tolerance 0 to 365 days."""
    if earliest < EARLIEST:
        return f"event_earliest: {earliest.isoformat()} is before 1900"
    if earliest > datetime.now(UTC):
        return f"event_earliest: {earliest.isoformat()} is in the future: nothing could be ingested"
    if not timedelta(0) <= tolerance <= MAX_FUTURE_TOLERANCE:
        return f"event_future_tolerance: must be 0 to 365 days; got {tolerance}"
    return None


_SPAN = re.compile(r"(\d{1,7})\s*([smhdw])", re.ASCII)
_SPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_span(text: str) -> timedelta | None:
    """A span written `30s`, `5m`, `12h`, `1d` or `2w`, or None for any other text."""
    found = _SPAN.fullmatch(text.strip().lower())
    if found is None:
        return None
    return timedelta(seconds=int(found[1]) * _SPAN_UNITS[found[2]])


def duration_text(span: timedelta) -> str:
    """`1 day`, `2 hours 30 minutes`, `0 seconds`: a span as a person says it (to the second)."""
    left = int(span.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def _zulu(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _normalise(value: str) -> str:
    """Spellings the rule allows but Python 3.11's `fromisoformat` does not: a lower-case t or z."""
    if len(value) > 10 and value[10] == "t":
        value = f"{value[:10]}T{value[11:]}"
    return value[:-1] + "Z" if value.endswith("z") else value


def utc_text(at: datetime) -> str:
    """Fixed-width UTC ISO text with microseconds and a Z (URL-safe: no '+'), so two moments
    compare as strings the way they compare as times."""
    # isoformat, not strftime: glibc's %Y writes the year 999 as "999", which sorts after 2026.
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# How far past the wall clock a projection's clock may be moved: clocks of two machines differ a
# little. (An event's moment has its own, configurable window: `EventWindow`.)
CLOCK_SKEW = timedelta(minutes=5)


def future_clock_error(moment: datetime, now: datetime, field: str) -> str | None:
    """Why moving a projection's clock to `moment` is refused, or None. Time only runs forward,
    so a clock set in the future (a typo of the year) would churn every customer for good."""
    if moment <= now + CLOCK_SKEW:
        return None
    return (
        f"{field}: {moment.isoformat()} is in the future; ticks never run the clock back, so "
        "every customer inactive until then would move until `lifecycle replay --clock now` "
        "(pass --force if you mean it)"
    )
