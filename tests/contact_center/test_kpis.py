"""The `contact-center` report on a hand-built log, every figure worked out by hand below, on
DuckDB (the columnar copy), SQLite and PostgreSQL alike.

The configuration gives support a 90/30 target (30 s threshold) and sales 80/10 (10 s); the
queue "other" is not configured (the default 20 s). Teams: ana alpha, bo and cy beta.

  who queue   channel wait   agent talk  outcome              extra
  a   support phone    10    ana   300   answered             fcr true, 1 transfer
  b   support phone    40    bo    100   answered             fcr false
  c   support phone     3    -       -   abandoned            (short)
  d   support phone    25    -       -   abandoned
  e   support phone    12    -       -   callback_requested   bo calls back (200 s): kept
  f   support phone    60    -       -   callback_requested   never called back
  g   sales   chat     10    cy    600   answered             2 transfers
  h   sales   phone    12    ana    60   answered
  i   sales   phone   4.5    -       -   abandoned            (short)
  j   other   phone    20    ana    40   answered
  k   support phone     5    ana    90   answered             in April: outside March
  plus an outbound email (not a live contact).
"""

from __future__ import annotations

from itertools import product
from typing import Any

import ibis
import pyarrow as pa
import pytest

from tests.analytics.conftest import Lab, day
from tests.analytics.conftest import lab as lab  # noqa: F401 (the three-engine fixture)
from tests.builders import interaction
from touchpoint.analytics import contact_center as kpis
from touchpoint.domain import contact_center as cc
from touchpoint.services.contact_center import apply_config

CONFIG = """
[queues.support]
channels = ["phone", "chat"]
target = "90/30"

[queues.sales]
channels = ["phone", "chat"]
target = "80/10"

[agents.ana]
team = "alpha"
queues = ["support", "sales"]

[agents.bo]
team = "beta"
queues = ["support"]

[agents.cy]
team = "beta"
queues = ["sales"]
"""

MARCH = {"start": "2026-03-01", "end": "2026-04-01"}


def contact(
    who: str,
    queue: str,
    wait: float,
    *,
    agent: str | None = None,
    talk: float | None = None,
    outcome: str = "answered",
    channel: str = "phone",
    at: Any = None,
    **properties: Any,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"agent": agent, "duration_s": talk} if agent else {}
    return interaction(
        id=f"cc-{who}",
        type="chat" if channel == "chat" else "call",
        channel=channel,
        direction="inbound",
        at=at or day(3, 2),
        external_id=who,
        queue=queue,
        outcome=outcome,
        properties={"wait_s": wait, **properties},
        **fields,
    )


LOG = [
    contact("a", "support", 10, agent="ana", talk=300, first_contact_resolution=True, transfers=1),
    contact("b", "support", 40, agent="bo", talk=100, first_contact_resolution=False),
    contact("c", "support", 3, outcome="abandoned"),
    contact("d", "support", 25, outcome="abandoned"),
    contact("e", "support", 12, outcome="callback_requested"),
    interaction(
        id="cc-e-callback",
        type="call",
        channel="phone",
        direction="outbound",
        at=day(3, 2, 13),
        external_id="e",
        queue="support",
        agent="bo",
        duration_s=200,
        outcome="answered",
        properties={"callback": True},
    ),
    contact("f", "support", 60, outcome="callback_requested"),
    contact("g", "sales", 10, agent="cy", talk=600, channel="chat", transfers=2),
    contact("h", "sales", 12, agent="ana", talk=60),
    contact("i", "sales", 4.5, outcome="abandoned"),
    contact("j", "other", 20, agent="ana", talk=40),
    contact("k", "support", 5, agent="ana", talk=90, at=day(4, 2)),
    interaction(
        type="email_sent", channel="email", direction="outbound", at=day(3, 3), external_id="a"
    ),
]


@pytest.fixture
def center(lab: Lab) -> Lab:  # noqa: F811
    apply_config(lab.tp, text=CONFIG, actor="test")
    lab.ingest(LOG)
    return lab


