"""The overview in Chromium: the landing page after sign-in, customers per stage now and the
last 7 days against the 7 before, the figures worked out by hand from the seeded business
(conftest): Ann bought for 42.50 three days ago (her move into conversion), Cy's call two days
ago waited 10 s of support's 20 (service level 100%), nothing at all 7 to 14 days ago."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.web.conftest import STAGE_COUNTS, Watched

pytestmark = pytest.mark.slow  # Chromium and a live server

# figure: (last 7 days, the 7 before, change), as the page writes them
WEEK = {
    "conversions": ("1", "0", "+1"),
    "churned": ("0", "0", "+0"),
    "revenue": ("42.50", "0.00", "+42.50"),
    "csat": ("–", "–", "–"),  # no survey answered
    "nps": ("–", "–", "–"),
    "sl": ("100.0%", "–", "–"),  # no contact the week before: no service level to compare
}


def test_overview_is_the_landing_page_with_the_week_against_the_one_before(
    as_admin: Watched,
) -> None:
    page = as_admin.page
    assert page.url.endswith("/app/overview")  # where signing in lands
    expect(page.locator("h1")).to_have_text("Overview")
    for stage, customers in STAGE_COUNTS.items():
        cell = page.locator(f"#overview-stages tr[data-stage={stage}] td.count")
        expect(cell).to_have_text(str(customers))
    for key, (now, before, change) in WEEK.items():
        row = page.locator(f"#overview-week tr[data-figure={key}]")
        expect(row.locator("td.now")).to_have_text(now)
        expect(row.locator("td.before")).to_have_text(before)
        expect(row.locator("td.change")).to_have_text(change)
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/web2-overview.png", full_page=True)
    as_admin.assert_clean()


def test_an_agent_sees_the_stages_but_not_the_analytics(as_agent: Watched) -> None:
    page = as_agent.open("/app/overview")
    expect(page.locator("#overview-stages tr[data-stage=reach] td.count")).to_have_text("3")
    assert page.locator("#overview-week").count() == 0
    as_agent.assert_clean()
