"""domain/calendar.py: business-hours calendars and business time (issue 11). Every expected
moment is worked out by hand in the comment beside it (CET = UTC+1, CEST = UTC+2, EST = UTC-5,
EDT = UTC-4; Z is UTC)."""

from __future__ import annotations

import pickle
import re
import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.domain.calendar import (
    SEARCH_HORIZON_DAYS,
    BusinessCalendar,
    CalendarError,
    NoOpenTime,
    OpenHours,
    OpenInterval,
    parse_calendar,
    parse_calendars,
)

HOUR = 3600


def z(text: str) -> datetime:
    """A moment written with its offset (or Z), as UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def intervals(calendar: BusinessCalendar, start: str, end: str) -> list[tuple[datetime, datetime]]:
    return [tuple(span) for span in calendar.open_intervals(z(start), z(end))]  # type: ignore[misc]


def calendar(time_zone: str, **hours: list[str]) -> BusinessCalendar:
    return parse_calendar({"time_zone": time_zone, "hours": hours})


# Mon-Fri 08:00-12:00 and 13:00-18:00 (9 h), Sat 09:00-13:00 (4 h): 49 h a week.
SUPPORT = parse_calendar(
    {
        "time_zone": "Europe/Paris",
        "holidays_country": "FR",
        "hours": {"weekdays": ["08:00-12:00", "13:00-18:00"], "sat": ["09:00-13:00"]},
        "closed": ["2026-12-24"],
        "special": {"2026-12-31": ["09:00-12:00"]},
    }
)
# Mon-Fri 09:00-17:00 (8 h) in New York, US federal holidays.
US_SUPPORT = parse_calendar(
    {
        "time_zone": "America/New_York",
        "holidays_country": "US",
        "hours": {"weekdays": ["09:00-17:00"]},
    }
)


# -- several intervals a day, weekends --------------------------------------------------------


def test_the_lunch_break_closes_between_two_intervals() -> None:
    # Tue 2026-12-01 in Paris (CET): 08:00-12:00 = 07:00Z-11:00Z, 13:00-18:00 = 12:00Z-17:00Z.
    assert SUPPORT.is_open(z("2026-12-01T11:59:59+01:00"))
    assert not SUPPORT.is_open(z("2026-12-01T12:00+01:00"))  # an interval's end is closed
    assert not SUPPORT.is_open(z("2026-12-01T12:30+01:00"))
    assert SUPPORT.is_open(z("2026-12-01T13:00+01:00"))
    assert SUPPORT.next_open(z("2026-12-01T11:30Z")) == z("2026-12-01T12:00Z")
    assert SUPPORT.next_close(z("2026-12-01T09:00Z")) == z("2026-12-01T11:00Z")
    assert SUPPORT.next_close(z("2026-12-01T11:30Z")) == z("2026-12-01T17:00Z")  # the next one's
    assert intervals(SUPPORT, "2026-12-01T00:00+01:00", "2026-12-02T00:00+01:00") == [
        (z("2026-12-01T07:00Z"), z("2026-12-01T11:00Z")),
        (z("2026-12-01T12:00Z"), z("2026-12-01T17:00Z")),
    ]
    # 4 h + 5 h
    assert (
        SUPPORT.business_seconds_between(z("2026-12-01T00:00+01:00"), z("2026-12-02T00:00+01:00"))
        == 9 * HOUR
    )


def test_an_open_moment_is_its_own_next_open() -> None:
    assert SUPPORT.next_open(z("2026-12-01T10:00+01:00")) == z("2026-12-01T09:00Z")
    assert SUPPORT.next_open(z("2026-12-01T13:00+01:00")) == z("2026-12-01T12:00Z")  # opens then
    assert SUPPORT.next_open(z("2026-12-01T12:00+01:00")) == z("2026-12-01T12:00Z")  # 13:00 CET


def test_saturday_mornings_and_closed_sundays() -> None:
    # Sat 2026-12-05 09:00-13:00 CET = 08:00Z-12:00Z; Sunday closed; Monday opens 08:00 CET.
    assert SUPPORT.is_open(z("2026-12-05T12:59+01:00"))
    assert not SUPPORT.is_open(z("2026-12-06T12:00+01:00"))
    assert SUPPORT.next_open(z("2026-12-05T14:00+01:00")) == z("2026-12-07T07:00Z")
    # A week with no holiday, Mon 2026-12-07 to Mon 2026-12-14: 5 x 9 h + 4 h = 49 h.
    assert (
        SUPPORT.business_seconds_between(z("2026-12-07T00:00+01:00"), z("2026-12-14T00:00+01:00"))
        == 49 * HOUR
    )


def test_add_business_time_across_a_weekend() -> None:
    # Fri 2026-12-04 16:00 CET + 4 h: Fri 16:00-18:00 (2 h), Sat 09:00-11:00 (2 h) -> Sat 11:00 CET.
    assert SUPPORT.add_business_time(z("2026-12-04T16:00+01:00"), 4 * HOUR) == z(
        "2026-12-05T10:00Z"
    )


def test_a_deadline_that_uses_up_an_interval_is_its_closing_time() -> None:
    # Tue 2026-12-01 08:00 CET + 4 h = 12:00 CET (11:00Z), not the reopening at 13:00.
    assert SUPPORT.add_business_time(z("2026-12-01T08:00+01:00"), 4 * HOUR) == z(
        "2026-12-01T11:00Z"
    )
    # Started at lunch, the clock waits for 13:00 CET: + 1 h = 14:00 CET.
    assert SUPPORT.add_business_time(z("2026-12-01T12:15+01:00"), HOUR) == z("2026-12-01T13:00Z")
    # Zero seconds is the start itself, even when closed.
    assert SUPPORT.add_business_time(z("2026-12-06T12:00Z"), 0) == z("2026-12-06T12:00Z")


# -- holidays, closed dates, special hours ------------------------------------------------------


def test_french_national_day_is_closed() -> None:
    assert SUPPORT.is_holiday(date(2026, 7, 14))
    assert SUPPORT.hours_on(date(2026, 7, 14)) == ()
    assert not SUPPORT.is_open(z("2026-07-14T10:00+02:00"))  # a Tuesday
    # Mon 2026-07-13 17:00 CEST + 3 h: Mon 17:00-18:00 (1 h), Tue the 14th closed,
    # Wed 08:00-10:00 (2 h) -> Wed 10:00 CEST = 08:00Z.
    assert SUPPORT.add_business_time(z("2026-07-13T17:00+02:00"), 3 * HOUR) == z(
        "2026-07-15T08:00Z"
    )
    assert SUPPORT.next_open(z("2026-07-13T18:30+02:00")) == z("2026-07-15T06:00Z")


def test_easter_monday_after_a_weekend() -> None:
    # Fri 2026-04-03 17:00 CEST + 7 h: Fri 1 h, Sat 09:00-13:00 (4 h), Sun closed, Mon 2026-04-06
    # Easter Monday closed, Tue 08:00-10:00 (2 h) -> Tue 10:00 CEST = 08:00Z.
    assert SUPPORT.add_business_time(z("2026-04-03T17:00+02:00"), 7 * HOUR) == z(
        "2026-04-07T08:00Z"
    )


def test_us_holidays_include_the_observed_day() -> None:
    # 2026-07-04 is a Saturday, so Friday the 3rd is observed (the package's default).
    assert US_SUPPORT.is_holiday(date(2026, 7, 3))
    # Thu 2026-07-02 16:30 EDT + 1 h: Thu 16:30-17:00 (30 min), Fri 3rd observed, weekend,
    # Mon 2026-07-06 09:00-09:30 EDT -> 13:30Z.
    assert US_SUPPORT.add_business_time(z("2026-07-02T16:30-04:00"), HOUR) == z("2026-07-06T13:30Z")


def test_thanksgiving_is_closed() -> None:
    assert not US_SUPPORT.is_open(z("2026-11-26T12:00-05:00"))
    # Wed 2026-11-25 16:00 EST + 2 h: Wed 1 h, Thanksgiving closed, Fri 09:00-10:00 EST -> 15:00Z.
    assert US_SUPPORT.add_business_time(z("2026-11-25T16:00-05:00"), 2 * HOUR) == z(
        "2026-11-27T15:00Z"
    )


def test_closed_dates_and_a_christmas_holiday() -> None:
    # Wed 2026-12-23 17:00 CET + 2 h: Wed 1 h, Thu the 24th closed (closed = [...]), Fri the 25th
    # a holiday, Sat 09:00-10:00 CET (1 h) -> Sat 10:00 CET = 09:00Z.
    assert SUPPORT.hours_on(date(2026, 12, 24)) == ()
    assert SUPPORT.add_business_time(z("2026-12-23T17:00+01:00"), 2 * HOUR) == z(
        "2026-12-26T09:00Z"
    )


def test_special_hours_replace_a_days_hours() -> None:
    # Thu 2026-12-31 opens 09:00-12:00 CET only.
    assert SUPPORT.hours_on(date(2026, 12, 31)) == (OpenHours(9 * 60, 12 * 60),)
    assert SUPPORT.is_open(z("2026-12-31T10:00+01:00"))
    assert not SUPPORT.is_open(z("2026-12-31T13:30+01:00"))  # a Thursday afternoon otherwise
    assert SUPPORT.next_close(z("2026-12-31T09:30+01:00")) == z("2026-12-31T11:00Z")
    # 3 h on the 31st; Fri 2027-01-01 a holiday.
    assert (
        SUPPORT.business_seconds_between(z("2026-12-31T00:00+01:00"), z("2027-01-02T00:00+01:00"))
        == 3 * HOUR
    )
    # After noon on the 31st: New Year's Day closed, Sat 2027-01-02 09:00 CET = 08:00Z.
    assert SUPPORT.next_open(z("2026-12-31T12:00+01:00")) == z("2027-01-02T08:00Z")


def test_special_hours_open_a_holiday() -> None:
    opened = parse_calendar(
        {
            "time_zone": "Europe/Paris",
            "holidays_country": "FR",
            "hours": {"weekdays": ["08:00-18:00"]},
            "special": {"2026-07-14": ["10:00-12:00"]},
        }
    )
    # 10:00 CEST = 08:00Z
    assert opened.next_open(z("2026-07-14T00:00+02:00")) == z("2026-07-14T08:00Z")


def test_a_subdivision_adds_its_holidays() -> None:
    # Alsace-Moselle (57) keeps 26 December; the rest of France does not.
    moselle = parse_calendar(
        {
            "time_zone": "Europe/Paris",
            "holidays_country": "FR",
            "holidays_subdivision": "57",
            "hours": "24/7",
        }
    )
    assert moselle.is_holiday(date(2026, 12, 26))
    assert not SUPPORT.is_holiday(date(2026, 12, 26))
    assert not moselle.is_open(z("2026-12-26T12:00Z"))


# -- daylight saving time -----------------------------------------------------------------------

# Paris: 2026-03-29 at 01:00Z, 02:00 CET -> 03:00 CEST (02:00-03:00 never happens);
#        2026-10-25 at 01:00Z, 03:00 CEST -> 02:00 CET (02:00-03:00 happens twice).
# New York: 2026-03-08 at 07:00Z, 02:00 EST -> 03:00 EDT; 2026-11-01 at 06:00Z, 02:00 EDT ->
#        01:00 EST (01:00-02:00 happens twice). All four are Sundays.
DST_CASES = [
    # spring forward: an interval across the gap is an hour shorter
    ("Europe/Paris", "01:00-03:00", "2026-03-29", [("2026-03-29T00:00Z", "2026-03-29T01:00Z")]),
    # a start inside the gap is the jump (03:00 CEST = 01:00Z); 05:00 CEST = 03:00Z
    ("Europe/Paris", "02:30-05:00", "2026-03-29", [("2026-03-29T01:00Z", "2026-03-29T03:00Z")]),
    # an end inside the gap is the jump too; 00:00 CET = 23:00Z the day before
    ("Europe/Paris", "00:00-02:30", "2026-03-29", [("2026-03-28T23:00Z", "2026-03-29T01:00Z")]),
    # an interval wholly inside the gap is empty that day
    ("Europe/Paris", "02:00-03:00", "2026-03-29", []),
    # fall back: 01:00 CEST = 23:00Z to 03:00 CET = 02:00Z, three hours
    ("Europe/Paris", "01:00-03:00", "2026-10-25", [("2026-10-24T23:00Z", "2026-10-25T02:00Z")]),
    # a repeated start is its first occurrence: 02:30 CEST = 00:30Z; 04:00 CET = 03:00Z
    ("Europe/Paris", "02:30-04:00", "2026-10-25", [("2026-10-25T00:30Z", "2026-10-25T03:00Z")]),
    # a repeated end too: 00:00 CEST = 22:00Z to the first 02:30 (CEST) = 00:30Z
    ("Europe/Paris", "00:00-02:30", "2026-10-25", [("2026-10-24T22:00Z", "2026-10-25T00:30Z")]),
    # New York spring: 01:00 EST = 06:00Z to 03:00 EDT = 07:00Z
    ("America/New_York", "01:00-03:00", "2026-03-08", [("2026-03-08T06:00Z", "2026-03-08T07:00Z")]),
    # 02:30 does not exist: the jump at 07:00Z; 04:00 EDT = 08:00Z
    ("America/New_York", "02:30-04:00", "2026-03-08", [("2026-03-08T07:00Z", "2026-03-08T08:00Z")]),
    # New York fall: the first 01:30 (EDT) = 05:30Z to 03:00 EST = 08:00Z
    ("America/New_York", "01:30-03:00", "2026-11-01", [("2026-11-01T05:30Z", "2026-11-01T08:00Z")]),
    # 00:00 EDT = 04:00Z to the first 01:30 (EDT) = 05:30Z
    ("America/New_York", "00:00-01:30", "2026-11-01", [("2026-11-01T04:00Z", "2026-11-01T05:30Z")]),
    # 01:00 EDT = 05:00Z to 02:00 EST = 07:00Z (02:00 EDT never shows: the clocks go back first)
    ("America/New_York", "01:00-02:00", "2026-11-01", [("2026-11-01T05:00Z", "2026-11-01T07:00Z")]),
]


@pytest.mark.parametrize(("zone", "hours", "day", "expected"), DST_CASES)
def test_intervals_at_the_dst_edges(
    zone: str, hours: str, day: str, expected: list[tuple[str, str]]
) -> None:
    sundays = calendar(zone, sun=[hours])
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=1)
    assert [tuple(span) for span in sundays.open_intervals(start, start + timedelta(days=3))] == [
        (z(a), z(b)) for a, b in expected
    ]


def test_open_moments_in_the_repeated_hour() -> None:
    # Paris 2026-10-25, 02:30-04:00: open from the first 02:30 (00:30Z), so the second 02:15
    # (02:15 CET = 01:15Z) is open; with 00:00-02:30 it is closed (closed at the first 02:30).
    assert calendar("Europe/Paris", sun=["02:30-04:00"]).is_open(z("2026-10-25T01:15Z"))
    assert not calendar("Europe/Paris", sun=["00:00-02:30"]).is_open(z("2026-10-25T01:15Z"))
    # New York 2026-11-01: the second 01:30 (EST) is 06:30Z.
    assert calendar("America/New_York", sun=["01:30-03:00"]).is_open(z("2026-11-01T06:30Z"))
    assert not calendar("America/New_York", sun=["00:00-01:30"]).is_open(z("2026-11-01T06:45Z"))


def test_open_moments_at_the_skipped_hour() -> None:
    # Paris 2026-03-29, 02:30-05:00: closed until the jump at 01:00Z (01:59:59 CET), open at it.
    night = calendar("Europe/Paris", sun=["02:30-05:00"])
    assert not night.is_open(z("2026-03-29T00:59:59Z"))
    assert night.is_open(z("2026-03-29T01:00Z"))
    assert night.next_open(z("2026-03-29T00:00Z")) == z("2026-03-29T01:00Z")
    # 00:00-02:30 and 03:30-05:00: the first ends at the jump (01:00Z); 03:30 CEST = 01:30Z.
    split = calendar("Europe/Paris", sun=["00:00-02:30", "03:30-05:00"])
    assert split.next_close(z("2026-03-28T23:30Z")) == z("2026-03-29T01:00Z")
    assert split.next_open(z("2026-03-29T01:00Z")) == z("2026-03-29T01:30Z")


def test_intervals_that_touch_across_the_gap_are_one() -> None:
    # 00:00-02:00 ends at the jump (01:00Z) and 03:00-05:00 starts there (03:00 CEST = 01:00Z).
    joined = calendar("Europe/Paris", sun=["00:00-02:00", "03:00-05:00"])
    assert intervals(joined, "2026-03-28T12:00Z", "2026-03-29T12:00Z") == [
        (z("2026-03-28T23:00Z"), z("2026-03-29T03:00Z"))
    ]
    assert joined.next_close(z("2026-03-29T00:30Z")) == z("2026-03-29T03:00Z")


def test_a_whole_day_lasts_23_or_25_hours_at_the_changes() -> None:
    sundays = calendar("Europe/Paris", sun=["00:00-24:00"])
    # 2026-03-29: 23:00Z (Sat) to 22:00Z = 23 h; 2026-10-25: 22:00Z (Sat) to 23:00Z = 25 h.
    assert (
        sundays.business_seconds_between(z("2026-03-28T00:00Z"), z("2026-03-31T00:00Z"))
        == 23 * HOUR
    )
    assert (
        sundays.business_seconds_between(z("2026-10-24T00:00Z"), z("2026-10-27T00:00Z"))
        == 25 * HOUR
    )


def test_add_business_time_across_a_dst_change() -> None:
    # Sat 2026-03-28 12:00 CET (11:00Z) + 2 h: Sat 12:00-13:00 (1 h), Sun closed (clocks change),
    # Mon 08:00-09:00 CEST -> 09:00 CEST = 07:00Z (a fixed +01:00 would say 08:00Z).
    assert SUPPORT.add_business_time(z("2026-03-28T11:00Z"), 2 * HOUR) == z("2026-03-30T07:00Z")
    # Sat 2026-10-24 12:00 CEST (10:00Z) + 2 h: Sat 1 h, Mon 08:00-09:00 CET -> 08:00Z.
    assert SUPPORT.add_business_time(z("2026-10-24T10:00Z"), 2 * HOUR) == z("2026-10-26T08:00Z")


def test_add_business_time_across_weekends_a_dst_change_and_a_holiday() -> None:
    # Fri 2026-10-30 16:00 EDT (20:00Z) + 59 h, 8 h a weekday in New York:
    #   Fri 16:00-17:00                                1 h  (1)
    #   weekend; Sun 2026-11-01 the clocks go back
    #   Mon 2 .. Fri 6, Mon 9, Tue 10: 7 days x 8 h   56 h (57)
    #   Wed 2026-11-11 Veterans Day, closed
    #   Thu 12 09:00-11:00 EST                         2 h  (59) -> 11:00 EST = 16:00Z
    start = z("2026-10-30T16:00-04:00")
    deadline = US_SUPPORT.add_business_time(start, 59 * HOUR)
    assert deadline == z("2026-11-12T16:00Z")
    assert US_SUPPORT.business_seconds_between(start, deadline) == 59 * HOUR


# -- across midnight, 24/7 ---------------------------------------------------------------------


def test_an_overnight_interval_is_written_as_two_days_and_joins() -> None:
    night = calendar("UTC", fri=["22:00-24:00"], sat=["00:00-06:00"])
    # Fri 2026-12-04 22:00Z to Sat 06:00Z is one open stretch.
    assert night.is_open(z("2026-12-05T00:00Z"))
    assert night.next_close(z("2026-12-04T23:00Z")) == z("2026-12-05T06:00Z")
    assert intervals(night, "2026-12-04T00:00Z", "2026-12-06T00:00Z") == [
        (z("2026-12-04T22:00Z"), z("2026-12-05T06:00Z"))
    ]
    assert (
        night.business_seconds_between(z("2026-12-04T00:00Z"), z("2026-12-06T00:00Z")) == 8 * HOUR
    )


def test_an_overnight_interval_in_one_piece_is_refused() -> None:
    with pytest.raises(CalendarError) as refused:
        calendar("UTC", fri=["22:00-06:00"])
    assert str(refused.value) == (
        "hours.fri[0]: end 06:00 is not after start 22:00; to stay open overnight, write "
        "22:00-24:00 on one day and 00:00-06:00 on the next"
    )


def test_always_open() -> None:
    always = BusinessCalendar.always_open()
    start = z("2026-03-29T00:30Z")
    assert always.is_open(start)
    assert always.next_open(start) == start
    assert always.next_close(start) is None
    assert always.add_business_time(start, 5 * 86_400) == z("2026-04-03T00:30Z")
    assert always.business_seconds_between(start, z("2026-03-30T00:30Z")) == 24 * HOUR
    assert list(always.open_intervals(start, z("2026-03-30T00:30Z"))) == [
        OpenInterval(start, z("2026-03-30T00:30Z"))
    ]
    assert parse_calendar({"time_zone": "UTC", "hours": "24/7"}) == always


def test_24_7_closes_on_holidays() -> None:
    always = parse_calendar(
        {"time_zone": "Europe/Paris", "hours": "24/7", "holidays_country": "FR"}
    )
    # 2026-07-14 is closed from local midnight (22:00Z on the 13th) to the next (22:00Z on the 14th).
    assert always.next_close(z("2026-07-13T12:00Z")) == z("2026-07-13T22:00Z")
    assert always.next_open(z("2026-07-13T22:00Z")) == z("2026-07-14T22:00Z")
    # 3 days less the holiday
    assert (
        always.business_seconds_between(z("2026-07-13T00:00Z"), z("2026-07-16T00:00Z")) == 48 * HOUR
    )


# -- calendars that never open ---------------------------------------------------------------


def test_a_calendar_without_hours_is_refused() -> None:
    with pytest.raises(CalendarError, match=re.escape("hours: the calendar never opens")):
        calendar("UTC")
    with pytest.raises(CalendarError, match=re.escape("hours: the calendar never opens")):
        calendar("UTC", mon=[], weekdays=[])


def test_a_calendar_whose_open_days_are_all_closed_for_two_years_raises() -> None:
    # Open on Mondays only, and every Monday from 2026-12-07 on for 120 weeks is closed.
    mondays = [date(2026, 12, 7) + timedelta(weeks=week) for week in range(120)]
    closed = parse_calendar(
        {"time_zone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "closed": mondays}
    )
    message = re.escape(f"does not open in the {SEARCH_HORIZON_DAYS} days after 2026-12-02")
    for operation in (
        lambda: closed.next_open(z("2026-12-02T00:00Z")),
        lambda: closed.next_close(z("2026-12-02T00:00Z")),
        lambda: closed.add_business_time(z("2026-12-02T00:00Z"), 60),
    ):
        with pytest.raises(NoOpenTime, match=message):
            operation()
    # Before the closures it opens; a bounded question needs no search.
    assert closed.next_open(z("2026-11-30T00:00Z")) == z("2026-11-30T09:00Z")
    assert closed.business_seconds_between(z("2026-12-02T00:00Z"), z("2028-12-02T00:00Z")) == 0


def test_a_calendar_of_special_dates_only_opens_on_them() -> None:
    once = parse_calendar(
        {"time_zone": "UTC", "hours": {}, "special": {"2026-12-31": ["09:00-12:00"]}}
    )
    assert once.next_open(z("2026-12-01T00:00Z")) == z("2026-12-31T09:00Z")
    assert once.next_close(z("2026-12-01T00:00Z")) == z("2026-12-31T12:00Z")
    with pytest.raises(NoOpenTime):
        once.next_open(z("2026-12-31T12:00Z"))


# -- efficiency ---------------------------------------------------------------------------------


def test_long_spans_are_walked_day_by_day() -> None:
    fresh = parse_calendar({"time_zone": "Europe/Paris", "hours": {"weekdays": ["08:00-18:00"]}})
    # Five business days from Mon 2026-12-07 08:00 CET end Fri 18:00 CET = 17:00Z.
    assert fresh.add_business_time(z("2026-12-07T08:00+01:00"), 5 * 10 * HOUR) == z(
        "2026-12-11T17:00Z"
    )
    assert fresh._day_spans.cache_info().misses <= 6  # type: ignore[attr-defined]
    # A year is 365 days looked at, plus the two around it: 261 weekdays in 2027 x 10 h.
    year = fresh.business_seconds_between(z("2027-01-01T00:00+01:00"), z("2028-01-01T00:00+01:00"))
    assert year == 261 * 10 * HOUR
    assert fresh._day_spans.cache_info().misses <= 6 + 368  # type: ignore[attr-defined]


# -- the table's shape ----------------------------------------------------------------------------


def test_the_documented_toml_shape() -> None:
    data = tomllib.loads(
        """
        [calendars.support]
        time_zone = "Europe/Paris"
        hours.weekdays = ["08:00-12:00", "13:00-18:00"]
        hours.fri = ["08:00-12:00", "13:00-17:00"]
        hours.sat = ["09:00-13:00"]
        holidays_country = "FR"
        closed = ["2026-12-24", 2026-12-28]
        special = { "2026-12-31" = ["09:00-12:00"] }

        [calendars.always]
        time_zone = "UTC"
        hours = "24/7"
        """
    )
    calendars = parse_calendars(data["calendars"])
    support = calendars["support"]
    assert support.weekly[0] == (OpenHours(480, 720), OpenHours(780, 1080))  # mon from weekdays
    assert support.weekly[4] == (OpenHours(480, 720), OpenHours(780, 1020))  # fri its own
    assert support.weekly[5] == (OpenHours(540, 780),)
    assert support.weekly[6] == ()
    assert support.closed == {date(2026, 12, 24), date(2026, 12, 28)}  # text or a TOML date
    assert support.hours_on(date(2026, 12, 31)) == (OpenHours(540, 720),)
    assert calendars["always"] == BusinessCalendar.always_open()


def test_day_shorthands_and_a_day_named_itself() -> None:
    shorthands = calendar("UTC", daily=["10:00-11:00"], weekend=["12:00-13:00"], wed=[])
    assert [str(day[0]) if day else "" for day in shorthands.weekly] == [
        "10:00-11:00",
        "10:00-11:00",
        "",  # wed = [] closes it
        "10:00-11:00",
        "10:00-11:00",
        "12:00-13:00",  # weekend over daily
        "12:00-13:00",
    ]


def test_touching_intervals_join() -> None:
    assert calendar("UTC", mon=["12:00-13:00", "08:00-12:00"]).weekly[0] == (OpenHours(480, 780),)


def test_moments_in_any_zone_answer_in_utc_and_naive_ones_are_refused() -> None:
    answer = SUPPORT.next_open(datetime.fromisoformat("2026-12-05T14:00+01:00"))
    assert answer.tzinfo is UTC
    with pytest.raises(ValueError, match=re.escape("at: 2026-12-05T14:00:00 has no time zone")):
        SUPPORT.is_open(datetime.fromisoformat("2026-12-05T14:00"))
    with pytest.raises(ValueError, match="negative"):
        SUPPORT.add_business_time(z("2026-12-05T14:00Z"), -1)


BAD = [
    ({"hours": "24/7"}, 'time_zone: missing; give an IANA name such as "Europe/Paris"'),
    (
        {"time_zone": "Europe/Pariss", "hours": "24/7"},
        "time_zone: unknown time zone 'Europe/Pariss'; give an IANA name such as \"Europe/Paris\"",
    ),
    (
        {"time_zone": "UTC"},
        'hours: missing; give a table of day = ["08:00-12:00", ...] or "24/7"',
    ),
    (
        {"time_zone": "UTC", "hours": "9-5"},
        'hours: \'9-5\' is not valid; give a table of day = ["08:00-12:00", ...] or "24/7"',
    ),
    (
        {"time_zone": "UTC", "hours": {"mon": ["08:00-12:00", "13:00-12:00"]}},
        "hours.mon[1]: end 12:00 is not after start 13:00",
    ),
    (
        {"time_zone": "UTC", "hours": {"mon": ["08:00-12:00", "11:00-14:00"]}},
        "hours.mon[1]: 11:00-14:00 overlaps hours.mon[0] 08:00-12:00",
    ),
    (
        {"time_zone": "UTC", "hours": {"weekdays": ["13:00-18:00", "08:00-13:30"]}},
        "hours.weekdays[0]: 13:00-18:00 overlaps hours.weekdays[1] 08:00-13:30",
    ),
    (
        {"time_zone": "UTC", "hours": {"monday": ["08:00-12:00"]}},
        "hours.monday: unknown day (days: mon, tue, wed, thu, fri, sat, sun, daily, weekdays, weekend)",
    ),
    (
        {"time_zone": "UTC", "hours": {"tue": ["8-12"]}},
        "hours.tue[0]: '8-12' is not an interval like \"08:00-12:00\"",
    ),
    (
        {"time_zone": "UTC", "hours": {"tue": ["08:00-24:30"]}},
        "hours.tue[0]: 24:30 is not a time of day (00:00 to 24:00)",
    ),
    (
        {"time_zone": "UTC", "hours": {"tue": "08:00-12:00"}},
        "hours.tue: expected a list like [\"08:00-12:00\"], got '08:00-12:00'",
    ),
    (
        {"time_zone": "UTC", "hours": "24/7", "holidays_country": "XX"},
        "holidays_country: unknown country 'XX'; give an ISO 3166-1 code the holidays package "
        'knows, such as "FR" or "US"',
    ),
    (
        {
            "time_zone": "UTC",
            "hours": "24/7",
            "holidays_country": "US",
            "holidays_subdivision": "ZZ",
        },
        "holidays_subdivision: 'ZZ' is not a subdivision of US (subdivisions: AK, AL,",
    ),
    (
        {"time_zone": "UTC", "hours": "24/7", "holidays_subdivision": "CA"},
        "holidays_subdivision: needs holidays_country",
    ),
    (
        {"time_zone": "UTC", "hours": "24/7", "closed": ["2026-13-01"]},
        "closed[0]: '2026-13-01' is not a date like \"2026-12-24\"",
    ),
    (
        {"time_zone": "UTC", "hours": "24/7", "special": {"31/12/2026": []}},
        "special.31/12/2026: '31/12/2026' is not a date like \"2026-12-24\"",
    ),
    (
        {"time_zone": "UTC", "hours": "24/7", "special": {"2026-12-31": ["9-12"]}},
        "special.2026-12-31[0]: '9-12' is not an interval like \"08:00-12:00\"",
    ),
    (
        {
            "time_zone": "UTC",
            "hours": "24/7",
            "closed": ["2026-12-31"],
            "special": {"2026-12-31": []},
        },
        "special.2026-12-31: 2026-12-31 is also closed; keep one of the two",
    ),
    (
        {"timezone": "UTC", "hours": "24/7"},
        "timezone: unknown key (keys: time_zone, hours, holidays_country, holidays_subdivision, "
        "closed, special)",
    ),
]


@pytest.mark.parametrize(("table", "message"), BAD)
def test_a_bad_calendar_is_refused_naming_the_field(table: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError) as refused:
        parse_calendar(table)
    assert str(refused.value).startswith(message)


def test_messages_name_the_calendar_in_a_file() -> None:
    bad = {"time_zone": "UTC", "hours": {"mon": ["08:00-12:00", "13:00-12:00"]}}
    with pytest.raises(CalendarError) as refused:
        parse_calendars({"support": bad})
    assert (
        str(refused.value) == "calendars.support.hours.mon[1]: end 12:00 is not after start 13:00"
    )
    with pytest.raises(CalendarError, match=re.escape("calendars.sales: expected a table")):
        parse_calendars({"sales": "24/7"})


# -- properties -----------------------------------------------------------------------------------

# The night calendar's intervals touch 01:00-03:00 in a zone with DST, and join across midnight.
NIGHT = parse_calendar(
    {
        "time_zone": "America/New_York",
        "holidays_country": "US",
        "hours": {"daily": ["00:00-01:30", "02:30-03:00", "22:00-24:00"], "sun": ["01:00-02:00"]},
        "closed": ["2026-03-09"],
        "special": {"2026-11-02": ["00:00-24:00"]},
    }
)
CALENDARS = st.sampled_from([SUPPORT, US_SUPPORT, NIGHT])
BASE = z("2026-01-01T00:00Z")
MOMENTS = st.integers(0, 2 * 365 * 86_400 * 10**6).map(lambda us: BASE + timedelta(microseconds=us))
DURATIONS = st.integers(0, 10 * 9 * HOUR)  # up to ten business days of whole seconds
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(CALENDARS, MOMENTS, DURATIONS)
def test_business_seconds_between_inverts_add_business_time(
    cal: BusinessCalendar, start: datetime, seconds: int
) -> None:
    deadline = cal.add_business_time(start, seconds)
    assert cal.business_seconds_between(start, deadline) == seconds
    if seconds:  # the last moment before the deadline is open
        assert cal.is_open(deadline - timedelta(microseconds=1))


@PROPERTY
@given(CALENDARS, MOMENTS, MOMENTS, DURATIONS, DURATIONS)
def test_add_business_time_is_monotonic(
    cal: BusinessCalendar, a: datetime, b: datetime, d1: int, d2: int
) -> None:
    (a, b), (d1, d2) = sorted((a, b)), sorted((d1, d2))
    assert cal.add_business_time(a, d1) <= cal.add_business_time(a, d2)
    assert cal.add_business_time(a, d1) <= cal.add_business_time(b, d1)


@PROPERTY
@given(CALENDARS, MOMENTS, st.integers(0, 20 * 86_400), st.integers(0, 20 * 86_400))
def test_open_intervals_agree_with_is_open_and_next_open(
    cal: BusinessCalendar, start: datetime, length: int, probe: int
) -> None:
    end = start + timedelta(seconds=length)
    spans = list(cal.open_intervals(start, end))
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert earlier.end < later.start  # ordered, and touching stretches joined
    moment = start + timedelta(seconds=min(probe, length))
    inside = any(span.start <= moment < span.end for span in spans)
    assert cal.is_open(moment) == inside or moment == end
    assert cal.business_seconds_between(start, end) == pytest.approx(
        sum(span.seconds for span in spans), abs=1e-6
    )
    if spans:
        assert cal.next_open(start) == spans[0].start
        assert spans[0].end == end or cal.next_close(start) == spans[0].end


def test_a_calendar_pickles_as_its_definition() -> None:
    copy = pickle.loads(pickle.dumps(SUPPORT))
    assert copy == SUPPORT
    assert hash(copy) == hash(SUPPORT)
    assert copy.add_business_time(z("2026-12-23T17:00+01:00"), 2 * HOUR) == z("2026-12-26T09:00Z")
