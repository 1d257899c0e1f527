"""domain/moments.py for events: what can be stored (UTC years 1-9999), what may date an
interaction (the plausibility window), and moments as text that sorts like time whatever the
year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from touchpoint.domain.moments import (
    EventWindow,
    duration_text,
    event_moment_error,
    is_number_text,
    parse_span,
    utc_text,
)


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
        (datetime(1, 1, 1, tzinfo=UTC), None),  # storable; the plausibility window refuses it
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), None),
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
def test_an_event_moment_is_storable_in_utc_years_1_to_9999(
    moment: datetime, error: str | None
) -> None:
    assert event_moment_error(moment) == error


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT_WINDOW = (
    "the plausible window for an interaction, 1970-01-01T00:00:00Z to 2026-03-02T12:00:00Z "
    "(the server's clock + 1 day)"
)


@pytest.mark.parametrize(
    ("moment", "error"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), None),  # the first moment of the window
        (NOW + timedelta(days=1), None),  # the last
        (NOW - timedelta(days=3000), None),
        (
            datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
            f"occurred_at: 1969-12-31T23:59:59+00:00 is before {DEFAULT_WINDOW}",
        ),
        (  # 1970-01-01T00:30 at +01:00 is 1969-12-31T23:30 UTC
            datetime(1970, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            f"occurred_at: 1970-01-01T00:30:00+01:00 is before {DEFAULT_WINDOW}",
        ),
        (
            datetime(1899, 12, 31, tzinfo=UTC),
            f"occurred_at: 1899-12-31T00:00:00+00:00 is before {DEFAULT_WINDOW}",
        ),
        (
            NOW + timedelta(days=1, seconds=1),
            "occurred_at: 2026-03-02T12:00:01+00:00 is in the future, after "
            f"{DEFAULT_WINDOW}; an interaction is recorded once it has happened",
        ),
    ],
)
def test_the_default_window_is_1970_to_a_day_past_the_clock(
    moment: datetime, error: str | None
) -> None:
    assert EventWindow().error(moment, NOW, "occurred_at") == error


def test_a_configured_window_moves_both_ends_and_says_so() -> None:
    window = EventWindow(datetime(2020, 1, 1, tzinfo=UTC), timedelta(minutes=90))
    assert window.error(datetime(2020, 1, 1, tzinfo=UTC), NOW, "at") is None
    assert window.error(NOW + timedelta(minutes=90), NOW, "at") is None
    described = (
        "the plausible window for an interaction, 2020-01-01T00:00:00Z to 2026-03-01T13:30:00Z "
        "(the server's clock + 1 hour 30 minutes)"
    )
    assert window.error(datetime(2019, 12, 31, tzinfo=UTC), NOW, "timestamp") == (
        f"timestamp: 2019-12-31T00:00:00+00:00 is before {described}"
    )
    assert (window.error(NOW + timedelta(minutes=91), NOW, "at") or "").startswith(
        f"at: 2026-03-01T13:31:00+00:00 is in the future, after {described}"
    )


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        (" 12H ", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(days=14)),
        ("P1D", None),  # left to pydantic's ISO 8601 reader
        ("1.5d", None),
        ("-1d", None),
    ],
)
def test_a_span_is_a_number_and_a_unit(text: str, span: timedelta | None) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=1), "1 day"),
        (timedelta(hours=2, minutes=30), "2 hours 30 minutes"),
        (timedelta(days=2, seconds=1), "2 days 1 second"),
        (timedelta(0), "0 seconds"),
    ],
)
def test_a_span_reads_as_a_person_says_it(span: timedelta, text: str) -> None:
    assert duration_text(span) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [("12345", True), (" -1.5e9 ", True), (".5", True), ("2026-03-01", False), ("", False)],
)
def test_number_text_is_told_from_a_date(text: str, number: bool) -> None:
    assert is_number_text(text) is number
