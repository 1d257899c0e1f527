"""The capability pages in Chromium on the seeded business (conftest): each loads with its chart
drawn by the local Plotly, passes axe and has no duplicate ids; and each shows what a person
would check by hand — the Erlang C answer for 100 calls in 30 minutes, Ann's first purchase
credited to Direct by all five attribution models, a rule's live count, a saved segment's
members, a playbook resumed and paused, an agent kept to their own queue."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.web.conftest import Watched

pytestmark = pytest.mark.slow  # Chromium and a live server

PAGES = {
    "/app/cohorts": ("Cohorts", "#cohort-heatmap"),
    "/app/churn": ("Churn and customers at risk", "#churn-rates"),
    "/app/clv": ("Customer lifetime value", None),
    "/app/attribution": ("Attribution: where first purchases come from", "#attribution-chart"),
    "/app/staffing?volume=100&interval=30m&aht=180": ("Staffing calculator", "#staffing-chart"),
    "/app/simulate?run=1&replications=1&name1=busier&volume1=2": (
        "Simulation what-ifs",
        "#scenario-chart",
    ),
    "/app/forecast": ("Workforce forecast", "#forecast-chart"),
    "/app/segments": ("Segments", None),
    "/app/playbooks": ("Playbooks", None),
    "/app/scores": ("Scores", "#bands-0"),
    "/app/surveys": ("Surveys", None),
    "/app/loyalty": ("Loyalty", "#tiers-chart"),
    "/app/campaigns": ("Outbound campaigns", None),
    "/app/audit": ("Audit trail", None),
    "/app/admin": ("Users and keys", None),
}
_REFUSED = (
    "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
)


def _looks_right(page: Page, path: str) -> None:
    duplicates = page.evaluate(
        "(() => { const seen = {}; for (const e of document.querySelectorAll('[id]'))"
        " seen[e.id] = (seen[e.id] || 0) + 1;"
        " return Object.keys(seen).filter(k => seen[k] > 1); })()"
    )
    assert duplicates == [], (path, duplicates)
    found = Axe().run(page)
    assert found.violations_count == 0, (path, found.generate_report())


def test_every_capability_page_draws_and_passes_axe(as_admin: Watched) -> None:
    for path, (heading, figure) in PAGES.items():
        page = as_admin.open(path)
        expect(page.locator("h1")).to_have_text(heading)
        if figure:
            expect(page.locator(f"{figure} .main-svg").first).to_be_visible()
        _looks_right(page, path)
        name = path.split("?")[0].rsplit("/", 1)[-1]
        page.screenshot(path=f"/tmp/webapp-test-{name}.png", full_page=True)
    as_admin.assert_clean()


def test_staffing_answers_erlang_c_for_100_calls_in_30_minutes(as_admin: Watched) -> None:
    page = as_admin.open("/app/staffing")
    page.get_by_label("Contacts per interval").fill("100")
    page.get_by_label("Average handle time (s)").fill("180")
    page.get_by_label("Shrinkage (0 to 1)").fill("0.3")
    page.get_by_role("button", name="Calculate").click()
    # A = 100 x 180 / 1800 = 10 Erlangs; N = 14 gives SL(20 s) 0.8884 by the Erlang C formula
    # (N = 13: 0.7834, under 80%); 14 / (1 - 0.3) = 20 scheduled.
    expect(page.locator("#agents-needed")).to_have_text("14")
    expect(page.locator("#service-level")).to_have_text("88.8%")
    expect(page.locator("#agents-scheduled")).to_have_text("20")
    assert "volume=100" in page.url and "aht=180" in page.url  # the question is in the address
    page.get_by_label("Average handle time (s)").fill("a while")
    page.get_by_role("button", name="Calculate").click()
    expect(page.get_by_role("alert")).to_have_text("aht: a number, got 'a while'")
    assert as_admin.errors == [_REFUSED]  # the form shown again, answered 422
    as_admin.errors.clear()
    as_admin.assert_clean()


def test_simulation_sets_the_what_if_beside_the_baseline(as_admin: Watched) -> None:
    page = as_admin.open("/app/simulate")
    page.get_by_label("Days per scenario (1–10)").fill("1")
    page.locator("#name1").fill("twice the calls")
    page.locator("#volume1").fill("2")
    page.get_by_role("button", name="Simulate").click()
    # waits for the answer (a day simulated per scenario), then reads the table's head
    expect(page.locator("#scenarios thead th")).to_have_text(
        ["Figure", "baseline", "twice the calls"], timeout=60_000
    )
    expect(page.locator("#scenario-chart .main-svg").first).to_be_visible()
    page.locator("#replications").fill("11")
    page.get_by_role("button", name="Simulate").click()
    expect(page.get_by_role("alert")).to_have_text("replications: 1 to 10; got 11")
    assert as_admin.errors == [_REFUSED]
    as_admin.errors.clear()
    as_admin.assert_clean()


def test_attribution_credits_ann_s_untagged_purchase_to_direct(as_admin: Watched) -> None:
    page = as_admin.open("/app/attribution?period=90d&by=channel")
    page.get_by_text("The row as a table").click()
    header = page.locator("#attribution-table thead th").all_inner_texts()
    row = page.locator("#attribution-table tbody tr").first.locator("td").all_inner_texts()
    values = dict(zip(header, row, strict=True))
    # Ann's is the one first purchase; her page view and signup before it carry no source,
    # medium or campaign, so they are no reach touch and every model credits it to Direct (the
    # reach channel group of a touch without a medium).
    assert values["channel"] == "Direct"
    for model in ("first touch", "last touch", "linear", "position", "time decay"):
        assert values[model] == "1.00", (model, values)
    as_admin.assert_clean()


def test_a_rule_is_counted_as_it_is_typed_and_saved_as_a_segment(as_admin: Watched) -> None:
    page = as_admin.open("/app/segments")
    page.get_by_label("Rule").fill("stage = acquisition")
    expect(page.locator("#preview-count")).to_have_text("2")  # Bo and Cy, before saving
    page.get_by_label("Rule").fill("stage = nowhere or")
    expect(page.locator("#preview-problem")).to_be_visible()
    page.get_by_label("Name").fill("signed-up")
    page.get_by_label("Rule").fill("stage = acquisition")
    # the count as typed comes back before the save (leaving mid-preview aborts its request)
    expect(page.locator("#preview-count")).to_have_text("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Segment signed-up")
    expect(page.locator("#member-count")).to_have_text("2")
    emails = sorted(page.locator("#members tbody tr td:nth-child(3)").all_inner_texts())
    assert emails == ["bo@example.com", "cy@example.com"]
    _looks_right(page, "segment")
    page.screenshot(path="/tmp/webapp-test-segment.png", full_page=True)
    as_admin.open("/app/segments")
    expect(page.locator("#segment-list tr[data-segment=signed-up] td.num")).to_have_text("2")
    as_admin.assert_clean()


def test_a_manager_resumes_and_pauses_a_playbook(as_admin: Watched) -> None:
    page = as_admin.open("/app/playbooks")
    row = page.locator("#playbook-list tr[data-playbook=abandoned_cart]")
    expect(row.locator("td.state")).to_have_text("paused")  # shipped paused
    row.get_by_role("button", name="Resume abandoned_cart").click()
    expect(row.locator("td.state")).to_have_text("active")
    row.get_by_role("button", name="Pause abandoned_cart").click()
    expect(row.locator("td.state")).to_have_text("paused")
    as_admin.assert_clean()


def test_an_agent_sees_their_own_queue_and_is_refused_another(as_agent: Watched) -> None:
    page = as_agent.open("/app/wallboard")
    assert page.locator("#queues tbody tr").evaluate_all("rs => rs.map(r => r.dataset.queue)") == [
        "support"
    ]
    assert page.locator("#agents tbody th").all_inner_texts() == ["ana"]
    refused = page.goto(as_agent.base + "/app/wallboard?queue=sales")
    assert refused is not None and refused.status == 403
    expect(page.locator("h1")).to_have_text("Not for your role")
    expect(page.get_by_role("alert")).to_have_text(
        "user:web-agent is an agent and sees only their own queues (support), not 'sales'"
    )
    _looks_right(page, "403")
    page.screenshot(path="/tmp/webapp-test-agent-403.png", full_page=True)
