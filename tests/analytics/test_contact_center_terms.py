"""One definition of the contact-center terms (domain/contact_center.py) in every report: KPIs,
service levels and agents count the same contacts as answered, on hand-built contacts where the
old definitions disagreed (KPIs took `outcome == "answered"`, service levels "an agent took it")."""

from __future__ import annotations

from itertools import product
from typing import Any

import ibis
import pyarrow as pa
import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction
from touchpoint.analytics import common
from touchpoint.domain import contact_center as cc


def call(who: str, *, agent: str | None, outcome: str, talk: int = 0, wait: int = 30) -> dict:
    return interaction(
        type="call",
        channel="phone",
        at=day(3, 2),
        external_id=who,
        agent=agent,
        queue="support",
        duration_s=talk,
        outcome=outcome,
        properties={"wait_s": wait},
    )


CONTACTS = [
    call("a", agent="ann", outcome="answered", talk=300),
    call("b", agent="bob", outcome="saved", talk=600),  # a retention agent talked them round
    call("c", agent=None, outcome="abandoned", wait=90),
    call("d", agent=None, outcome="callback_requested", wait=120),  # neither answered nor left
]


def test_kpis_service_levels_and_agents_count_the_same_answered_contacts(lab: Lab) -> None:
    lab.ingest(CONTACTS)
    # By hand: 4 offered; a and b were taken by an agent (the old KPI counted only a: 1/4);
    # c abandoned; handle time (300 + 600) / 2 = 450 s = 7.5 min.
    k = {r["kpi"]: r["value"] for r in lab.rows("kpis")}
    assert k["answer_rate"] == pytest.approx(2 / 4)
    assert k["handle_minutes"] == pytest.approx(7.5)
    (phone,) = lab.rows("service-levels")
    assert (phone["offered"], phone["answered"], phone["abandoned"]) == (4, 2, 1)
    assert phone["answer_rate"] == pytest.approx(2 / 4)
    assert phone["aht_s"] == pytest.approx(450)
    agents = {r["agent"]: (r["contacts"], r["aht_s"]) for r in lab.rows("agents")}
    assert agents == {"ann": (1, 300.0), "bob": (1, 600.0), "(total)": (2, 450.0)}


def test_the_ibis_predicates_say_what_the_domain_says() -> None:
    """Every combination of the fields the terms read, judged by the domain's plain functions
    and by the Ibis predicates the reports use."""
    rows = [
        {"type": t, "direction": d, "channel": c, "agent": a, "outcome": o, "queue": q}
        for t, d, c, a, o, q in product(
            ["call", "chat", "email_received", "social_message", "page_view"],
            ["inbound", "outbound"],
            ["phone", "chat", "email", "social", "sms", "web"],
            ["ann", None],
            ["answered", "abandoned", "saved", "callback_requested", None],
            ["support", None],
        )
    ]
    table = ibis.memtable(pa.Table.from_pylist(rows))
    judged = table.mutate(
        live=common.live_contact(table),
        answered=common.answered(table),
        abandoned=common.abandoned(table),
        written=common.written_message(table),
        reply=common.agent_reply(table),
    )
    backend = ibis.duckdb.connect()
    try:
        got = backend.to_pyarrow(judged).to_pylist()
    finally:
        backend.disconnect()
    for r in got:
        expected: dict[str, Any] = {
            "live": cc.is_live_contact(r["type"], r["direction"]),
            "answered": cc.is_answered(r["agent"]),
            "abandoned": cc.is_abandoned(r["outcome"]),
            "written": cc.is_written_message(r["channel"], r["direction"], r["queue"]),
            "reply": cc.is_reply(r["channel"], r["direction"], r["agent"]),
        }
        assert {k: r[k] for k in expected} == expected, r
