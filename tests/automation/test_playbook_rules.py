"""Playbook files and the pure rules a run follows: a file refused as a whole with each problem's
line, waits in the customer's time zone (across a DST change), re-entry, consent right before a
send, and the webhook signature checked by an independent HMAC."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from touchpoint.automation.playbooks import SHIPPED_DIR, read_playbook
from touchpoint.automation.webhook import signature
from touchpoint.domain import playbooks as rules
from touchpoint.domain.consent import ConsentChange
from touchpoint.errors import ValidationError

BAD = """name = "Bad Name"
title = "broken"

[trigger]
interaction = "cart_gone"
channel = "pigeon"

[[steps]]
wait = "1h"

[[steps]]
wait = "soon"

[[steps]]
send_email = { template = "x" }
"""


def test_a_malformed_playbook_is_refused_as_a_whole_naming_each_line() -> None:
    with pytest.raises(ValidationError) as caught:
        read_playbook(Path("bad.toml"), BAD)
    assert str(caught.value).split("; ") == [
        "bad.toml:1: name: must be lower-case letters, digits and _ (a letter first)",
        "bad.toml:5: trigger.interaction: unknown interaction type 'cart_gone'",
        "bad.toml:6: trigger.channel: unknown channel 'pigeon'",
        "bad.toml:12: steps[1].wait: must be a span such as 30m, 1h, 2d",
        "bad.toml:15: steps[2].send_email.subject: missing (text)",
    ]


def test_a_file_that_is_not_toml_names_its_line() -> None:
    with pytest.raises(ValidationError, match=r"bad.toml: not valid TOML: .*line 2"):
        read_playbook(Path("bad.toml"), 'name = "x"\n[trigger\n')


def test_the_shipped_playbooks_are_valid() -> None:
    names = {read_playbook(p).name for p in sorted(SHIPPED_DIR.glob("*.toml"))}
    assert names == {"abandoned_cart", "birthday", "first_purchase_thanks", "win_back"}


def _until(text: str) -> rules.Step:
    return rules.parse_playbook(
        {
            "name": "t",
            "trigger": {"interaction": "purchase"},
            "steps": [{"wait_until": text}],
        }
    ).steps[0]


def test_wait_until_is_the_next_local_time_of_day() -> None:
    step = _until("09:00")
    zone = rules.time_zone({"timezone": "America/New_York"})
    # 2026-06-01 15:00 UTC is 11:00 in New York (EDT, UTC-4): the next 09:00 is tomorrow's,
    # 13:00 UTC.
    start = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    assert rules.wait_ends(step, start, zone) == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)
    # 2026-06-01 12:00 UTC is 08:00 there: 09:00 the same day, 13:00 UTC.
    early = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert rules.wait_ends(step, early, zone) == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


def test_wait_until_across_the_spring_change_keeps_the_local_hour() -> None:
    # In 2026 New York moves to EDT on Sunday 8 March. From Saturday 7 March 20:00 EST (01:00
    # UTC on the 8th) the next 09:00 is Sunday 09:00 EDT = 13:00 UTC (not 14:00, as EST gives).
    step = _until("09:00")
    zone = rules.time_zone({"timezone": "America/New_York"})
    start = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    assert rules.wait_ends(step, start, zone) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_an_unknown_time_zone_is_utc() -> None:
    assert rules.time_zone({"timezone": "Mars/Olympus"}).key == "UTC"


def _playbook(reentry: str) -> rules.Playbook:
    return rules.parse_playbook(
        {
            "name": "t",
            "reentry": reentry,
            "trigger": {"interaction": "purchase"},
            "steps": [{"wait": "1h"}],
        }
    )


def test_reentry_rules() -> None:
    at = datetime(2026, 5, 10, tzinfo=UTC)
    assert rules.may_enter(_playbook("once"), [], at) is None
    assert rules.may_enter(_playbook("once"), [at - timedelta(days=400)], at) is not None
    weekly = _playbook("every 7d")
    assert rules.may_enter(weekly, [at - timedelta(days=6, hours=23)], at) is not None
    assert rules.may_enter(weekly, [at - timedelta(days=7)], at) is None
    per = _playbook("once_per_occurrence")
    assert rules.may_enter(per, [at - timedelta(minutes=1)], at) is None
    assert (
        rules.occurrence(per, "evt-1") == "evt-1"
        and rules.occurrence(_playbook("once"), "e") == "once"
    )


def _change(status: str, minutes: int, purpose: str = "marketing") -> ConsentChange:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return ConsentChange("cus_1", "email", purpose, status, f"e{minutes}", at, at)


def test_marketing_consent_opt_in_and_opt_out() -> None:
    granted = {("email", "marketing"): _change("granted", 0)}
    withdrawn = {("email", "marketing"): _change("withdrawn", 5)}
    assert rules.consent_refusal({}, "email", "marketing", rules.OPT_IN) == rules.NO_CONSENT
    assert rules.consent_refusal({}, "email", "marketing", rules.OPT_OUT) is None
    assert rules.consent_refusal(granted, "email", "marketing", rules.OPT_IN) is None
    for rule in rules.CONSENT_RULES:
        assert rules.consent_refusal(withdrawn, "email", "marketing", rule) == rules.UNSUBSCRIBED
    # Withdrawn from the newsletter leaves marketing as it was.
    other = {("email", "newsletter"): _change("withdrawn", 5)}
    assert rules.consent_refusal(other | granted, "email", "marketing", rules.OPT_IN) is None


def test_the_webhook_signature_is_hmac_sha256_of_t_dot_body() -> None:
    body = b'{"delivery_id":"whd_1"}'
    expected = hmac.new(b"s3cret", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1767225600, body) == f"t=1767225600,v1={expected}"
