"""The score fold by hand: points, caps per rule and per rolling period, decay with a half-life,
inactivity, threshold crossings; and score files' errors naming the rule and the problem."""

from __future__ import annotations

import math
from typing import Any

import pytest

from touchpoint.domain.scores import (
    DAY_S,
    FELL,
    ROSE,
    ScoreEvent,
    ScoreModelError,
    decayed,
    fold_score,
    parse_score_models,
)
from touchpoint.projections.scores import default_models_text

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def day(n: float) -> float:
    return T0 + n * DAY_S


def event(
    n: float,
    type_: str = "page_view",
    *,
    id_: str | None = None,
    channel: str = "web",
    direction: str = "inbound",
    **properties: Any,
) -> ScoreEvent:
    return ScoreEvent(
        at=day(n),
        id=id_ or f"e{n:06.2f}{type_}",
        type=type_,
        channel=channel,
        direction=direction,
        fields={"direction": direction},
        properties=properties,
    )


def model(body: str, head: str = "") -> Any:
    (parsed,) = parse_score_models(f'[[model]]\nname = "lead"\n{head}\n{body}')
    return parsed


def test_a_rule_cap_limits_what_it_gives_in_all() -> None:
    m = model('[[model.rule]]\nname = "views"\ntype = "page_view"\npoints = 2\ncap = 5')
    result = fold_score(m, [event(0), event(1), event(2), event(3)])
    # 2 + 2 + 1 (the cap's rest) + nothing
    assert [a.points for a in result.awards] == [2.0, 2.0, 1.0]
    assert result.points == 5.0


def test_a_period_cap_counts_a_rolling_window() -> None:
    m = model(
        '[[model.rule]]\nname = "views"\ntype = "page_view"\npoints = 3\n'
        "period_cap = 5\nperiod_days = 7"
    )
    # day 0: 3; day 1: 2 (5 in the window); day 5: 0 (still 5 in (day -2, day 5]);
    # day 7.5: the window (day 0.5, day 7.5] holds day 1's 2 -> 3 more
    result = fold_score(m, [event(0), event(1), event(5), event(7.5)])
    assert [(a.at, a.points) for a in result.awards] == [
        (day(0), 3.0),
        (day(1), 2.0),
        (day(7.5), 3.0),
    ]
    assert result.points == 8.0


def test_conditions_on_properties_and_fields_and_channels() -> None:
    m = model(
        '[[model.rule]]\nname = "pricing"\ntype = "page_view"\nchannel = "web"\n'
        'where = { path = "/pricing" }\npoints = 5\n'
        '[[model.rule]]\nname = "bad_survey"\ntype = "survey_response"\n'
        "where = { score = { lte = 2 } }\npoints = -10\n"
        '[[model.rule]]\nname = "inbound_call"\ntype = "call"\n'
        'where = { direction = "inbound" }\npoints = 4'
    )
    events = [
        event(0, path="/pricing"),
        event(1, path="/blog"),
        event(2, channel="mobile_app", path="/pricing"),
        event(3, "survey_response", score=2),
        event(4, "survey_response", score=9),
        event(5, "call", direction="outbound"),
        event(6, "call"),
    ]
    awards = fold_score(m, events).awards
    assert [(a.rule, a.points) for a in awards] == [
        ("pricing", 5.0),
        ("bad_survey", -10.0),
        ("inbound_call", 4.0),
    ]


def test_decay_halves_the_score_every_half_life() -> None:
    m = model(
        '[[model.rule]]\nname = "buy"\ntype = "purchase"\npoints = 40',
        "half_life_days = 10",
    )
    result = fold_score(m, [event(0, "purchase"), event(10, "purchase")])
    # day 10: 40 decayed one half-life is 20, plus 40 -> 60 held at day 10
    assert result.reference_at == day(10)
    assert result.points == pytest.approx(60.0)
    # day 20: 60 / 2 = 30; day 15: 60 x 2^-0.5 = 42.4264
    assert decayed(result.points, result.reference_at, day(20), m.half_life_s) == pytest.approx(
        30.0
    )
    assert decayed(result.points, result.reference_at, day(15), m.half_life_s) == pytest.approx(
        42.42640687
    )


