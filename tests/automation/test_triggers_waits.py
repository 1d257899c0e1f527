"""New triggers and waits end to end, on SQLite and PostgreSQL: a birthday at 09:00 in the
customer's zone (29 February on the 28th), N days without inbound activity, a first purchase's
30th day, the 1st of the month, a segment entered — each run once per occurrence with its first
step due at the moment worked out by hand; and "wait up to 1 h for a purchase" branching on
whether it came."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.automation.test_email_runs import record
from tests.builders import T0, interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services import segments as segment_service
from touchpoint.services.scheduler import run_once


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def write(tp: Touchpoint, name: str, text: str) -> None:
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(f'name = "{name}"\n' + text)


def first_steps(tp: Touchpoint, playbook: str) -> dict[str, datetime]:
    """{customer's email: their run's first step due time}."""
    found = {}
    for run in playbooks.list_runs(tp, playbook=playbook, limit=500):
        emails = _emails(tp)
        found[emails[run.customer_id]] = run.steps[0].due_at
    return found


def _emails(tp: Touchpoint) -> dict[str, str]:
    from sqlalchemy import select

    from touchpoint.store import automation as store
    from touchpoint.store.engine import read_connection
    from touchpoint.store.tables import customers

    with read_connection(tp.engine) as conn:
        ids = list(conn.execute(select(customers.c.id)).scalars())
        return {
            c: next(k[6:] for k in store.identity_keys(conn, c) if k.startswith("email:"))
            for c in ids
            if any(k.startswith("email:") for k in store.identity_keys(conn, c))
        }


STOP = '[[steps]]\nstop = "done"\n'


def test_a_birthday_runs_at_nine_in_the_customers_zone_once(tp: Touchpoint) -> None:
    write(tp, "birthday", '[trigger]\nanniversary = "birthday"\nat = "09:00"\n' + STOP)
    record(
        tp,
        interaction(
            email="ann@example.com",
            traits={"birthday": "1990-01-02", "timezone": "America/New_York"},
        ),
        interaction(email="leap@example.com", traits={"birthday": "2000-02-29"}),
    )
    # 2 January 2026 09:00 in New York (EST, UTC-5) is 14:00 UTC; the look at 13:55 sees it
    run_once(tp, utc(2026, 1, 2, 13, 55))
    assert first_steps(tp, "birthday") == {"ann@example.com": utc(2026, 1, 2, 14)}
    run_once(tp, utc(2026, 1, 2, 14))
    (run,) = playbooks.list_runs(tp, playbook="birthday")
    assert run.status == "done" and run.trigger_id == "birthday:2026"
    run_once(tp, utc(2026, 1, 2, 14, 6))  # another look: no second run for this year
    assert len(playbooks.list_runs(tp, playbook="birthday")) == 1
    # 2026 has no 29 February: the leap-day birthday is on the 28th, 09:00 UTC (no zone trait)
    run_once(tp, utc(2026, 2, 28, 8, 58))
    assert first_steps(tp, "birthday")["leap@example.com"] == utc(2026, 2, 28, 9)


def test_no_inbound_activity_for_three_days(tp: Touchpoint) -> None:
    write(tp, "lapsed", "[trigger]\ninactive_days = 3\n" + STOP)
    record(
        tp, interaction(email="bo@example.com", at=0), interaction(email="cy@example.com", at=60)
    )
    # bo's last inbound is T0 (12:00 UTC 1 January): three days later is 4 January 12:00
    run_once(tp, T0 + timedelta(days=3, minutes=-5))
    assert first_steps(tp, "lapsed") == {"bo@example.com": T0 + timedelta(days=3)}
    run_once(tp, T0 + timedelta(days=3, minutes=56))  # cy's is an hour later
    assert first_steps(tp, "lapsed")["cy@example.com"] == T0 + timedelta(days=3, hours=1)


def test_thirty_days_after_the_first_purchase_at_ten_local(tp: Touchpoint) -> None:
    write(
        tp,
        "day30",
        '[trigger]\ndays_after_first = "purchase"\ndays = 30\nat = "10:00"\n' + STOP,
    )
    record(
        tp,
        interaction(type="purchase", email="di@example.com", traits={"timezone": "Europe/Paris"}),
        interaction(type="purchase", email="di@example.com", at=60 * 24 * 5),  # a later one
    )
    # first purchase 1 January 2026 → 31 January, 10:00 in Paris (CET, UTC+1) = 09:00 UTC
    run_once(tp, utc(2026, 1, 31, 8, 55))
    assert first_steps(tp, "day30") == {"di@example.com": utc(2026, 1, 31, 9)}


def test_the_first_of_every_month(tp: Touchpoint) -> None:
    write(tp, "monthly", "[trigger]\nmonthly = 1\n" + STOP)
    record(tp, interaction(email="ed@example.com", traits={"tz": "Asia/Tokyo"}))
    # 1 February 2026 09:00 in Tokyo (UTC+9) = 00:00 UTC
    run_once(tp, utc(2026, 1, 31, 23, 55))
    assert first_steps(tp, "monthly") == {"ed@example.com": utc(2026, 2, 1)}
    run_once(tp, utc(2026, 2, 28, 23, 55))
    assert sorted(r.trigger_id for r in playbooks.list_runs(tp, playbook="monthly")) == [
        "monthly:2026-02",
        "monthly:2026-03",
    ]


def test_a_segment_entered_starts_a_run(tp: Touchpoint) -> None:
    write(tp, "welcome_vip", '[trigger]\nsegment_entered = "buyers"\n' + STOP)
    now = datetime.now(UTC).replace(microsecond=0)
    segment_service.create_segment(tp, name="buyers", rule="purchased >= 1 times")
    run_once(tp, now)  # the stream's start: nothing yet
    record(tp, interaction(type="purchase", email="fa@example.com", at=now - timedelta(minutes=1)))
    run_once(tp)  # the wall clock, after the entry
    (run,) = playbooks.list_runs(tp, playbook="welcome_vip")
    assert run.status == "done" and run.trigger_id.startswith("segment_entered")


WAIT_FOR = """[trigger]
interaction = "cart_abandoned"
[[steps]]
wait_for = { type = "purchase", timeout = "1h" }
[[steps]]
if = { came = true, else = 3 }
[[steps]]
stop = "bought"
[[steps]]
webhook = { url = "URL" }
"""


def test_wait_up_to_an_hour_for_a_purchase_branches_on_whether_it_came(
    tp: Touchpoint, receiver: tuple[list[dict[str, Any]], str]
) -> None:
    got, url = receiver
    write(tp, "cart_wait", WAIT_FOR.replace("URL", url))
    record(
        tp,
        interaction(type="cart_abandoned", email="gus@example.com", at=0),
        interaction(type="cart_abandoned", email="hal@example.com", at=0),
    )
    run_once(tp, T0 + timedelta(minutes=1))
    record(tp, interaction(type="purchase", email="gus@example.com", at=20))
    run_once(tp, T0 + timedelta(minutes=21))  # gus's purchase wakes his wait at once
    runs = {r.customer_id: r for r in playbooks.list_runs(tp, playbook="cart_wait")}
    emails = _emails(tp)
    by_email = {emails[c]: r for c, r in runs.items()}
    gus = by_email["gus@example.com"]
    assert gus.status == "done" and gus.reason == "bought"
    assert [s.outcome["outcome"] for s in gus.steps if s.outcome] == ["came", "passed", "stopped"]
    assert by_email["hal@example.com"].status == "active" and got == []
    run_once(tp, T0 + timedelta(minutes=59))
    assert got == []
    run_once(tp, T0 + timedelta(minutes=60))  # hal's hour is up: none came, the webhook goes
    (call,) = got
    hal = {emails[r.customer_id]: r for r in playbooks.list_runs(tp, playbook="cart_wait")}[
        "hal@example.com"
    ]
    assert [s.outcome["outcome"] for s in hal.steps if s.outcome] == [
        "timed_out",
        "branched",
        "called",
    ]
    assert hal.status == "done"


def test_a_ticket_breached_and_then_solved_start_their_playbooks_once(tp: Touchpoint) -> None:
    from tests.tickets.desk import Desk
    from touchpoint.services import tickets

    write(tp, "breach_alert", '[trigger]\nticket_breached = "first_response"\n' + STOP)
    write(tp, "after_service", "[trigger]\nticket_solved = true\n" + STOP)
    desk = Desk(tp)
    now = datetime.now(UTC).replace(microsecond=0)
    ticket = desk.open(now - timedelta(hours=2))  # sales: first response within 1 h, 24/7
    run_once(tp)  # the streams' start
    tickets.tick(tp, now)  # the first-response clock fell due an hour ago: a breach
    run_once(tp)
    (breach,) = playbooks.list_runs(tp, playbook="breach_alert")
    assert breach.trigger_at == now - timedelta(hours=1) and breach.status == "done"
    assert playbooks.list_runs(tp, playbook="after_service") == []
    tickets.set_status(tp, ticket.id, "solved", actor="test")
    run_once(tp)
    run_once(tp)
    (solved,) = playbooks.list_runs(tp, playbook="after_service")
    assert solved.status == "done"
    assert len(playbooks.list_runs(tp, playbook="breach_alert")) == 1
