"""Who may open which page, over HTTP (no browser; scripts sign in with Basic auth): a browser
without a session is sent to the login form, wrong Basic credentials get a Basic challenge, an
API key is not a sign-in, a role without a page's permission is refused naming who may, and a
bad period is a 422 naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    return TestClient(create_app(seeded))


def as_(role: str) -> tuple[str, str]:
    return (f"web-{role}", PASSWORDS[role])


def test_a_page_without_sign_in_sends_a_browser_to_the_login_form(web: TestClient) -> None:
    answer = web.get("/app/kpis?period=7d", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login?next=%2Fapp%2Fkpis%3Fperiod%3D7d"
    assert "www-authenticate" not in answer.headers  # no browser dialog over the form
    htmx = web.get("/app/wallboard/live", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/app/login?next=")


def test_a_script_s_wrong_basic_credentials_get_a_basic_challenge(web: TestClient) -> None:
    wrong = web.get("/app/lifecycle", auth=("web-admin", "not-the-password"))
    assert wrong.status_code == 401 and "www-authenticate" in wrong.headers


def test_an_api_key_does_not_sign_in_to_the_pages(web: TestClient, seeded: Touchpoint) -> None:
    answer = web.get(
        "/app/lifecycle", headers=bearer(new_key(seeded, "admin")), follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")


def test_an_agent_is_refused_the_kpis_and_the_lifecycle_analytics(web: TestClient) -> None:
    refused = web.get("/app/kpis", auth=as_("agent"))
    assert refused.status_code == 403 and "analyst" in refused.text
    lifecycle = web.get("/app/lifecycle", auth=as_("agent"))
    assert lifecycle.status_code == 200 and 'id="lifecycle-map"' not in lifecycle.text
    assert "/app/kpis" not in lifecycle.text  # not in the navigation either


def test_an_analyst_is_refused_a_customer_360(web: TestClient) -> None:
    listed = web.get("/app/customers", auth=as_("admin")).text
    customer_id = listed.split('href="/app/customers/', 1)[1].split('"', 1)[0]
    assert web.get(f"/app/customers/{customer_id}", auth=as_("admin")).status_code == 200
    assert web.get(f"/app/customers/{customer_id}", auth=as_("analyst")).status_code == 403


def test_an_unknown_period_is_refused_naming_it(web: TestClient) -> None:
    answer = web.get("/app/kpis?period=fortnight", auth=as_("admin"))
    assert answer.status_code == 422 and "period: unknown period" in answer.text


def test_the_scripts_are_served_by_the_server(web: TestClient) -> None:
    htmx = web.get("/app/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:300]
    plotly = web.get("/app/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    again = web.get("/app/static/plotly.min.js", headers={"If-None-Match": plotly.headers["etag"]})
    assert again.status_code == 304


def test_the_customer_list_keeps_a_stage(web: TestClient) -> None:
    listed = web.get("/app/customers?stage=acquisition", auth=as_("analyst"))
    assert listed.status_code == 200
    assert listed.text.count('href="/app/customers/') == 0  # an analyst opens no 360
    assert "In stage acquisition: 2" in listed.text  # Bo and Cy
    unknown = web.get("/app/customers?stage=nope", auth=as_("analyst"))
    assert unknown.status_code == 422 and "unknown stage &#39;nope&#39;" in unknown.text


def test_a_table_downloads_as_csv(web: TestClient) -> None:
    answer = web.get("/app/data/contact-center.csv?period=90d", auth=as_("analyst"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="touchpoint-contact-center-90d.csv"' in answer.headers["content-disposition"]
    header, *rows = [line.split(",") for line in answer.text.splitlines()]
    support = dict(zip(header, next(r for r in rows if r[0] == "support"), strict=True))
    assert support["offered"] == "2" and support["answered"] == "2"  # Bo's call and Cy's
    assert web.get("/app/data/kpis.csv", auth=as_("analyst")).status_code == 404
    assert web.get("/app/data/funnel.csv", auth=as_("agent")).status_code == 403


def test_each_role_is_refused_the_pages_it_may_not_open(web: TestClient) -> None:
    for path in ("/app/cohorts", "/app/churn", "/app/clv", "/app/attribution"):
        refused = web.get(path, auth=as_("agent"))
        assert refused.status_code == 403 and "analytics.read" in refused.text, path
    assert web.get("/app/playbooks", auth=as_("analyst")).status_code == 403
    assert web.get("/app/playbooks", auth=as_("agent")).status_code == 403
    assert web.get("/app/segments", auth=as_("analyst")).status_code == 200


def test_an_analyst_s_at_risk_list_and_segment_members_have_no_contact_details(
    web: TestClient,
) -> None:
    churn = web.get("/app/churn", auth=as_("analyst"))
    assert churn.status_code == 200
    head = churn.text.split('id="at-risk-table"', 1)
    assert len(head) == 1 or ">email<" not in head[1].split("</thead>", 1)[0]
    for report in ("at-risk", "churn"):
        csv = web.get(f"/app/data/{report}.csv", auth=as_("analyst"))
        assert csv.status_code == 200
        assert not {"name", "email", "phone"} & set(csv.text.splitlines()[0].split(","))


def test_changes_need_a_session_its_token_and_the_role(web: TestClient) -> None:
    basic = web.post(
        "/app/segments",
        data={"name": "x", "rule": "stage = reach", "csrf": "x"},
        auth=as_("admin"),
        follow_redirects=False,
    )
    assert basic.status_code == 303 and basic.headers["location"].startswith("/app/login")
    form = web.get("/app/login").text
    token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = web.post(
        "/app/login",
        data={"user": "web-analyst", "password": PASSWORDS["analyst"], "csrf": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    page = web.get("/app/segments").text
    session_token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    no_token = web.post("/app/segments", data={"name": "x", "rule": "stage = reach"})
    assert no_token.status_code == 403 and "reload the page" in no_token.text
    analyst = web.post(
        "/app/segments", data={"name": "x", "rule": "stage = reach", "csrf": session_token}
    )
    assert analyst.status_code == 403 and "segments.write" in analyst.text
    paused = web.post(
        "/app/playbooks/abandoned_cart/state", data={"state": "active", "csrf": session_token}
    )
    assert paused.status_code == 403 and "playbooks.write" in paused.text


def test_planning_forms_refuse_bad_numbers_naming_the_field(web: TestClient) -> None:
    answer = web.get("/app/staffing?volume=100&aht=0", auth=as_("manager"))
    assert answer.status_code == 422 and "aht: average handle time" in answer.text
    answer = web.get("/app/staffing?volume=lots&aht=180", auth=as_("manager"))
    assert answer.status_code == 422 and "volume: a number, got &#39;lots&#39;" in answer.text
    answer = web.get("/app/staffing?volume=100&aht=180&max_occupancy=0", auth=as_("manager"))
    assert answer.status_code == 422 and "max_occupancy: a share" in answer.text
    answer = web.get("/app/simulate?run=1&replications=0", auth=as_("manager"))
    assert answer.status_code == 422 and "replications: 1 to 10" in answer.text
    assert web.get("/app/cohorts?interval=year", auth=as_("manager")).status_code == 422
    assert web.get("/app/churn?by=shoe", auth=as_("manager")).status_code == 422
