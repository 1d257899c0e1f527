"""The web app in Chromium against a live server: every page loads with nothing but the server's
own assets and no error, and shows what the seeded business holds (counts worked out by hand in
conftest), a customer found by email with their timeline, analysts' pseudonymised rows, a contact
offered through the API arriving on the wallboard, and a name with a script tag shown as text."""

from __future__ import annotations

import re

import httpx2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import SCRIPT_NAME, STAGE_COUNTS, Watched
from touchpoint.runtime import Touchpoint

pytestmark = pytest.mark.slow  # Chromium and a live server: about 15 s in all

PAGES = {
    "/app/overview": "Overview",
    "/app/lifecycle": "Lifecycle",
    "/app/kpis": "Contact-center KPIs per queue",
    "/app/customers": "Customers",
    "/app/wallboard": "Wallboard",
    "/app/tickets": "Tickets",
}


def test_every_page_loads_offline_without_errors_and_passes_axe(as_admin: Watched) -> None:
    for path, heading in PAGES.items():
        page = as_admin.open(path)
        expect(page.locator("h1")).to_have_text(heading)
        assert page.locator("html").get_attribute("lang") == "en"
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input, select, textarea')]"
            ".filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.outerHTML)"
        )
        assert unlabelled == [], (path, unlabelled)
        assert page.locator("nav a[aria-current=page]").count() == 1
        found = Axe().run(page)  # axe-core: contrast, labels, landmarks, names, structure
        assert found.violations_count == 0, (path, found.generate_report())
    page = as_admin.open("/app/lifecycle")  # the charts are drawn, by the local Plotly
    expect(page.locator("#lifecycle-map .main-svg").first).to_be_visible()
    expect(page.locator("#funnel .main-svg").first).to_be_visible()
    as_admin.assert_clean()


def test_lifecycle_page_counts_the_seeded_stages(as_admin: Watched) -> None:
    page = as_admin.open("/app/lifecycle")
    for stage, customers in STAGE_COUNTS.items():
        expect(page.locator(f"#stage-counts tr[data-stage={stage}] td").first).to_have_text(
            str(customers)
        )
    expect(page.locator("#stage-counts tr[data-stage=loyalty] td").first).to_have_text("0")
    # The funnel: 6 reached reach, 3 acquisition (Ann, Bo, Cy), 1 conversion (Ann).
    reached = page.locator("#funnel-table tbody tr td:nth-child(2)").all_inner_texts()
    assert reached[:3] == ["6", "3", "1"]
    as_admin.assert_clean()


def test_kpi_period_picker_swaps_the_table_and_names_the_period(as_admin: Watched) -> None:
    page = as_admin.open("/app/kpis?period=7d")
    row = page.locator("#kpi-table tr[data-queue=support] td")
    expect(row.nth(0)).to_have_text("1")  # Cy's call 2 days ago; waited 10 s of the 20
    expect(row.nth(2)).to_have_text("100.0%")
    page.select_option("#period", "90d")  # htmx fetches the table, no reload
    expect(page.locator("#kpi-table")).to_have_attribute("data-period", "90d")
    expect(row.nth(0)).to_have_text("2")  # and Bo's, 40 days ago, waited 30 s
    expect(row.nth(2)).to_have_text("50.0%")
    assert page.url.endswith("/app/kpis?period=90d")
    as_admin.assert_clean()


def test_customer_search_opens_the_360_with_the_timeline(as_admin: Watched) -> None:
    page = as_admin.open("/app/customers")
    page.get_by_label("Email, phone, name or customer id").fill("ANN@example.com")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"/app/customers/cus_"))
    expect(page.locator("h1")).to_have_text("Ann Archer")
    expect(page.locator("#stage")).to_contain_text("conversion")
    types = page.locator("#timeline tbody tr td:nth-child(3)").all_inner_texts()
    assert types == ["purchase", "signup", "page_view"]  # newest first
    history = page.locator("#stage-history tbody tr td:nth-child(3)").all_inner_texts()
    assert history == ["conversion", "acquisition", "reach"]
    expect(page.locator("#identities")).to_contain_text("ann@example.com")
    as_admin.assert_clean()


def test_analyst_sees_customers_pseudonymised(as_analyst: Watched) -> None:
    page = as_analyst.open("/app/customers")
    expect(page.locator("#customer-list tbody tr")).to_have_count(6)
    text = page.locator("main").inner_text()
    assert "@example.com" not in text and "Ann" not in text and "Doe" not in text
    assert page.locator("input[name=q]").count() == 0  # no search for a person
    assert page.locator("#customer-list a").count() == 0  # no 360 to open
    assert "Customers" in page.locator("nav").inner_text()
    as_analyst.assert_clean()


def test_wallboard_shows_a_contact_offered_through_the_api(
    as_admin: Watched, seeded: Touchpoint
) -> None:
    page = as_admin.open("/app/wallboard")
    waiting = page.locator("#queues tr[data-queue=support] td.waiting")
    expect(waiting).to_have_text("0")
    offered = httpx2.post(
        f"{as_admin.base}/v1/cc/contacts",
        json={"queue": "support", "channel": "phone", "customer": {"phone": "+1 415 555 0100"}},
        headers=bearer(new_key(seeded, "manager")),
        timeout=10,
    )
    assert offered.status_code == 201 and offered.json()["status"] == "waiting"
    expect(waiting).to_have_text("1", timeout=8000)  # the stream brings it; no reload
    as_admin.assert_clean()


def test_a_name_with_a_script_tag_is_shown_as_text(as_admin: Watched) -> None:
    page = as_admin.open("/app/customers")
    expect(page.locator("#customer-list")).to_contain_text(SCRIPT_NAME)
    page.get_by_label("Email, phone, name or customer id").fill("mal@example.com")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("h1")).to_have_text(f"{SCRIPT_NAME} Doe")
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script").count() == 0
    as_admin.assert_clean()
