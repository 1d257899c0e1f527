"""Business-hours calendars and business-time arithmetic: when a queue is open, and when a clock
that counts only open time (an SLA's "first response within 4 business hours") falls due.

A calendar is read from a table, as TOML gives it (`parse_calendar`, `parse_calendars`)::

    [calendars.support]
    time_zone = "Europe/Paris"                        # required: an IANA time zone
    hours.weekdays = ["08:00-12:00", "13:00-18:00"]   # mon-fri; also weekend (sat, sun) and daily
    hours.fri = ["08:00-12:00", "13:00-17:00"]        # a day named itself replaces the shorthand
    hours.sat = ["09:00-13:00"]                       # a day not given (or given []) is closed
    holidays_country = "FR"            # optional: public holidays of the holidays package, closed
    holidays_subdivision = "57"        # optional, with a country: a state, province, region...
    closed = ["2026-12-24"]            # optional: more dates closed all day
    special = { "2026-12-31" = ["09:00-12:00"] }      # optional: other hours on a date ([] = closed)

    [calendars.always]
    time_zone = "UTC"
    hours = "24/7"                     # open all the time (holidays, closed and special still apply)

The rules (docs/decisions.md, "Business calendars"):

- Hours are local wall-clock intervals "HH:MM-HH:MM", end after start, up to 24:00; one day's
  intervals may not overlap, and touching ones join. An interval cannot cross midnight: 22:00-06:00
  is written 22:00-24:00 on one day and 00:00-06:00 on the next, which join into one open stretch.
  So each open minute belongs to one calendar date, the date whose holidays apply to it.
- The hours of a date: its special hours if it has some, else none if it is closed or a public
  holiday (observed days included, as the holidays package gives them), else its weekday's.
- Daylight saving: a wall time the clocks skip (02:30 on a spring-forward night) is the moment
  they jump; a wall time that happens twice (01:30 on a fall-back night) is its first occurrence.
  An interval across a change is an hour shorter or longer in real time, as worked.
- Operations take aware datetimes (any zone; naive ones are refused) and answer in UTC. Searches
  look at most SEARCH_HORIZON_DAYS past the last open time: a calendar that does not open in that
  long raises NoOpenTime instead of looping. A calendar with no hours at all is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Shorthands for several days, weakest first: a later one (and a day named itself) overrides.
DAY_GROUPS: Final[dict[str, tuple[int, ...]]] = {
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
}
ALWAYS_OPEN: Final[str] = "24/7"
SEARCH_HORIZON_DAYS: Final[int] = 732  # two years without open time: the calendar never opens
MINUTES_PER_DAY: Final[int] = 24 * 60
KEYS: Final[tuple[str, ...]] = (
    "time_zone",
    "hours",
    "holidays_country",
    "holidays_subdivision",
    "closed",
    "special",
)

_INTERVAL = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """A calendar that cannot be used; the message names the field at fault."""


class NoOpenTime(CalendarError):
    """The calendar has no open time within SEARCH_HORIZON_DAYS of the moment asked about."""


@dataclass(frozen=True, slots=True, order=True)
class OpenHours:
    """One interval of a day's opening hours, [start, end) in minutes after local midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        for minute in (self.start, self.end):
            if not 0 <= minute <= MINUTES_PER_DAY:
                raise CalendarError(f"{_clock(minute)} is not a time of day (00:00 to 24:00)")
        if self.end <= self.start:
            hint = ""
            if 0 < self.end + MINUTES_PER_DAY - self.start <= 20 * 60:  # it reads as overnight
                first, then = OpenHours(self.start, MINUTES_PER_DAY), OpenHours(0, self.end)
                hint = f"; to stay open overnight, write {first} on one day and {then} on the next"
            raise CalendarError(
                f"end {_clock(self.end)} is not after start {_clock(self.start)}{hint}"
            )

    @classmethod
    def parse(cls, text: object, *, where: str = "hours") -> OpenHours:
        """The interval written "08:00-12:00"; CalendarError naming `where` otherwise."""
        match = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise CalendarError(f'{where}: {text!r} is not an interval like "08:00-12:00"')
        hour1, minute1, hour2, minute2 = (int(part) for part in match.groups())
        for hour, minute in ((hour1, minute1), (hour2, minute2)):
            if hour > 24 or minute > 59 or (hour == 24 and minute):
                raise CalendarError(
                    f"{where}: {hour:02d}:{minute:02d} is not a time of day (00:00 to 24:00)"
                )
        try:
            return cls(hour1 * 60 + minute1, hour2 * 60 + minute2)
        except CalendarError as exc:
            raise CalendarError(f"{where}: {exc}") from None

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


