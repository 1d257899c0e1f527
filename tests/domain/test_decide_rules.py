"""Next best action rules (domain/decisions.py): each condition by hand-built visitors, the
first rule that holds wins, personal rules kept from callers that may not learn a name, and the
rules file's errors naming the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.domain.decisions import (
    DecisionRulesError,
    PageView,
    QueueNow,
    Visitor,
    decide,
    page_path,
    parse_rules,
)

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
RULES = parse_rules(
    """
long_wait_s = 120

[[rule]]
name = "retention"
action = "retention_offer"
page = "/cancel*"
stages = ["at_risk"]
message = "Stay with us"

[[rule]]
name = "pricing_callback"
action = "offer_callback"
page = "/pricing"
views = 3
within = "10m"
queue = "sales"
queue_state = "unavailable"

[[rule]]
name = "pricing_chat"
action = "offer_chat"
page = "/pricing"
views = 3
within = "10m"
queue = "sales"
queue_state = "available"

[[rule]]
name = "checkout"
action = "offer_chat"
page = "/checkout"
dwell_s = 60

[[rule]]
name = "greet"
action = "greet"
known = true
message = "Welcome back, {first_name}!"
""",
    "rules.toml",
)
OPEN = {"sales": QueueNow(open=True, estimated_wait_s=30.0)}


def ago(minutes: float, path: str = "/pricing") -> PageView:
    return PageView(path, NOW - timedelta(minutes=minutes))


def visitor(**fields: object) -> Visitor:
    return Visitor(now=NOW, **fields)  # type: ignore[arg-type]


def test_third_pricing_view_in_ten_minutes_offers_chat_when_the_queue_is_open() -> None:
    v = visitor(
        page="https://shop.example.com/pricing?plan=pro",
        views=[ago(0), ago(4), ago(9)],
        queues=OPEN,
    )
    found = decide(RULES, v)
    assert (found.action, found.rule) == ("offer_chat", "pricing_chat")
    assert found.reasons == (
        "on /pricing (matches /pricing)",
        "3 views of /pricing within 10m",
        "queue sales available",
    )


def test_a_view_older_than_the_window_does_not_count() -> None:
    v = visitor(page="/pricing", views=[ago(0), ago(4), ago(11)], queues=OPEN)
    assert decide(RULES, v).action == "none"


def test_the_current_page_counts_when_its_view_is_not_recorded_yet() -> None:
    v = visitor(page="/pricing", views=[ago(3), ago(6)], queues=OPEN)
    assert decide(RULES, v).rule == "pricing_chat"


@pytest.mark.parametrize(
    "queue",
    [
        QueueNow(open=False, estimated_wait_s=0.0),  # outside business hours
        QueueNow(open=True, estimated_wait_s=121.0),  # just past long_wait_s
        None,  # no such queue: no one would answer
    ],
)
def test_a_closed_or_slow_queue_offers_a_callback_instead(queue: QueueNow | None) -> None:
    queues = {"sales": queue} if queue else {}
    v = visitor(page="/pricing", views=[ago(0), ago(1), ago(2)], queues=queues)
    assert decide(RULES, v).rule == "pricing_callback"


def test_a_wait_of_exactly_long_wait_s_is_still_available() -> None:
    queues = {"sales": QueueNow(open=True, estimated_wait_s=120.0)}
    v = visitor(page="/pricing", views=[ago(0), ago(1), ago(2)], queues=queues)
    assert decide(RULES, v).rule == "pricing_chat"


def test_at_risk_customer_on_the_cancellation_page_gets_the_retention_offer_first() -> None:
    v = visitor(page="/cancel/confirm", stage="at_risk", first_name="Ann", customer_id="cus_1")
    found = decide(RULES, v)
    assert (found.rule, found.message) == ("retention", "Stay with us")
    loyal = visitor(page="/cancel/confirm", stage="loyalty", first_name="Ann")
    assert decide(RULES, loyal).rule == "greet"  # not at risk: the next rule that holds


def test_dwell_counts_from_the_last_view_of_the_current_page() -> None:
    long_ago = visitor(page="/checkout", views=[ago(1.5, "/checkout"), ago(5, "/checkout")])
    just_now = visitor(page="/checkout", views=[ago(0.5, "/checkout"), ago(5, "/checkout")])
    assert decide(RULES, long_ago).reasons == (
        "on /checkout (matches /checkout)",
        "on this page for 90 s (at least 60)",
    )
    assert decide(RULES, just_now).action == "none"


def test_greeting_names_the_customer_but_never_to_a_caller_that_may_not_learn_it() -> None:
    v = visitor(page="/", first_name="Ann")
    assert decide(RULES, v).message == "Welcome back, Ann!"
    assert decide(RULES, v, personal=False).action == "none"
    assert decide(RULES, visitor(page="/")).action == "none"  # no name: not a known customer


@pytest.mark.parametrize(
    ("page", "path"),
    [
        ("https://shop.example.com/pricing?plan=pro#faq", "/pricing"),
        ("https://shop.example.com", "/"),
        ("/checkout?step=2", "/checkout"),
        ("", None),
    ],
)
def test_page_path(page: str, path: str | None) -> None:
    assert page_path(page) == path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '\n\n[[rule]]\nname = "a"\naction = "dance"\n',
            "r.toml: line 3: rule 'a' `action` must be one of",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\n\n[[rule]]\naction = "greet"\n',
            "r.toml: line 5: needs a `name`",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\nwithin = "ten minutes"\n',
            "r.toml: line 1: rule 'a' `within` must be a duration",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\nviews = 0\n',
            "r.toml: line 1: rule 'a' `views` must be a whole number",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\nqueue_state = "available"\n',
            "r.toml: line 1: rule 'a' `queue_state` needs the `queue`",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\ncolour = "red"\n',
            "r.toml: line 1: rule 'a' unknown key(s) colour",
        ),
        (
            '[[rule]]\nname = "a"\naction = "greet"\n[[rule]]\nname = "a"\naction = "greet"\n',
            "r.toml: line 4: rule 'a' named twice",
        ),
        ("[rules]\n", "r.toml: unknown top-level key(s) rules"),
    ],
)
def test_a_bad_rules_file_names_the_line(text: str, message: str) -> None:
    with pytest.raises(DecisionRulesError) as caught:
        parse_rules(text, "r.toml")
    assert str(caught.value).startswith(message)


def test_rule_effects_count_each_customer_once_per_rule_and_compare_with_those_not_shown() -> None:
    from touchpoint.domain.decisions import NOT_SHOWN, RuleEffect, rule_effects

    day = timedelta(days=1)
    shown = [
        ("ann", "pricing_chat", NOW),
        ("ann", "pricing_chat", NOW + day),  # shown again: counted once, from the first
        ("bob", "pricing_chat", NOW),
        ("cat", "retention", NOW),
    ]
    visited = {"ann": NOW - day, "bob": NOW, "cat": NOW, "dan": NOW, "eve": NOW}
    purchases = {
        "ann": [NOW + 2 * day],  # within 7 days of the first showing: converted
        "bob": [NOW - day, NOW + 8 * day],  # before, and too late: not converted
        "cat": [NOW + 7 * day],  # exactly 7 days: converted
        "dan": [NOW + day],  # shown nothing, bought
    }
    assert rule_effects(shown, visited, purchases, 7 * day) == [
        RuleEffect("pricing_chat", 2, 1),
        RuleEffect("retention", 1, 1),
        RuleEffect(NOT_SHOWN, 2, 1),  # dan and eve
    ]
