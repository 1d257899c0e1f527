"""The demo's last hours at its contact center run through the real router: every contact ends,
no agent ever holds more than their capacity or gets an offer during wrap-up, each ended
contact is in the log once with the wait the router's own timestamps give, and a second demo
run finds the switchboard done. Checked on the center's tables and the log, not on what the
switchboard says it did."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.demo import DemoResult, run_demo
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_contacts, cc_events, interactions

NOW = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
CAPACITY = {"phone": 1, "chat": 3, "email": 5, "social": 5}  # the demo's agents, per channel
WRAPUP_S = {"sales": 30, "support": 45, "retention": 60}  # the demo's queues


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Touchpoint, DemoResult]]:
    tp = open_touchpoint(Settings(data_dir=tmp_path_factory.mktemp("switchboard")))
    result = run_demo(tp, customers=80, seed=4, now=NOW)
    yield tp, result
    tp.close()


def contacts(tp: Touchpoint) -> list[dict]:
    with read_connection(tp.engine) as conn:
        return [dict(r) for r in conn.execute(select(cc_contacts)).mappings()]


def test_the_switchboard_ran_contacts_through_the_router_in_the_last_hours(
    ran: tuple[Touchpoint, DemoResult],
) -> None:
    tp, result = ran
    run = result.switchboard
    assert run is not None and run.end == NOW and run.start == NOW - timedelta(hours=2)
    rows = contacts(tp)
    assert len(rows) == run.offered > 100  # ~97 an hour for 2 hours, less the last 10 minutes
    for row in rows:
        assert row["status"] in ("completed", "abandoned")  # nothing left hanging
        assert run.start <= row["joined_at"] <= row["ended_at"] < NOW
        assert row["decision"] is None or row["decision"]["strategy"]  # the router decided
    answered = [r for r in rows if r["status"] == "completed"]
    assert answered and all(r["agent"] and r["assigned_at"] for r in answered)


def test_no_agent_holds_more_than_their_capacity_at_any_moment(
    ran: tuple[Touchpoint, DemoResult],
) -> None:
    tp, _result = ran
    moments: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for row in contacts(tp):
        if row["assigned_at"] is None:
            continue
        key = (row["agent"], row["channel"])
        moments[key] += [(row["assigned_at"], 1), (row["ended_at"], -1)]
    assert moments
    for (_agent, channel), changes in moments.items():
        held = 0
        for _at, change in sorted(changes, key=lambda c: (c[0], c[1])):  # ends before starts
            held += change
            assert held <= CAPACITY[channel]


def test_no_offer_reaches_an_agent_in_wrap_up(ran: tuple[Touchpoint, DemoResult]) -> None:
    tp, _result = ran
    with read_connection(tp.engine) as conn:
        reserved = conn.execute(
            select(cc_events.c.agent_id, cc_events.c.at).where(cc_events.c.kind == "reserved")
        ).all()
    offers: dict[str, list[datetime]] = defaultdict(list)
    for agent, at in reserved:
        offers[agent].append(at)
    checked = 0
    for row in contacts(tp):
        if row["status"] != "completed" or row["ended_at"] >= NOW - timedelta(seconds=1):
            continue  # those the switchboard ended at its close
        wrap_end = row["ended_at"] + timedelta(seconds=WRAPUP_S[row["queue"]])
        assert not [at for at in offers[row["agent"]] if row["ended_at"] < at < wrap_end]
        checked += 1
    assert checked > 50


def test_each_ended_contact_is_in_the_log_once_with_the_routers_wait(
    ran: tuple[Touchpoint, DemoResult],
) -> None:
    tp, _result = ran
    with read_connection(tp.engine) as conn:
        logged = conn.execute(
            select(interactions.c.id, interactions.c.properties).where(
                interactions.c.id.like("cc-%")
            )
        ).all()
    by_id = dict(logged)
    rows = contacts(tp)
    for row in rows:
        props = by_id[f"cc-{row['id']}"]
        if row["status"] == "completed" and row["callback_requested_at"] is None:
            wait = (row["assigned_at"] - row["joined_at"]).total_seconds()
            assert props["wait_s"] == pytest.approx(wait, abs=1)
    called_back = [r for r in rows if r["callback_requested_at"] and r["status"] == "completed"]
    assert len(by_id) == len(rows) + len(called_back)  # a callback is two: in and back out


def test_a_second_demo_run_finds_the_switchboard_done(
    ran: tuple[Touchpoint, DemoResult],
) -> None:
    tp, _result = ran
    before = len(contacts(tp))
    again = run_demo(tp, customers=80, seed=4, now=NOW + timedelta(hours=5))
    assert again.switchboard is None
    assert len(contacts(tp)) == before