def rows(lab: Lab, **request: Any) -> dict[str, dict[str, Any]]:
    found = lab.rows("contact-center", **(MARCH | request))
    column = request.get("by") or "queue"
    return {r[column]: r for r in found}


def test_kpis_per_queue_against_each_queues_threshold(center: Lab) -> None:
    by_queue = rows(center)
    assert set(by_queue) == {"support", "sales", "other", "(total)"}
    support = by_queue["support"]
    # 6 offered; a, b answered (a within 30 s); c, d abandoned (both within 30 s, c short);
    # e, f asked for a callback (neither answered nor abandoned), e's was kept.
    assert (support["offered"], support["answered"], support["abandoned"]) == (6, 2, 2)
    assert support["short_abandoned"] == 1
    assert support["sl"] == pytest.approx(1 / 2)  # a / (a, b)
    assert support["sl2"] == pytest.approx(3 / 4)  # (a + c + d) / (a, b, c, d)
    assert support["threshold_s"] == 30
    assert support["asa_s"] == pytest.approx(25)  # (10 + 40) / 2
    assert support["aht_s"] == pytest.approx(200)  # (300 + 100) / 2; not the call back
    assert (support["transfers"], support["callbacks"], support["callbacks_kept"]) == (
        1,
        2,
        1,
    )
    assert support["fcr_rate"] == pytest.approx(1 / 2)
    assert support["answer_rate"] == pytest.approx(2 / 6)
    assert support["abandon_rate"] == pytest.approx(2 / 6)
    sales = by_queue["sales"]
    # g answered at exactly 10 s (within: at most the threshold), h at 12 s (not); i a short
    # abandon at 4.5 s, within 10 s.
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (3, 2, 1)
    assert (sales["sl"], sales["sl2"]) == (pytest.approx(1 / 2), pytest.approx(2 / 3))
    assert (sales["threshold_s"], sales["short_abandoned"], sales["transfers"]) == (10, 1, 2)
    assert sales["asa_s"] == pytest.approx(11) and sales["aht_s"] == pytest.approx(330)
    assert sales["fcr_rate"] is None  # not recorded
    other = by_queue["other"]  # not configured: 20 s, and j waited exactly 20 s
    assert (other["offered"], other["sl"], other["sl2"], other["threshold_s"]) == (1, 1.0, 1.0, 20)
    everything = by_queue["(total)"]
    # 10 offered; answered a b g h j (a g j within); abandoned c d i, all within.
    assert (everything["offered"], everything["answered"], everything["abandoned"]) == (10, 5, 3)
    assert everything["sl"] == pytest.approx(3 / 5)
    assert everything["sl2"] == pytest.approx(6 / 8)
    assert everything["asa_s"] == pytest.approx((10 + 40 + 10 + 12 + 20) / 5)
    assert everything["aht_s"] == pytest.approx((300 + 100 + 600 + 60 + 40) / 5)
    assert (everything["short_abandoned"], everything["transfers"]) == (2, 3)
    assert everything["threshold_s"] is None  # each contact against its own queue's


def test_kpis_per_agent_and_team(center: Lab) -> None:
    agents = rows(center, by="agent")
    assert set(agents) == {"ana", "bo", "cy", "(none)", "(total)"}
    ana = agents["ana"]  # a (10 ≤ 30), h (12 > 10), j (20 ≤ 20)
    assert (ana["offered"], ana["answered"], ana["sl"], ana["sl2"]) == (
        3,
        3,
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )
    assert ana["asa_s"] == pytest.approx(14) and ana["aht_s"] == pytest.approx(400 / 3)
    bo = agents["bo"]  # b (40 > 30) and e's call back
    assert (bo["offered"], bo["answered"], bo["sl"], bo["callbacks_kept"]) == (2, 1, 0.0, 1)
    nobody = agents["(none)"]  # c, d, i abandoned (all within), f never called back
    assert (nobody["offered"], nobody["answered"], nobody["abandoned"]) == (4, 0, 3)
    assert (nobody["sl"], nobody["sl2"], nobody["short_abandoned"]) == (None, 1.0, 2)
    assert (nobody["callbacks"], nobody["callbacks_kept"]) == (1, 0)
    teams = rows(center, by="team")
    assert set(teams) == {"alpha", "beta", "(none)", "(total)"}
    beta = teams["beta"]  # bo's b and e, cy's g (10 ≤ 10)
    assert (beta["offered"], beta["answered"], beta["sl"], beta["sl2"]) == (3, 2, 0.5, 0.5)
    assert (beta["transfers"], beta["callbacks_kept"]) == (2, 1)
    assert teams["alpha"]["offered"] == 3 and teams["(total)"]["offered"] == 10