class OpenInterval(NamedTuple):
    """A stretch of open time in UTC, [start, end)."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


DayHours = tuple[OpenHours, ...]
_ALL_DAY: Final[DayHours] = (OpenHours(0, MINUTES_PER_DAY),)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a business is open: weekly hours in a time zone, with holidays and special dates.

    `weekly` holds seven days' hours, Monday first. Build one with `parse_calendar` from a table,
    or `BusinessCalendar.always_open()`; the constructor checks everything and raises
    CalendarError naming the field (hours.mon[1], special.2026-12-31[0], time_zone...)."""

    time_zone: str
    weekly: tuple[DayHours, ...]
    closed: frozenset[date] = frozenset()
    special: Mapping[date, DayHours] = field(default_factory=dict)
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _holidays: _PublicHolidays | None = field(init=False, repr=False, compare=False)
    _unbroken: bool = field(init=False, repr=False, compare=False)
    _day_spans: Callable[[date], tuple[OpenInterval, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "_zone", _zone(self.time_zone))
        if len(self.weekly) != len(WEEKDAYS):
            raise CalendarError(f"hours: expected {len(WEEKDAYS)} days, got {len(self.weekly)}")
        set_(
            self,
            "weekly",
            tuple(
                _normalise(f"hours.{name}", day)
                for name, day in zip(WEEKDAYS, self.weekly, strict=True)
            ),
        )
        set_(self, "closed", frozenset(self.closed))
        special = {day: _normalise(f"special.{day}", hours) for day, hours in self.special.items()}
        set_(self, "special", MappingProxyType(dict(sorted(special.items()))))
        both = sorted(self.closed & special.keys())
        if both:
            raise CalendarError(f"special.{both[0]}: {both[0]} is also closed; keep one of the two")
        set_(self, "_holidays", _public_holidays(self.holidays_country, self.holidays_subdivision))
        if not any(self.weekly) and not any(special.values()):
            raise CalendarError(
                'hours: the calendar never opens; give some day hours (or hours = "24/7")'
            )
        set_(
            self,
            "_unbroken",
            all(day == _ALL_DAY for day in self.weekly)
            and not self.closed
            and not special
            and self._holidays is None,
        )
        set_(self, "_day_spans", lru_cache(maxsize=4096)(self._compute_day_spans))

    def __hash__(self) -> int:
        return hash((self.time_zone, self.weekly, self.closed, tuple(self.special.items())))

    def __reduce__(self) -> tuple[type[BusinessCalendar], tuple[object, ...]]:
        """Pickled as its definition (another process rebuilds the zone, holidays and cache)."""
        return type(self), (
            self.time_zone,
            self.weekly,
            self.closed,
            dict(self.special),
            self.holidays_country,
            self.holidays_subdivision,
        )

    @classmethod
    def always_open(cls, time_zone: str = "UTC") -> BusinessCalendar:
        """Open every moment (24/7)."""
        return cls(time_zone=time_zone, weekly=(_ALL_DAY,) * len(WEEKDAYS))

    # -- the hours of a date ---------------------------------------------------------------

    def hours_on(self, day: date) -> DayHours:
        """The local opening hours of a date: special hours, else none on a closed date or a
        public holiday, else the weekday's."""
        special = self.special.get(day)
        if special is not None:
            return special
        if day in self.closed or self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def is_holiday(self, day: date) -> bool:
        """Whether a date is a public holiday of the calendar's country (and subdivision)."""
        return self._holidays is not None and day in self._holidays

    # -- operations on moments -------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the business is open at this moment."""
        moment = _utc(at, "at")
        if self._unbroken:
            return True
        return any(span.start <= moment < span.end for span in self._nearby_spans(moment))

    def next_open(self, at: datetime) -> datetime:
        """The moment the business next opens, or `at` (in UTC) if it is open then."""
        moment = _utc(at, "at")
        if self._unbroken:
            return moment
        return max(next(self._spans_after(moment)).start, moment)

    def next_close(self, at: datetime) -> datetime | None:
        """The moment the business next closes: the end of the open stretch `at` is in, or else
        of the next one. None if it stays open for SEARCH_HORIZON_DAYS (a 24/7 calendar)."""
        moment = _utc(at, "at")
        if self._unbroken:
            return None
        end = next(self._spans_after(moment)).end
        limit = moment + SEARCH_HORIZON_DAYS * _DAY
        while (following := self._span_starting(end)) is not None:
            end = following.end
            if end > limit:
                return None
        return end

    def add_business_time(self, start: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of open time have elapsed since `start` (an SLA deadline).
        Zero seconds is `start` itself; a deadline that uses up an interval is its closing time."""
        moment = _utc(start, "start")
        if seconds < 0:
            raise ValueError(f"seconds: {seconds!r} is negative; business time only runs forward")
        remaining = timedelta(seconds=seconds)
        if self._unbroken or not remaining:
            return moment + remaining
        for span in self._spans_after(moment):
            begin = max(span.start, moment)
            if remaining <= span.end - begin:
                return begin + remaining
            remaining -= span.end - begin
        raise AssertionError("unreachable: _spans_after ends only by raising NoOpenTime")

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Open time elapsed from `start` to `end`, in seconds (negative if `end` is earlier).
        Exact to the microsecond: business_seconds_between(s, add_business_time(s, d)) == d."""
        first, last = _utc(start, "start"), _utc(end, "end")
        if last < first:
            return -self.business_seconds_between(last, first)
        if self._unbroken:
            return (last - first).total_seconds()
        total = timedelta()
        for span in self._spans_between(first, last):
            total += span.end - span.start
        return total.total_seconds()

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[OpenInterval]:
        """The open stretches within [start, end), in UTC, in order; stretches that touch (across
        midnight, or a day's touching intervals) are one."""
        first, last = _utc(start, "start"), _utc(end, "end")
        if self._unbroken:
            return iter([OpenInterval(first, last)] if first < last else [])
        return _joined(self._spans_between(first, last))

    # -- the search, day by day ------------------------------------------------------------

    def _spans_between(self, first: datetime, last: datetime) -> Iterator[OpenInterval]:
        """Each day's open intervals clipped to [first, last), in order, not joined."""
        day, final = self._local_date(first) - _DAY, self._local_date(last) + _DAY
        while day <= final:
            for span in self._day_spans(day):
                if span.end > first and span.start < last:
                    yield OpenInterval(max(span.start, first), min(span.end, last))
            day += _DAY

    def _spans_after(self, moment: datetime) -> Iterator[OpenInterval]:
        """The open intervals that end after `moment`, in order, not joined, without end; raises
        NoOpenTime after SEARCH_HORIZON_DAYS without one."""
        idle_since = self._local_date(moment)
        day = idle_since - _DAY
        while True:
            for span in self._day_spans(day):
                if span.end > moment:
                    idle_since = day
                    yield span
            if day - idle_since > SEARCH_HORIZON_DAYS * _DAY:
                raise NoOpenTime(
                    f"the calendar does not open in the {SEARCH_HORIZON_DAYS} days after "
                    f"{idle_since.isoformat()}: every day with hours is closed or a holiday"
                )
            day += _DAY

    def _span_starting(self, moment: datetime) -> OpenInterval | None:
        return next((span for span in self._nearby_spans(moment) if span.start == moment), None)

    def _nearby_spans(self, moment: datetime) -> Iterator[OpenInterval]:
        """The open intervals of the dates around `moment`. An interval of a date can begin or end
        on a neighbouring local date (a clock change at midnight), so three dates are looked at."""
        day = self._local_date(moment)
        for candidate in (day - _DAY, day, day + _DAY):
            yield from self._day_spans(candidate)

    def _compute_day_spans(self, day: date) -> tuple[OpenInterval, ...]:
        spans = (
            OpenInterval(self._wall_to_utc(day, hours.start), self._wall_to_utc(day, hours.end))
            for hours in self.hours_on(day)
        )
        return tuple(span for span in spans if span.start < span.end)  # a skipped hour is empty

    def _wall_to_utc(self, day: date, minute: int) -> datetime:
        """The first moment the wall clock shows `minute` of `day`, or later (in a skipped hour,
        the moment the clocks jump)."""
        if minute == MINUTES_PER_DAY:
            day, minute = day + _DAY, 0
        hour, minute = divmod(minute, 60)
        wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self._zone)
        moment = wall.astimezone(UTC)  # fold=0: the first of a time that happens twice
        shown = moment.astimezone(self._zone)
        if (shown.date(), shown.hour, shown.minute) == (day, hour, minute):
            return moment
        # Skipped: fold=0 read it with the offset before the jump, fold=1 with the one after.
        return self._clock_jump(wall.replace(fold=1).astimezone(UTC), moment)

    def _clock_jump(self, before: datetime, after: datetime) -> datetime:
        """The moment the UTC offset changes between `before` and `after` (bisected to the
        second: zoneinfo's transitions are whole seconds)."""
        offset = before.astimezone(self._zone).utcoffset()
        low, high = int(before.timestamp()), int(after.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self._zone).utcoffset() == offset:
                low = middle
            else:
                high = middle
        return datetime.fromtimestamp(high, UTC)

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()


# -- parsing ------------------------------------------------------------------------------------


def parse_calendars(
    table: Mapping[str, object], *, where: str = "calendars"
) -> dict[str, BusinessCalendar]:
    """Every calendar of a `[calendars.NAME]` table, by name."""
    calendars = {}
    for name, entry in table.items():
        if not isinstance(entry, Mapping):
            raise CalendarError(f"{where}.{name}: expected a table, got {entry!r}")
        calendars[name] = parse_calendar(entry, where=f"{where}.{name}")
    return calendars


def parse_calendar(table: Mapping[str, object], *, where: str = "") -> BusinessCalendar:
    """A calendar from its table (the shape is in the module docstring); CalendarError names the
    field at fault, after `where` (e.g. "calendars.support")."""
    try:
        return _parse(table)
    except CalendarError as exc:
        if not where:
            raise
        raise type(exc)(f"{where}.{exc}") from None


def _parse(table: Mapping[str, object]) -> BusinessCalendar:
    for key in table:
        if key not in KEYS:
            raise CalendarError(f"{key}: unknown key (keys: {', '.join(KEYS)})")
    time_zone = table.get("time_zone")
    if not isinstance(time_zone, str):
        raise CalendarError(
            f'time_zone: {_missing_or(time_zone)}; give an IANA name such as "Europe/Paris"'
        )
    country = _optional_text(table, "holidays_country")
    subdivision = _optional_text(table, "holidays_subdivision")
    if subdivision is not None and country is None:
        raise CalendarError("holidays_subdivision: needs holidays_country")
    return BusinessCalendar(
        time_zone=time_zone,
        weekly=_parse_weekly(table.get("hours")),
        closed=frozenset(_parse_dates(table.get("closed", []))),
        special=_parse_special(table.get("special", {})),
        holidays_country=country,
        holidays_subdivision=subdivision,
    )


def _parse_weekly(hours: object) -> tuple[DayHours, ...]:
    if hours == ALWAYS_OPEN:
        return (_ALL_DAY,) * len(WEEKDAYS)
    if not isinstance(hours, Mapping):
        raise CalendarError(
            f'hours: {_missing_or(hours)}; give a table of day = ["08:00-12:00", ...] '
            f'or "{ALWAYS_OPEN}"'
        )
    days = (*WEEKDAYS, *DAY_GROUPS)
    for name in hours:
        if name not in days:
            raise CalendarError(f"hours.{name}: unknown day (days: {', '.join(days)})")
    weekly: list[DayHours] = [() for _ in WEEKDAYS]
    for group, members in DAY_GROUPS.items():
        if group in hours:
            parsed = _parse_day(f"hours.{group}", hours[group])
            for index in members:
                weekly[index] = parsed
    for index, name in enumerate(WEEKDAYS):
        if name in hours:
            weekly[index] = _parse_day(f"hours.{name}", hours[name])
    return tuple(weekly)


def _parse_day(where: str, entries: object) -> DayHours:
    """A list of intervals, checked in the order written so messages name the entry as given."""
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise CalendarError(f'{where}: expected a list like ["08:00-12:00"], got {entries!r}')
    parsed = [OpenHours.parse(text, where=f"{where}[{i}]") for i, text in enumerate(entries)]
    return _normalise(where, parsed)


def _parse_dates(entries: object) -> list[date]:
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise CalendarError(
            f'closed: expected a list of dates like ["2026-12-24"], got {entries!r}'
        )
    return [_parse_date(f"closed[{i}]", entry) for i, entry in enumerate(entries)]


def _parse_special(entries: object) -> dict[date, DayHours]:
    if not isinstance(entries, Mapping):
        raise CalendarError(
            f'special: expected a table like {{ "2026-12-31" = ["09:00-12:00"] }}, got {entries!r}'
        )
    special: dict[date, DayHours] = {}
    for key, hours in entries.items():
        day = _parse_date(f"special.{key}", key)
        special[day] = _parse_day(f"special.{key}", hours)
    return special


def _parse_date(where: str, value: object) -> date:
    """A date as TOML gives it: a local date, or text YYYY-MM-DD."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(f'{where}: {value!r} is not a date like "2026-12-24"')


def _normalise(where: str, hours: Sequence[OpenHours]) -> DayHours:
    """A day's intervals in order, refusing overlaps (naming both entries as given) and joining
    touching ones."""
    ordered = sorted(enumerate(hours), key=lambda pair: pair[1])
    joined: list[OpenHours] = []
    previous: tuple[int, OpenHours] | None = None
    for index, interval in ordered:
        if not isinstance(interval, OpenHours):
            raise CalendarError(f"{where}[{index}]: expected OpenHours, got {interval!r}")
        if previous is not None and interval.start < previous[1].end:
            raise CalendarError(
                f"{where}[{index}]: {interval} overlaps {where}[{previous[0]}] {previous[1]}"
            )
        if joined and joined[-1].end == interval.start:
            joined[-1] = OpenHours(joined[-1].start, interval.end)
        else:
            joined.append(interval)
        previous = (index, interval)
    return tuple(joined)


def _optional_text(table: Mapping[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(f"{key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _missing_or(value: object) -> str:
    return "missing" if value is None else f"{value!r} is not valid"


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarError(f"time_zone: expected an IANA name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(
            f'time_zone: unknown time zone {name!r}; give an IANA name such as "Europe/Paris"'
        ) from None


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: {moment.isoformat()} has no time zone; give an aware moment")
    return moment.astimezone(UTC)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _joined(spans: Iterator[OpenInterval]) -> Iterator[OpenInterval]:
    pending: OpenInterval | None = None
    for span in spans:
        if pending is not None and pending.end == span.start:
            pending = OpenInterval(pending.start, span.end)
            continue
        if pending is not None:
            yield pending
        pending = span
    if pending is not None:
        yield pending


# -- public holidays ------------------------------------------------------------------------------


class _PublicHolidays:
    """The holiday dates of one country (and subdivision), read from the holidays package a year
    at a time, when first asked about."""

    def __init__(self, country: str, subdivision: str | None) -> None:
        self.country, self.subdivision = country, subdivision
        self._years: dict[int, frozenset[date]] = {}

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        dates = self._years.get(day.year)
        if dates is None:
            dates = self._years[day.year] = self._load(day.year)
        return day in dates

    def _load(self, year: int) -> frozenset[date]:
        import holidays  # imported when a calendar needs it: it takes a quarter of a second

        return frozenset(
            holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
        )


def _public_holidays(country: str | None, subdivision: str | None) -> _PublicHolidays | None:
    """The holidays of a country the holidays package knows, or CalendarError naming the field."""
    if country is None:
        if subdivision is not None:
            raise CalendarError("holidays_subdivision: needs holidays_country")
        return None
    import holidays

    known = holidays.list_supported_countries()
    if country not in known:
        raise CalendarError(
            f"holidays_country: unknown country {country!r}; give an ISO 3166-1 code the "
            'holidays package knows, such as "FR" or "US"'
        )
    if subdivision is not None and subdivision not in known[country]:
        try:  # the package also takes some subdivisions' aliases
            holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise CalendarError(
                f"holidays_subdivision: {subdivision!r} is not a subdivision of {country} "
                f"(subdivisions: {', '.join(known[country]) or 'none'})"
            ) from None
    return _PublicHolidays(country, subdivision)
