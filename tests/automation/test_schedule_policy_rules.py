"""The pure rules of scheduled triggers, quiet hours, caps and the new playbook keys, each checked
against moments worked out by hand (UTC offsets from the IANA rules: New York EST -5 / EDT -4,
Paris CET +1, Tokyo +9 without DST, Berlin CET +1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from touchpoint.automation.playbooks import read_playbook
from touchpoint.domain import playbook_policy as policy
from touchpoint.domain import playbook_schedules as schedules
from touchpoint.domain.playbooks import Trigger, matches_event, parse_playbook
from touchpoint.errors import ValidationError

NY, PARIS, TOKYO, BERLIN = (
    ZoneInfo(z) for z in ("America/New_York", "Europe/Paris", "Asia/Tokyo", "Europe/Berlin")
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_29_february_falls_on_28_february_or_1_march_in_a_common_year() -> None:
    leap_day = date(2000, 2, 29)
    assert schedules.yearly_date(leap_day, 2027) == date(2027, 2, 28)
    assert schedules.yearly_date(leap_day, 2027, schedules.MAR1) == date(2027, 3, 1)
    assert schedules.yearly_date(leap_day, 2028) == date(2028, 2, 29)
    assert schedules.yearly_date(date(1990, 7, 14), 2027) == date(2027, 7, 14)


def test_a_birthday_at_nine_is_nine_in_the_customers_zone() -> None:
    # 14 July 2027 09:00 in New York is EDT (UTC-4): 13:00 UTC
    found = schedules.anniversaries(
        date(1990, 7, 14),
        "birthday",
        utc(2027, 7, 14, 12),
        utc(2027, 7, 14, 14),
        NY,
        at=time(9),
        feb29=schedules.FEB28,
    )
    assert found == [schedules.Occurrence("birthday:2027", utc(2027, 7, 14, 13))]
    # 1 March 09:00 in Tokyo (UTC+9) is midnight UTC; the window (start, end] excludes its start
    tokyo = schedules.anniversaries(
        date(1985, 3, 1),
        "birthday",
        utc(2027, 3, 1),
        utc(2027, 3, 2),
        TOKYO,
        at=time(9),
        feb29="feb28",
    )
    assert tokyo == []
    tokyo = schedules.anniversaries(
        date(1985, 3, 1),
        "birthday",
        utc(2027, 2, 28, 23),
        utc(2027, 3, 1),
        TOKYO,
        at=time(9),
        feb29="feb28",
    )
    assert tokyo == [schedules.Occurrence("birthday:2027", utc(2027, 3, 1))]


def test_the_date_itself_is_no_anniversary() -> None:
    found = schedules.anniversaries(
        date(2027, 5, 1),
        "signup",
        utc(2027, 4, 30),
        utc(2027, 5, 2),
        PARIS,
        at=time(9),
        feb29="feb28",
    )
    assert found == []


def test_the_31st_of_every_month_is_the_last_day_of_a_shorter_one() -> None:
    # 28 February 2027 09:00 in Paris (CET, UTC+1) is 08:00 UTC
    found = schedules.monthlies(31, utc(2027, 2, 1), utc(2027, 3, 1), PARIS, at=time(9))
    assert found == [schedules.Occurrence("monthly:2027-02", utc(2027, 2, 28, 8))]
    firsts = schedules.monthlies(1, utc(2026, 12, 15), utc(2027, 2, 15), PARIS, at=time(9))
    assert [o.at for o in firsts] == [utc(2027, 1, 1, 8), utc(2027, 2, 1, 8)]


def test_days_after_a_moment_to_the_second_or_at_a_local_time() -> None:
    first = utc(2027, 1, 10, 15, 30)
    assert schedules.after(first, 30, "k", NY, at=None).at == utc(2027, 2, 9, 15, 30)
    # 9 February 2027 in New York (EST, UTC-5) at 10:00 is 15:00 UTC
    assert schedules.after(first, 30, "k", NY, at=time(10)).at == utc(2027, 2, 9, 15)


def test_quiet_hours_over_midnight_end_at_eight_local() -> None:
    rules = policy.Policy(quiet_start=time(21), quiet_end=time(8))
    # 22:30 in Berlin (CET, UTC+1) on 5 January = 21:30 UTC; quiet ends 6 January 08:00 = 07:00 UTC
    assert policy.quiet_ends(rules, utc(2027, 1, 5, 21, 30), BERLIN) == utc(2027, 1, 6, 7)
    # 02:00 in Berlin = 01:00 UTC: ends the same morning
    assert policy.quiet_ends(rules, utc(2027, 1, 6, 1), BERLIN) == utc(2027, 1, 6, 7)
    assert policy.quiet_ends(rules, utc(2027, 1, 6, 11), BERLIN) is None
    assert policy.quiet_ends(rules, utc(2027, 1, 6, 7), BERLIN) is None  # 08:00 itself is not quiet
    assert policy.quiet_ends(rules, utc(2027, 1, 6, 19, 59), BERLIN) is None  # 20:59 local


def test_a_cap_counts_the_rolling_window() -> None:
    rules = policy.Policy(caps={"email": {"day": 2}})
    now = utc(2027, 1, 6, 12)
    two_today = [now - timedelta(hours=1), now - timedelta(hours=23)]
    assert policy.cap_refusal(rules, "email", two_today, now) == (
        "frequency_cap: 2 email in the last day, at most 2"
    )
    one_today = [now - timedelta(hours=1), now - timedelta(hours=25)]
    assert policy.cap_refusal(rules, "email", one_today, now) is None
    assert policy.cap_refusal(rules, "sms", two_today, now) is None  # no sms cap set


def test_a_message_four_hours_late_is_stale_by_default() -> None:
    due = utc(2027, 1, 6, 10)
    assert not policy.is_stale(policy.DEFAULT_POLICY, due, due + timedelta(hours=4))
    assert policy.is_stale(policy.DEFAULT_POLICY, due, due + timedelta(hours=4, seconds=1))


def test_a_policy_file_with_problems_names_each() -> None:
    found, problems = policy.parse_policy(
        {"quiet_hours": {"start": "25:00"}, "caps": {"email": {"year": 3}}, "send_within": "x"}
    )
    assert [p for p, _ in problems] == ["quiet_hours.start", "caps.email", "send_within"]
    assert found.quiet_end == time(8)


def test_event_triggers_match_their_events() -> None:
    entered = Trigger("segment_entered", "vip")
    assert matches_event(entered, "segment_entered", "vip", {})
    assert not matches_event(entered, "segment_left", "vip", {})
    breached = Trigger("ticket_breached", "any")
    assert matches_event(breached, "ticket_breached", "first_response", {})
    solved = Trigger("ticket_solved", "any")
    assert matches_event(solved, "ticket_status", "t1", {"from": "open", "to": "solved"})
    assert not matches_event(solved, "ticket_status", "t1", {"from": "open", "to": "pending"})


def test_a_score_trigger_names_the_threshold_as_the_stream_does() -> None:
    playbook = parse_playbook(
        {"name": "hot", "trigger": {"score_rose_above": "lead:50.0"}, "steps": [{"stop": "x"}]}
    )
    assert playbook.trigger.subject == "lead:50" and playbook.trigger.stream == "scores"


BAD = """name = "bad"
[trigger]
anniversary = "birthday"
feb29 = "mar2"

[[steps]]
wait_for = { type = "purchase", timeout = "soon" }

[[steps]]
if = { came = "yes", else = 1 }
"""


def test_bad_schedule_and_wait_for_keys_are_refused_with_their_lines(tmp_path: object) -> None:
    from pathlib import Path

    with pytest.raises(ValidationError) as caught:
        read_playbook(Path("bad.toml"), BAD)
    text = str(caught.value)
    assert "bad.toml:4: trigger.feb29" in text
    assert "bad.toml:7: steps[0].wait_for.timeout" in text
    assert "bad.toml:10: steps[1].if.else" in text
    assert "bad.toml:10: steps[1].if.came" in text