def test_kpis_per_channel(center: Lab) -> None:
    channels = rows(center, by="channel")
    assert set(channels) == {"phone", "chat", "(total)"}
    phone = channels["phone"]  # answered a b h j (a, j within); abandoned c d i (all within)
    assert (phone["offered"], phone["answered"], phone["abandoned"]) == (9, 4, 3)
    assert (phone["sl"], phone["sl2"]) == (pytest.approx(2 / 4), pytest.approx(5 / 7))
    assert (channels["chat"]["offered"], channels["chat"]["sl"]) == (1, 1.0)


def test_kpis_per_stage_at_the_contacts_time(center: Lab) -> None:
    center.set_transitions(
        [
            ("a", None, "reach", day(1, 1)),
            ("a", "reach", "retention", day(3, 3)),  # after the call: a called as reach
            ("b", None, "at_risk", day(2, 1)),
            ("c", None, "reach", day(3, 2)),  # at the moment of the call: counts
        ]
    )
    stages = rows(center, by="stage")
    assert set(stages) == {"reach", "at_risk", "(none)", "(total)"}
    reach = stages["reach"]  # a answered within, c a short abandon
    assert (reach["offered"], reach["answered"], reach["abandoned"]) == (2, 1, 1)
    assert (reach["sl"], reach["sl2"], reach["short_abandoned"]) == (1.0, 1.0, 1)
    assert (stages["at_risk"]["offered"], stages["at_risk"]["sl"]) == (1, 0.0)
    assert stages["(none)"]["offered"] == 7


def test_a_period_and_the_default_threshold_without_a_configuration(lab: Lab) -> None:  # noqa: F811
    lab.ingest(LOG)
    (april,) = lab.rows("contact-center", start="2026-04-01", end="2026-05-01")
    assert (april["queue"], april["offered"], april["sl"]) == ("support", 1, 1.0)
    support = rows(lab)["support"]  # 20 s everywhere: a within, b not; c within, d (25 s) not
    assert (support["threshold_s"], support["sl"], support["sl2"]) == (
        20,
        pytest.approx(1 / 2),
        pytest.approx(2 / 4),
    )


def test_the_reports_predicates_say_what_the_domain_says() -> None:
    rows = [
        {"outcome": o, "wait_s": w, "threshold": 20.0}
        for o, w in product(
            ["answered", "abandoned", "callback_requested", None], [None, 0.0, 4.9, 5.0, 20.0, 21.0]
        )
    ]
    table = ibis.memtable(pa.Table.from_pylist(rows))
    judged = table.mutate(
        short=kpis.short_abandon(table),
        asked=kpis.callback_requested(table),
        inside=kpis.within(table),
    )
    backend = ibis.duckdb.connect()
    try:
        got = backend.to_pyarrow(judged).to_pylist()
    finally:
        backend.disconnect()
    for r in got:
        assert r["short"] == cc.is_short_abandon(r["outcome"], r["wait_s"]), r
        assert r["asked"] == cc.is_callback_requested(r["outcome"]), r
        assert r["inside"] == cc.is_within(r["wait_s"], r["threshold"]), r
    assert cc.service_level(0, 0) is None and cc.service_level_2(1, 2, 3, 4) == 3 / 7
