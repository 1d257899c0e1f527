"""The segment language (domain.segments): what each phrase means, its JSON form both ways,
and errors naming the segment, the line and the column (Lark's), worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.domain.segments import (
    AllOf,
    AnyOf,
    Behaviour,
    Consent,
    EventFilter,
    Not,
    RuleError,
    Score,
    Stage,
    Trait,
    Window,
    crossings,
    define,
    next_crossing,
    parse_rule,
    period_start,
    rule_from_json,
    rule_to_json,
)

DAY = 86_400.0


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "purchased >= 2 times in last 90 days",
            Behaviour(EventFilter("purchase"), ">=", 2, Window(seconds=90 * DAY)),
        ),
        (
            "called support >= 3 times in 30 days",
            Behaviour(EventFilter("call", "inbound", "support"), ">=", 3, Window(30 * DAY)),
        ),
        (
            "opened no email in 60 days",
            Behaviour(EventFilter("email_opened"), "=", 0, Window(seconds=60 * DAY)),
        ),
        ('bought category "X"', Behaviour(EventFilter("purchase", category="X"))),
        (
            "waited over 5 minutes on a call this month",
            Behaviour(EventFilter("call", wait_over_s=300.0), window=Window(period="month")),
        ),
        (
            "called 3+ times in the last 2 weeks",
            Behaviour(EventFilter("call", "inbound"), ">=", 3, Window(14 * DAY)),
        ),
        (
            'did "cart_abandoned" at most 1 times ever',
            Behaviour(EventFilter("cart_abandoned"), "<=", 1),
        ),
        ("score.lead > 50", Score("lead", ">", 50.0)),
        ("consent sms", Consent("sms")),
        ('unsubscribed email "newsletter"', Consent("email", "newsletter", "withdrawn")),
        ("stage in (at_risk, churned)", Stage(("at_risk", "churned"))),
        ('country in ("FR", BE)', Trait("country", "in", ("FR", "BE"))),
        (
            'AGE >= 30 and not (stage = loyalty or consent email) and gender = "f"',
            AllOf(
                (
                    Trait("age", ">=", (30.0,)),
                    Not(AnyOf((Stage(("loyalty",)), Consent("email")))),
                    Trait("gender", "=", ("f",)),
                )
            ),
        ),
        (
            "age > 1 or age > 2 or age > 3  # a comment",
            AnyOf(tuple(Trait("age", ">", (float(n),)) for n in (1, 2, 3))),
        ),
    ],
)
def test_each_phrase_means_what_the_docs_say(text: str, tree: object) -> None:
    assert parse_rule(text) == tree
    assert rule_from_json(rule_to_json(parse_rule(text))) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age >> 3", "segment 'vip', line 1, column 6: unexpected '>'"),
        (
            "purchased >= 2 times in last days",
            "line 1, column 30: unexpected 'days'; expected a number",
        ),
        (
            "age > 30 and\n  (stage = x",
            "line 2, column 12: unexpected the end of the rule; expected ')'",
        ),
        ("purchased @", "line 1, column 11: unexpected character '@'"),
        ("purchased in last 3 months", "line 1, column 21: a window of months varies in length"),
        ("purchased >= 2.5 times", "line 1, column 14: a count is a whole number"),
        ('gender > "f"', "segment 'vip': gender is text: compare it with =, != or in"),
        ('age = "x"', "segment 'vip': age is a number, not 'x'"),
        ("country = 33", "segment 'vip': country is text: write \"33\""),
        ("", "segment 'vip': the rule is empty"),
    ],
)
def test_errors_name_the_rule_line_and_column(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text, name="vip")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"and": []}, "$.and: expected a non-empty list"),
        ({"or": [{"trait": "age", "op": "~", "value": 3}]}, "$.or[0].op: expected one of"),
        ({"event": {"type": "purchase", "colour": "red"}}, "$.event: unknown field 'colour'"),
        ({"event": {"type": "purchase"}, "window": {"last_weeks": 2}}, "$.window: expected"),
        ({"stage": []}, "$.stage: expected a non-empty list"),
        ([], "$: expected an object"),
        ({"nonsense": 1}, "$: expected one of: and, or, not"),
    ],
)
def test_the_json_form_names_the_path_of_a_bad_part(document: object, message: str) -> None:
    with pytest.raises(RuleError, match="segment 'j'") as caught:
        rule_from_json(document, name="j")
    assert message in str(caught.value)


def test_a_definition_keeps_the_text_and_the_json_form_gives_the_same_tree() -> None:
    text = define(" vip ", "purchased >= 2 times in last 90 days")
    assert (text.name, text.text) == ("vip", "purchased >= 2 times in last 90 days")
    as_json = define(
        "vip", {"event": {"type": "purchase"}, "count": 2, "window": {"last_days": 90}}
    )
    assert as_json.rule == text.rule and as_json.text is None


def test_windows_roll_at_their_edges() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    week = Window(seconds=7 * DAY)
    before = now - timedelta(days=2)
    # events that left: occurred in (before - 7 d, now - 7 d]; that entered: after `before`
    assert crossings(week, before, now) == [
        (before, now),
        (before - timedelta(7), now - timedelta(7)),
    ]
    assert next_crossing(week, now, now - timedelta(days=3)) == now + timedelta(days=4)
    month = Window(period="month")
    assert period_start("month", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert next_crossing(month, now, None) == datetime(2026, 4, 1, tzinfo=UTC)
    assert period_start("week", now) == datetime(2026, 3, 30, tzinfo=UTC)  # a Monday
    april = datetime(2026, 4, 2, tzinfo=UTC)
    assert crossings(month, now, april)[1] == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert crossings(Window(), now, april) == [(now, april)]
