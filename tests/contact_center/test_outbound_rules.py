"""domain.outbound by hand: the callee's calling window across DST, several zones and unknown
ones; the dial-time checks; retries per outcome; the dispositions' table; predictive pacing under
the 3 % drop cap (a worked example and a Hypothesis property against an independent formula)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.domain import outbound as rules
from touchpoint.domain.outbound import (
    CampaignSettings,
    DialHistory,
    RecordFacts,
    callee_zones,
    calling_window,
    dial_check,
    pace,
)

NEW_YORK = "+12125550100"  # Manhattan: America/New_York
WA = "+61891234567"  # Western Australia's 08 prefix: Australia/Perth and Australia/Adelaide
UNASSIGNED_US = "+15555550100"  # 555: no zone of its own, so every zone of +1


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- calling windows ----------------------------------------------------------------------------


def test_a_new_york_number_s_window_follows_the_march_change() -> None:
    zones = callee_zones(NEW_YORK)
    assert zones == ("America/New_York",)
    # Saturday 7 March 2026, EST (UTC-5): 09:00-20:00 local is 14:00-01:00 UTC.
    assert calling_window(zones, utc("2026-03-07T13:30")) == rules.WindowCheck(
        False, utc("2026-03-07T14:00"), None
    )
    assert calling_window(zones, utc("2026-03-07T14:00")).closes_at == utc("2026-03-08T01:00")
    # Sunday 8 March, EDT (UTC-4) from 02:00 local: 13:00-00:00 UTC; 13:30 UTC is 09:30 local.
    assert calling_window(zones, utc("2026-03-08T13:30")) == rules.WindowCheck(
        True, None, utc("2026-03-09T00:00")
    )
    # 00:30 UTC on the 9th is 20:30 EDT on the 8th: closed until 13:00 UTC.
    assert calling_window(zones, utc("2026-03-09T00:30")).opens_at == utc("2026-03-09T13:00")


def test_a_new_york_number_s_window_follows_the_november_change() -> None:
    zones = callee_zones(NEW_YORK)
    # Friday 30 October, 20:30 EDT (00:30 UTC on the 31st): opens Saturday 09:00 EDT = 13:00 UTC.
    assert calling_window(zones, utc("2026-10-31T00:30")).opens_at == utc("2026-10-31T13:00")
    # Sunday 1 November, EST from 02:00 local: 13:30 UTC is 08:30 EST, closed until 14:00 UTC.
    assert calling_window(zones, utc("2026-11-01T13:30")) == rules.WindowCheck(
        False, utc("2026-11-01T14:00"), None
    )
    # 00:30 UTC on the 2nd is 19:30 EST on the 1st: open, until 20:00 EST = 01:00 UTC.
    assert calling_window(zones, utc("2026-11-02T00:30")) == rules.WindowCheck(
        True, None, utc("2026-11-02T01:00")
    )


def test_a_number_with_several_zones_is_called_only_when_all_are_open() -> None:
    zones = callee_zones(WA)
    assert zones == ("Australia/Adelaide", "Australia/Perth")
    # June: Adelaide UTC+9:30 (09:00-20:00 = 23:30-10:30 UTC), Perth UTC+8 (01:00-12:00 UTC):
    # both open 01:00-10:30 UTC.
    assert calling_window(zones, utc("2026-06-15T00:30")).opens_at == utc("2026-06-15T01:00")
    assert calling_window(zones, utc("2026-06-15T10:00")).closes_at == utc("2026-06-15T10:30")
    assert calling_window(zones, utc("2026-06-15T11:00")).opens_at == utc("2026-06-16T01:00")
    # January: Adelaide on daylight time, UTC+10:30, closes at 09:30 UTC; Perth has none.
    assert calling_window(zones, utc("2026-01-15T09:00")).closes_at == utc("2026-01-15T09:30")
    assert calling_window(zones, utc("2026-01-15T09:45")).opens_at == utc("2026-01-16T01:00")


def test_an_unknown_zone_takes_every_zone_of_the_country_and_they_share_no_hours() -> None:
    zones = callee_zones(UNASSIGNED_US)
    assert {"Pacific/Guam", "America/Halifax", "America/New_York"} <= set(zones)
    # Guam (UTC+10) is open 23:00-10:00 UTC and Halifax in June (UTC-3) 12:00-23:00 UTC:
    # disjoint, so the number is never called.
    assert calling_window(["Pacific/Guam", "America/Halifax"], utc("2026-06-01T12:00")) == (
        rules.WindowCheck(False, None, None)
    )
    assert calling_window(zones, utc("2026-06-01T23:30")) == rules.WindowCheck(False, None, None)


def test_a_number_of_no_known_country_has_no_window() -> None:
    assert callee_zones("+999123") == ()
    assert calling_window((), utc("2026-06-01T12:00")) == rules.WindowCheck(False, None, None)


def test_a_campaign_s_own_window_applies() -> None:
    zones = callee_zones(NEW_YORK)
    evening = (time(17, 0), time(21, 0))
    # 20:30 EDT on 1 June is 00:30 UTC on the 2nd: outside the default, inside 17-21.
    assert not calling_window(zones, utc("2026-06-02T00:30")).inside
    assert calling_window(zones, utc("2026-06-02T00:30"), evening).closes_at == utc(
        "2026-06-02T01:00"
    )


# --- the checks at dial time --------------------------------------------------------------------

NOON_NY = utc("2026-06-01T16:00")  # 12:00 EDT


def facts(**overrides: object) -> RecordFacts:
    values: dict[str, object] = {
        "attempts": 0,
        "last_outcome": None,
        "due_at": None,
        "suppressed": False,
        "do_not_call": False,
        "consent": "granted",
        "zones": ("America/New_York",),
    }
    return RecordFacts(**(values | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({}, None),
        ({"consent": None}, "no_consent"),
        ({"consent": "withdrawn"}, "no_consent"),
        ({"do_not_call": True}, "do_not_call"),
        ({"suppressed": True}, "suppressed"),
        ({"zones": ()}, "no_calling_window"),
        ({"last_outcome": "sale", "attempts": 1}, "max_attempts"),
        ({"last_outcome": "no_answer", "attempts": 6}, "max_attempts"),
        ({"last_outcome": "no_answer", "attempts": 5}, None),
        (
            {"last_outcome": "busy", "attempts": 1, "due_at": NOON_NY + timedelta(minutes=1)},
            "retry_spacing",
        ),
    ],
)
def test_each_check_refuses_with_its_reason(
    overrides: dict[str, object], reason: str | None
) -> None:
    assert dial_check(facts(**overrides), CampaignSettings(), NOON_NY).reason == reason


def test_opt_out_calls_who_never_said_but_not_who_withdrew() -> None:
    opt_out = CampaignSettings(consent=rules.OPT_OUT)
    assert dial_check(facts(consent=None), opt_out, NOON_NY).reason is None
    assert dial_check(facts(consent="withdrawn"), opt_out, NOON_NY).reason == "no_consent"


def test_outside_the_window_says_when_it_opens() -> None:
    early = utc("2026-06-01T12:00")  # 08:00 EDT
    check = dial_check(facts(), CampaignSettings(), early)
    assert (check.reason, check.retry_at) == ("outside_window", utc("2026-06-01T13:00"))


# --- retries and dispositions -------------------------------------------------------------------


def test_retries_follow_the_outcome_s_rule() -> None:
    at = utc("2026-06-01T16:00")
    retry = rules.DEFAULT_RETRY
    assert rules.after_call("no_answer", 1, at, retry) == rules.NextStep(
        at + timedelta(hours=2), None
    )
    assert rules.after_call("busy", 1, at, retry).retry_at == at + timedelta(minutes=15)
    assert rules.after_call("no_answer", 6, at, retry) == rules.NextStep(None, "max_attempts")
    assert rules.after_call("sale", 1, at, retry) == rules.NextStep(None, "sale")
    asked = at + timedelta(days=2, hours=1)
    assert rules.after_call("callback_requested", 1, at, retry, asked).retry_at == asked


def test_the_dispositions_table_counts_drops_of_people_answered() -> None:
    assert rules.disposition("pdrop").outcome == "dropped"
    human = {c for c, d in rules.DISPOSITIONS.items() if d.human}
    assert human == {"DNC", "CALLBK", "SALE", "NI", "XFER", "DROP", "PDROP"}
    assert {c for c, d in rules.DISPOSITIONS.items() if d.drop} == {"DROP", "PDROP"}
    with pytest.raises(ValueError, match="unknown disposition 'ZZ'"):
        rules.disposition("ZZ")


def test_settings_name_the_wrong_field() -> None:
    with pytest.raises(ValueError, match="^drop_cap"):
        rules.campaign_settings({"drop_cap": 0.05})
    with pytest.raises(ValueError, match="^window"):
        rules.campaign_settings({"window": ["20:00", "09:00"]})
    with pytest.raises(ValueError, match="^retry.sale"):
        rules.campaign_settings({"retry": {"sale": {"max_attempts": 2}}})
    parsed = rules.campaign_settings({"retry": {"busy": {"spacing_s": 60}}})
    assert parsed.retry["busy"] == rules.RetryRule(6, 60.0)
    assert rules.campaign_settings(parsed.document()) == parsed


# --- pacing -------------------------------------------------------------------------------------

PREDICTIVE = CampaignSettings(pacing="predictive")


def test_predictive_pacing_by_hand() -> None:
    # 1 free agent, answer rate 1/2: a second line is answered with the first 1/4 of the time,
    # E[drops] = P(both answer) = 0.25 per 2 * 0.5 = 1 expected answer: 25 % > 3 %. One line.
    history = DialHistory(dialled=100, human=50, drops=0)
    assert math.isclose(rules.expected_drops(2, 0.5, 1), 0.25)
    assert pace("predictive", 1, history, PREDICTIVE).lines == 1
    # 2 free agents, 3 lines: E[(X-2)+] = P(X=3) = 1/8 per 1.5 expected answers = 8.3 %. Two.
    assert math.isclose(rules.expected_drops(3, 0.5, 2), 0.125)
    assert pace("predictive", 2, history, PREDICTIVE).lines == 2
    # 10 free agents, 16 lines: E[(X-10)+] = sum over x > 10 of (x-10) C(16,x) / 2^16
    #   = (1*4368 + 2*1820 + 3*560 + 4*120 + 5*16 + 6*1) / 65536 = 10254 / 65536 = 0.1565,
    # per 8 expected answers 1.96 %; 17 lines: 35401 / 131072 = 0.2701 per 8.5 = 3.18 % > 3 %.
    # The window (5,000 answered, 50 drops) stays near 1 %: 16 lines.
    assert math.isclose(rules.expected_drops(16, 0.5, 10), 10254 / 65536)
    assert math.isclose(rules.expected_drops(17, 0.5, 10), 35401 / 131072)
    big = DialHistory(dialled=10_000, human=5_000, drops=50)
    decided = pace("predictive", 10, big, PREDICTIVE)
    assert decided.lines == 16
    assert math.isclose(decided.projected_drop_rate or 0, (50 + 10254 / 65536) / 5008)
    # Already at the cap: one line per agent (progressive expects no drop).
    at_cap = DialHistory(dialled=1000, human=500, drops=15)
    assert pace("predictive", 10, at_cap, PREDICTIVE).lines == 10
    # Too little history: progressive.
    assert pace("predictive", 10, DialHistory(20, 10, 0), PREDICTIVE).lines == 10
    assert pace("progressive", 4, big, CampaignSettings()).lines == 4
    assert pace("predictive", 0, big, PREDICTIVE).lines == 0


def independent_excess(lines: int, rate: float, agents: int) -> float:
    """E[(X-n)+] as the sum of tail probabilities, P(X >= j) for j > n (exact fractions of
    math.comb, not the code's log-gamma sum)."""
    pmf = [math.comb(lines, x) * rate**x * (1 - rate) ** (lines - x) for x in range(lines + 1)]
    return sum(sum(pmf[j:]) for j in range(agents + 1, lines + 1))


@settings(max_examples=200, deadline=None)
@given(
    dialled=st.integers(0, 5000),
    human_share=st.floats(0.05, 1.0),
    drop_share=st.floats(0, 0.06),
    agents=st.integers(1, 40),
    cap=st.sampled_from([0.01, 0.02, 0.03]),
)
def test_predictive_pacing_never_projects_past_the_cap(
    dialled: int, human_share: float, drop_share: float, agents: int, cap: float
) -> None:
    human = round(dialled * human_share)
    drops = min(human, round(human * drop_share))
    history = DialHistory(dialled, human, drops)
    chosen = CampaignSettings(pacing="predictive", drop_cap=cap)
    lines = pace("predictive", agents, history, chosen).lines
    assert agents <= lines <= math.floor(agents * chosen.max_ratio)
    if lines == agents:
        return  # one line per agent: no drop expected (at most as many answers as agents)
    rate = human / dialled
    excess = independent_excess(lines, rate, agents)
    assert excess <= cap * lines * rate + 1e-9  # this round's own drops
    assert (drops + excess) / (human + lines * rate) <= cap + 1e-9  # the rolling 30 days
