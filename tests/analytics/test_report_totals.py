"""The total rows of `service-levels` and `agents`: counts summed and every rate recomputed from
the summed counts (a total service level is answered-within-target over all offered, not an
average of the rows' percentages), worked out by hand, on DuckDB, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.analytics.conftest import Lab, day
from tests.analytics.test_service_levels import call
from tests.builders import interaction


def emails(who: str, reply_after: timedelta | None) -> list[dict]:
    asked = day(3, 5, 9)
    sent = [
        interaction(
            type="email_received", channel="email", at=asked, external_id=who, queue="support"
        )
    ]
    if reply_after is not None:
        sent.append(
            interaction(
                type="email_sent",
                channel="email",
                direction="outbound",
                at=asked + reply_after,
                external_id=who,
                agent="ann",
                queue="support",
            )
        )
    return sent


CONTACTS = [
    # phone/support, 20 s target: a (10 s) in target, b (40 s) late, c abandoned -> 1 of 3
    call("a", 10, agent="ann", talk=300, fcr=True),
    call("b", 40, agent="bob", talk=100, fcr=False),
    call("c", 50, agent=None),
    # phone/sales: a single call in target -> 1 of 1 (100%)
    call("d", 5, agent="bob", talk=200, queue="sales", fcr=True),
    # email/support, 24 h target: e in 2 h, f in 30 h (late), g unanswered -> 1 of 3
    *emails("e", timedelta(hours=2)),
    *emails("f", timedelta(hours=30)),
    *emails("g", None),
]


def test_the_service_level_total_is_answered_in_target_over_all_offered(lab: Lab) -> None:
    lab.ingest(CONTACTS)
    rows = lab.rows("service-levels")
    assert [(r["channel"], r["queue"]) for r in rows] == [
        ("email", "support"),
        ("phone", "sales"),
        ("phone", "support"),
        ("(total)", ""),
    ]
    total = rows[-1]
    # offered 3 + 1 + 3 = 7; answered 2 + 1 + 2 = 5 (e and f replied); abandoned 1 (c)
    assert (total["offered"], total["answered"], total["abandoned"]) == (7, 5, 1)
    assert total["answer_rate"] == pytest.approx(5 / 7)
    # in target: a, d, e = 3 of 7 = 42.9%; the rows' percentages 33.3%, 100%, 33.3% average 55.6%
    assert total["service_level"] == pytest.approx(3 / 7)
    # waits of answered calls a 10, b 40, d 5 -> 55 / 3; talk 300 + 100 + 200 -> 200 s
    assert total["asa_s"] == pytest.approx(55 / 3) and total["aht_s"] == pytest.approx(200)
    assert total["fcr_rate"] == pytest.approx(2 / 3)  # a yes, b no, d yes
    # the responses 2 h and 30 h: nearest-rank median is the smaller, 7,200 s
    assert total["response_p50_s"] == pytest.approx(7200)


def test_the_agents_total_averages_over_contacts_not_over_agents(lab: Lab) -> None:
    lab.ingest(CONTACTS)
    rows = {r["agent"]: r for r in lab.rows("agents")}
    assert list(rows)[-1] == "(total)"
    ann, bob, total = rows["ann"], rows["bob"], rows["(total)"]
    assert (ann["contacts"], ann["replies"], bob["contacts"]) == (1, 2, 2)
    assert (total["contacts"], total["replies"]) == (3, 2)
    # handle time 300 (ann) + 100 + 200 (bob) over 3 contacts = 200 s; the mean of the agents'
    # figures (300 and 150) would be 225 s
    assert total["aht_s"] == pytest.approx(200)
    assert total["fcr_rate"] == pytest.approx(2 / 3)  # not (100% + 50%) / 2


def test_one_row_has_no_total(lab: Lab) -> None:
    lab.ingest([call("a", 10, agent="ann", talk=300)])
    assert [r["channel"] for r in lab.rows("service-levels")] == ["phone"]
    assert [r["agent"] for r in lab.rows("agents")] == ["ann"]
