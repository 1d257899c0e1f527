"""Contact-center service levels on hand-built contacts, worked out by hand, on DuckDB, SQLite and
PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction


def call(who: str, wait: int, *, agent: str | None, talk: int = 0, **extra: Any) -> dict:
    properties: dict[str, Any] = {"wait_s": wait}
    if "fcr" in extra:
        properties["first_contact_resolution"] = extra.pop("fcr")
    return interaction(
        type=extra.pop("type", "call"),
        channel=extra.pop("channel", "phone"),
        at=extra.pop("at", day(3, 2)),
        external_id=who,
        agent=agent,
        queue=extra.pop("queue", "support"),
        duration_s=talk,
        outcome="answered" if agent else "abandoned",
        properties=properties,
        **extra,
    )


def test_service_levels_per_channel_and_queue(lab: Lab) -> None:
    asked = day(3, 5, 9)
    lab.ingest(
        [
            call("a", 10, agent="ann", talk=300, fcr=True),
            call("b", 40, agent="bob", talk=100, fcr=False),
            call("c", 50, agent=None, talk=50),  # hung up after 50 s
            call(
                "d", 30, agent="cy", talk=600, fcr=True, type="chat", channel="chat", queue="sales"
            ),
            interaction(
                type="email_received", channel="email", at=asked, external_id="e", queue="support"
            ),
            interaction(
                type="email_sent",
                channel="email",
                direction="outbound",
                at=asked + timedelta(hours=2),
                external_id="e",
                agent="ann",
                queue="support",
            ),
            interaction(
                type="email_received", channel="email", at=asked, external_id="f", queue="support"
            ),
            interaction(
                type="email_received", channel="email", at=asked, external_id="h", queue="support"
            ),
            call("g", 5, agent="ann", talk=60, at=day(7, 1)),  # after "now" (June 1): not counted
        ]
    )
    rows = {(r["channel"], r["queue"]): r for r in lab.rows("service-levels")}
    assert set(rows) == {
        ("phone", "support"),
        ("chat", "sales"),
        ("email", "support"),
        ("(total)", ""),
    }
    phone = rows[("phone", "support")]
    assert (phone["offered"], phone["answered"], phone["abandoned"]) == (3, 2, 1)
    assert phone["answer_rate"] == pytest.approx(2 / 3)
    assert phone["service_level"] == pytest.approx(1 / 3)  # only a's 10 s wait is within 20 s
    assert phone["asa_s"] == pytest.approx(25) and phone["aht_s"] == pytest.approx(200)
    assert phone["fcr_rate"] == pytest.approx(0.5) and phone["target"] == "20 s"
    chat = rows[("chat", "sales")]
    assert (chat["offered"], chat["answered"], chat["service_level"]) == (1, 1, 1.0)  # 30 s ≤ 60 s
    email = rows[("email", "support")]
    assert (email["offered"], email["answered"], email["abandoned"]) == (3, 1, None)
    assert email["service_level"] == pytest.approx(1 / 3) and email["target"] == "24 h"
    assert email["response_p50_s"] == pytest.approx(7200)  # over answered messages only


def test_service_levels_for_a_period(lab: Lab) -> None:
    lab.ingest([call("a", 10, agent="ann", talk=300), call("b", 90, agent="bob", at=day(4, 2))])
    (march,) = lab.rows("service-levels", start="2026-03-01", end="2026-04-01")
    assert (march["offered"], march["service_level"]) == (1, 1.0)
