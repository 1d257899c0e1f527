"""The wallboard over Server-Sent Events in Chromium: a contact offered through the API shows
on the open page without a reload, brought by the page's stream (no polling request is made);
with the stream refused, the page falls back to polling and still shows it. The waiting count
expected is the API's own (`GET /v1/cc/live`)."""

from __future__ import annotations

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Request, Route, expect

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import Watched
from touchpoint.runtime import Touchpoint

pytestmark = pytest.mark.slow  # Chromium and a live server


def _offer(base: str, key: str) -> int:
    """A contact offered to support through the API; the API's waiting count after it."""
    offered = httpx2.post(
        f"{base}/v1/cc/contacts",
        json={"queue": "support", "channel": "phone", "customer": {"phone": "+1 415 555 0100"}},
        headers=bearer(key),
        timeout=10,
    )
    assert offered.status_code == 201 and offered.json()["status"] == "waiting"
    live = httpx2.get(f"{base}/v1/cc/live", headers=bearer(key), timeout=10).json()
    return next(q["waiting"] for q in live["queues"] if q["queue"] == "support")


def test_the_stream_brings_an_offered_contact_without_polling(
    as_admin: Watched, seeded: Touchpoint
) -> None:
    polls: list[str] = []
    as_admin.page.on(
        "request", lambda r: polls.append(r.url) if "/app/wallboard/live" in r.url else None
    )
    page = as_admin.open("/app/wallboard")
    board = page.locator("#board")
    expect(board).to_have_attribute("data-mode", "stream")
    waiting = page.locator("#queues tr[data-queue=support] td.waiting")
    expect(waiting).to_have_text("0")
    expected = _offer(as_admin.base, new_key(seeded, "manager"))
    assert expected == 1
    expect(waiting).to_have_text(str(expected), timeout=5000)  # the server looks every 1 s
    expect(board).to_have_attribute("data-mode", "stream")
    assert polls == []  # it came over the stream
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/web2-wallboard.png", full_page=True)
    as_admin.assert_clean()


def test_without_the_stream_the_page_polls_and_still_changes(
    as_admin: Watched, seeded: Touchpoint
) -> None:
    def refuse(route: Route, _request: Request) -> None:
        route.fulfill(status=503, body="down")

    as_admin.page.route("**/app/wallboard/stream*", refuse)
    page = as_admin.open("/app/wallboard")
    board = page.locator("#board")
    expect(board).to_have_attribute("data-mode", "polling")
    waiting = page.locator("#queues tr[data-queue=support] td.waiting")
    expect(waiting).to_have_text("0")
    expected = _offer(as_admin.base, new_key(seeded, "manager"))
    expect(waiting).to_have_text(str(expected), timeout=8000)  # polled every 2 s
    # The refused stream is the only thing that went wrong.
    assert set(as_admin.errors) == {
        "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
    }
    assert as_admin.failed == [] and as_admin.foreign == []


def test_the_stream_refuses_an_agent_another_queue(as_agent: Watched) -> None:
    answer = as_agent.page.request.get(as_agent.base + "/app/wallboard/stream?queue=sales")
    assert answer.status == 403
