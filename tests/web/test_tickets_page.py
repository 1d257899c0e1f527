"""The tickets list in Chromium: three tickets opened through the service (one ten days ago,
its clocks long overdue), each row's status, priority, queue, owner and clocks as the API
(`GET /v1/tickets/{id}`) gives them, the queue and status filters in the address, and an agent
kept to their own queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import CENTER, Watched
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config
from touchpoint.services.tickets import open_ticket

pytestmark = pytest.mark.slow  # Chromium and a live server


SLA = """
[[sla]]
queue = "support"
first_response = "1h"
resolution = "1d"

[[sla]]
queue = "sales"
first_response = "4h"
"""


def _open(tp: Touchpoint) -> dict[str, str]:
    apply_config(tp, text=CENTER + SLA, actor="test")  # the center's queues with SLA terms
    old = datetime.now(UTC) - timedelta(days=10)
    made = {
        "late": open_ticket(
            tp, subject="Refund", queue="support", channel="chat",
            identity={"email": "ann@example.com"}, priority="high", owner="ana",
            actor="test", now=old,
        ),
        "new": open_ticket(
            tp, subject="Where is my order", queue="support", channel="chat",
            identity={"email": "bo@example.com"}, actor="test",
        ),
        "sales": open_ticket(
            tp, subject="A quote", queue="sales", channel="phone",
            identity={"email": "cy@example.com"}, priority="low", actor="test",
        ),
    }  # fmt: skip
    return {name: t.id for name, t in made.items()}


def _when(value: str) -> str:
    return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"


def test_tickets_list_shows_each_clock_as_the_api_does(
    as_admin: Watched, seeded: Touchpoint
) -> None:
    ids = _open(seeded)
    key = new_key(seeded, "manager")
    page = as_admin.open("/app/tickets")
    expect(page.locator("h1")).to_have_text("Tickets")
    expect(page.locator("#ticket-list tbody tr")).to_have_count(3)
    breached_seen = 0
    for ticket_id in ids.values():
        api = httpx2.get(
            f"{as_admin.base}/v1/tickets/{ticket_id}", headers=bearer(key), timeout=10
        ).json()
        row = page.locator(f"#ticket-list tr[data-ticket={ticket_id}]")
        expect(row.locator("td.status")).to_have_text(api["status"])
        expect(row.locator("td.priority")).to_have_text(api["priority"])
        expect(row.locator("td.queue")).to_have_text(api["queue"])
        expect(row.locator("td.owner")).to_have_text(api["owner"] or "–")
        assert api["clocks"], api  # the SLA terms start clocks
        for clock in api["clocks"]:
            shown = row.locator(f"[data-clock={clock['name']}]")
            expect(shown).to_have_attribute("data-state", clock["state"])
            if clock["due_at"]:
                expect(shown).to_contain_text(_when(clock["due_at"]))
            if clock["state"] == "breached":
                breached_seen += 1
                expect(shown).to_contain_text("breached")
    assert breached_seen >= 1  # the ticket ten days old
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/web2-tickets.png", full_page=True)
    page.select_option("#queue", "sales")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/app/tickets?queue=sales&status=")
    expect(page.locator("#ticket-list tbody tr")).to_have_count(1)
    expect(page.locator(f"#ticket-list tr[data-ticket={ids['sales']}]")).to_be_visible()
    page = as_admin.open("/app/tickets?status=solved")  # none solved yet
    expect(page.locator("#ticket-list tbody")).to_have_text("No tickets.")
    as_admin.assert_clean()
    wrong = page.goto(as_admin.base + "/app/tickets?status=shut")
    assert wrong is not None and wrong.status == 422
    expect(page.locator("main")).to_contain_text("status: unknown status 'shut'")


def test_an_agent_sees_their_queue_and_is_refused_another(
    as_agent: Watched, seeded: Touchpoint
) -> None:
    ids = _open(seeded)
    page = as_agent.open("/app/tickets")
    rows = page.locator("#ticket-list tbody tr")
    expect(rows).to_have_count(2)  # ana serves support only
    assert page.locator(f"tr[data-ticket={ids['sales']}]").count() == 0
    refused = page.goto(as_agent.base + "/app/tickets?queue=sales")
    assert refused is not None and refused.status == 403
