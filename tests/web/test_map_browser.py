"""The lifecycle map in Chromium: filtered by channel, its figures are the API's report with
the same filter (the Email rows of /v1/analytics/transitions?by=channel, and by hand: see
test_map), a click on a stage of the Sankey opens that stage's customers, no console error,
axe clean, screenshots saved."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import Watched, watched
from tests.web.test_map import EMAIL_FLOWS, mapped  # noqa: F401  (the fixture)
from touchpoint.runtime import Touchpoint

pytestmark = pytest.mark.slow  # Chromium and a live server


@pytest.fixture
def as_admin_mapped(
    browser: Browser,
    mapped: Touchpoint,  # noqa: F811
    live_server: str,
) -> Iterator[Watched]:
    yield from watched(browser, live_server, "admin")


def test_the_map_filtered_by_channel_shows_the_api_s_numbers_and_opens_a_stage(
    as_admin_mapped: Watched,
    mapped: Touchpoint,  # noqa: F811
) -> None:
    seen = as_admin_mapped
    page = seen.open("/app/lifecycle")
    expect(page.locator("#lifecycle-map .main-svg").first).to_be_visible()
    page.get_by_label("Channel").select_option("Email")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/app/lifecycle?period=all&channel=Email*")
    expect(page.locator("#lifecycle-map .main-svg").first).to_be_visible()

    api = httpx2.get(
        seen.base + "/v1/analytics/transitions?by=channel",
        headers=bearer(new_key(mapped, "admin")),
    ).json()
    from_api = {
        (r["from_stage"], r["to_stage"]): (r["transitions"], r["customers"])
        for r in api["rows"]
        if r["by"] == "Email"
    }
    shown = {}
    for row in page.locator("#flows-table tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        shown[(cells[0], cells[1])] = (int(cells[2]), int(cells[4]))
    assert shown == from_api == EMAIL_FLOWS

    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/webapp-test-map-email.png", full_page=True)

    # a click on the Sankey's acquisition node: Fay, the only Email customer who signed up
    node = page.locator("#lifecycle-map .sankey-node").filter(has_text="acquisition")
    node.locator("rect").first.click()
    page.wait_for_url("**/app/lifecycle/customers?*to=acquisition*")
    assert "channel=Email" in page.url
    expect(page.locator("#flow-summary")).to_contain_text("1 customers, 1 moves")
    expect(page.locator("#flow-customers tbody tr")).to_have_count(1)
    expect(page.locator("#flow-customers tbody")).to_contain_text("fay@example.com")
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/webapp-test-map-customers.png", full_page=True)
    seen.assert_clean()
