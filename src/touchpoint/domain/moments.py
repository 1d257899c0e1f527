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
    """Why an aware moment cannot date an event, or None: in UTC it must fall in years
    1900–9999 (the same floor as `parse_moment`; an offset may push a moment written in year
    9999 or 1 outside the years a datetime holds)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return f"{moment.isoformat()} falls outside the years 1-9999 once read in UTC"
    if utc < EARLIEST:
        return f"{moment.isoformat()} is before 1900, earlier than any interaction"
    return None


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


# How far past the wall clock a clock may be moved: clocks of two machines differ a little.
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


def future_event_error(moment: datetime, now: datetime, field: str) -> str | None:
    """Why an event dated `moment` is refused when it arrives at `now`, or None. An interaction is
    something that happened: one dated past the clock (beyond the skew two machines' clocks may
    differ by) would move the customer's lifecycle clocks to a time that has not come, and a
    scheduled callback or follow-up is not an interaction until it takes place."""
    if moment <= now + CLOCK_SKEW:
        return None
    return (
        f"{field}: {moment.isoformat()} is in the future (the server's clock says "
        f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}); an interaction is recorded once it "
        "has happened"
    )