def test_inactivity_lowers_the_score_once_per_quiet_spell() -> None:
    m = model(
        '[[model.rule]]\nname = "visit"\ntype = "page_view"\npoints = 5\n'
        '[[model.inactivity]]\nname = "quiet"\ndays = 30\npoints = -10'
    )
    events = [event(0), event(40, "email_sent", direction="outbound")]
    early = fold_score(m, events[:1], clock=day(29))
    assert [a.rule for a in early.awards] == ["visit"] and early.due_at == day(30)
    # an outbound email at day 40 is not the customer's activity: the spell runs on, fired once
    late = fold_score(m, events, clock=day(59))
    assert [(a.rule, a.at, a.points) for a in late.awards] == [
        ("visit", day(0), 5.0),
        ("quiet", day(30), -10.0),
    ]
    assert late.points == -5.0 and late.due_at is None
    # a visit at day 50 starts a new spell: quiet again at day 80
    again = fold_score(m, [*events, event(50)], clock=day(81))
    assert [(a.rule, a.at) for a in again.awards][-2:] == [("visit", day(50)), ("quiet", day(80))]


def test_inactivity_between_events_applies_without_a_tick() -> None:
    m = model(
        '[[model.rule]]\nname = "visit"\ntype = "page_view"\npoints = 5\n'
        '[[model.inactivity]]\nname = "quiet"\ndays = 30\npoints = -10'
    )
    result = fold_score(m, [event(0), event(100)])
    assert [(a.rule, a.at) for a in result.awards] == [
        ("visit", day(0)),
        ("quiet", day(30)),
        ("visit", day(100)),
    ]


def test_crossings_by_award_and_by_decay() -> None:
    m = model(
        '[[model.rule]]\nname = "buy"\ntype = "purchase"\npoints = 40\n'
        '[[model.rule]]\nname = "unsubscribe"\ntype = "unsubscribe"\npoints = -30',
        "half_life_days = 10\nthresholds = [25]",
    )
    result = fold_score(m, [event(0, "purchase", id_="p")], clock=day(30))
    # 40 decays to 25 at 10 x log2(40 / 25) = 6.7807 days
    assert [(c.kind, c.threshold, c.cause) for c in result.crossings] == [
        (ROSE, 25.0, "p"),
        (FELL, 25.0, None),
    ]
    assert result.crossings[1].at == pytest.approx(day(10 * math.log2(40 / 25)))
    # before the clock reaches it, the fall is what falls due next
    soon = fold_score(m, [event(0, "purchase", id_="p")], clock=day(1))
    assert len(soon.crossings) == 1 and soon.due_at == pytest.approx(day(6.78071905))
    # an unsubscribe takes it below at once: 40 - 30 = 10
    both = fold_score(m, [event(0, "purchase", id_="p"), event(1, "unsubscribe", id_="u")])
    assert [(c.kind, c.cause) for c in both.crossings] == [(ROSE, "p"), (FELL, "u")]


def test_the_shipped_file_parses_with_two_models() -> None:
    names = [m.name for m in parse_score_models(default_models_text())]
    assert names == ["lead", "engagement"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[model]\n", "not valid TOML"),
        ("", "no [[model]] table"),
        ('[[model]]\nname = "Lead"\n', "needs a name"),
        (
            '[[model]]\nname = "lead"\n\n[[model.rule]]\nname = "views"\ntype = "page_view"\n'
            "points = 1\nbogus = 2\n",
            "model 'lead', rule 'views' (line 5): unknown key 'bogus'",
        ),
        (
            '[[model]]\nname = "lead"\n[[model.rule]]\nname = "views"\npoints = 0\n',
            "rule 'views' (line 4): points must be a number other than 0",
        ),
        (
            '[[model]]\nname = "lead"\n[[model.rule]]\nname = "views"\npoints = 1\n'
            "period_cap = 3\n",
            "period_cap and period_days go together",
        ),
        (
            '[[model]]\nname = "lead"\n[[model.rule]]\nname = "v"\npoints = 1\n'
            "where = { score = { around = 3 } }\n",
            "rule 'v' (line 4): unknown operator 'around'",
        ),
        (
            '[[model]]\nname = "lead"\nhalf_life_days = -3\n[[model.rule]]\nname = "v"\n'
            "points = 1\n",
            "model 'lead' (line 2): half_life_days must be a positive number",
        ),
        (
            '[[model]]\nname = "lead"\n[[model.inactivity]]\nname = "quiet"\npoints = -1\n',
            "rule 'quiet' (line 4): days (of no activity) must be a positive number",
        ),
        (
            '[[model]]\nname = "lead"\n[[model.rule]]\nname = "v"\npoints = 1\n'
            '[[model.rule]]\nname = "v"\npoints = 2\n',
            "rule 'v' (line 4) is defined twice",
        ),
    ],
)
def test_a_malformed_file_gets_one_error_naming_the_rule(text: str, message: str) -> None:
    with pytest.raises(ScoreModelError) as caught:
        parse_score_models(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).strip() or "TOML" in str(caught.value)
