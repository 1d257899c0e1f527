"""domain/moments.py for events: what may date an interaction, and moments as text that sorts
like time whatever the year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from touchpoint.domain.moments import event_moment_error, is_number_text, utc_text


def test_utc_text_pads_the_year_so_text_order_is_time_order() -> None:
    old, new = datetime(999, 12, 31, 23, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert utc_text(old) == "0999-12-31T23:00:00.000000Z"  # strftime's %Y wrote "999-..."
    assert utc_text(new) == "2026-01-01T00:00:00.000000Z"
    assert utc_text(old) < utc_text(new)


def test_utc_text_writes_the_instant_in_utc() -> None:
    at = datetime(2026, 3, 1, 14, 0, 0, 250, tzinfo=timezone(timedelta(hours=2)))
    assert utc_text(at) == "2026-03-01T12:00:00.000250Z"


@pytest.mark.parametrize(
    ("moment", "error"),
    [
        (datetime(2026, 3, 1, tzinfo=UTC), None),
        (datetime(1900, 1, 1, tzinfo=UTC), None),
        (
            datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
            "1899-12-31T23:59:00+00:00 is before 1900, earlier than any interaction",
        ),
        (  # 1900-01-01T00:30 at +01:00 is 1899-12-31T23:30 UTC
            datetime(1900, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            "1900-01-01T00:30:00+01:00 is before 1900, earlier than any interaction",
        ),
        (
            datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
            "9999-12-31T23:30:00-01:00 falls outside the years 1-9999 once read in UTC",
        ),
        (
            datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            "0001-01-01T00:30:00+01:00 falls outside the years 1-9999 once read in UTC",
        ),
    ],
)
def test_an_event_moment_falls_in_utc_years_1900_to_9999(
    moment: datetime, error: str | None
) -> None:
    assert event_moment_error(moment) == error


@pytest.mark.parametrize(
    ("text", "number"),
    [("12345", True), (" -1.5e9 ", True), (".5", True), ("2026-03-01", False), ("", False)],
)
def test_number_text_is_told_from_a_date(text: str, number: bool) -> None:
    assert is_number_text(text) is number
