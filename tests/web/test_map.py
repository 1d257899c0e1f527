"""The lifecycle map's filters and click-through over HTTP (no browser): the seeded business
(conftest) plus three customers who came by campaign links, every figure worked out by hand.

Fay and Gus first land from the "spring" newsletter (medium email: reach channel Email), Hal
from a "search" ad (cpc: Paid Search); Fay signs up and buys. Ann, Bo, Cy, Dee, Eve and Mal
carry no source or medium: Direct. So with the channel Email the map has (start) -> reach 2
(Fay, Gus), reach -> acquisition 1 and acquisition -> conversion 1 (Fay); the saved segment
"buyers" (stage = conversion) holds Ann and Fay."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from tests.conftest import new_key
from tests.web.conftest import PASSWORDS, _day
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import segments

EMAIL = {"attribution": {"medium": "email", "source": "newsletter", "campaign": "spring"}}


def campaign_customers() -> list[dict[str, Any]]:
    return [
        interaction(type="page_view", at=_day(6), email="fay@example.com", **EMAIL),
        interaction(type="signup", at=_day(5), email="fay@example.com"),
        interaction(type="purchase", at=_day(4), email="fay@example.com", revenue=20.0),
        interaction(type="page_view", at=_day(6), email="gus@example.com", **EMAIL),
        interaction(
            type="page_view",
            at=_day(6),
            email="hal@example.com",
            attribution={"medium": "cpc", "source": "google", "campaign": "search"},
        ),
    ]


@pytest.fixture
def mapped(seeded: Touchpoint) -> Touchpoint:
    with TestClient(create_app(seeded)) as client:
        send(client, new_key(seeded, "ingest"), *campaign_customers())
    segments.create_segment(seeded, name="buyers", rule="stage = conversion")
    return seeded


@pytest.fixture
def web(mapped: Touchpoint) -> TestClient:
    return TestClient(create_app(mapped))


def as_(role: str) -> tuple[str, str]:
    return (f"web-{role}", PASSWORDS[role])


def flows(web: TestClient, query: str) -> dict[tuple[str, str], tuple[int, int]]:
    answer = web.get(f"/app/data/transitions.csv?{query}", auth=as_("analyst"))
    assert answer.status_code == 200, answer.text
    return {
        (r["from_stage"], r["to_stage"]): (int(r["transitions"]), int(r["customers"]))
        for r in csv.DictReader(io.StringIO(answer.text))
    }


EMAIL_FLOWS = {
    ("(start)", "reach"): (2, 2),
    ("reach", "acquisition"): (1, 1),
    ("acquisition", "conversion"): (1, 1),
}


def test_the_channel_filter_keeps_the_customers_first_touched_by_it(web: TestClient) -> None:
    assert flows(web, "channel=Email") == EMAIL_FLOWS
    assert flows(web, "channel=Paid+Search") == {("(start)", "reach"): (1, 1)}
    assert flows(web, "campaign=spring") == EMAIL_FLOWS  # the same two customers
    assert flows(web, "channel=Email&campaign=search") == {}  # no one is both


def test_the_filtered_map_equals_the_api_s_breakdown_row(
    web: TestClient, mapped: Touchpoint
) -> None:
    """An independent path: the API's report broken down by channel, its Email rows."""
    answer = web.get(
        "/v1/analytics/transitions?by=channel", headers=bearer(new_key(mapped, "admin"))
    )
    assert answer.status_code == 200, answer.text
    email = {
        (r["from_stage"], r["to_stage"]): (r["transitions"], r["customers"])
        for r in answer.json()["rows"]
        if r["by"] == "Email"
    }
    assert email == EMAIL_FLOWS == flows(web, "channel=Email")


def test_the_segment_filter_keeps_its_members(web: TestClient) -> None:
    both = {  # Ann and Fay each went reach -> acquisition -> conversion
        ("(start)", "reach"): (2, 2),
        ("reach", "acquisition"): (2, 2),
        ("acquisition", "conversion"): (2, 2),
    }
    assert flows(web, "segment=buyers") == both
    assert flows(web, "segment=buyers&channel=Email") == EMAIL_FLOWS | {
        ("(start)", "reach"): (1, 1)
    }


def test_the_funnel_and_time_in_stage_take_the_filter(web: TestClient) -> None:
    funnel = web.get("/app/data/funnel.csv?channel=Email", auth=as_("analyst")).text
    reached = {r["stage"]: int(r["customers"]) for r in csv.DictReader(io.StringIO(funnel))}
    assert reached == {  # Fay and Gus reached; Fay went on
        "reach": 2,
        "acquisition": 1,
        "conversion": 1,
        "retention": 0,
        "loyalty": 0,
        "advocacy": 0,
    }
    stays = web.get("/app/data/time-in-stage.csv?channel=Email", auth=as_("analyst")).text
    rows = {r["stage"]: r for r in csv.DictReader(io.StringIO(stays))}
    # reach: Fay left after 1 day, Gus is still there; acquisition: Fay, 1 day; conversion: Fay
    assert (rows["reach"]["stays"], rows["reach"]["still_there"]) == ("2", "1")
    assert float(rows["reach"]["p50_days"]) == pytest.approx(1.0)
    assert float(rows["acquisition"]["p50_days"]) == pytest.approx(1.0)
    assert (rows["conversion"]["stays"], rows["conversion"]["still_there"]) == ("1", "1")


def test_a_flow_lists_its_customers_and_an_analyst_sees_no_emails(web: TestClient) -> None:
    url = "/app/lifecycle/customers?from=reach&to=acquisition&channel=Email"
    admin = web.get(url, auth=as_("admin"))
    assert admin.status_code == 200
    assert "fay@example.com" in admin.text and "1 customers, 1 moves" in admin.text
    assert "ann@example.com" not in admin.text  # Direct
    analyst = web.get(url, auth=as_("analyst"))
    assert analyst.status_code == 200 and "@example.com" not in analyst.text
    assert 'href="/app/customers/' not in analyst.text  # no 360 for an analyst
    into = web.get("/app/lifecycle/customers?to=reach&channel=Email", auth=as_("admin")).text
    assert "fay@example.com" in into and "gus@example.com" in into and "2 customers" in into
    assert web.get(url, auth=as_("agent")).status_code == 403


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [
        ("/app/lifecycle?channel=Fax", 422, "Paid Search"),
        ("/app/lifecycle?period=2d", 422, "365d"),
        ("/app/lifecycle?segment=nobody", 404, "nobody"),
        ("/app/lifecycle/customers?to=limbo", 422, "acquisition"),
        ("/app/lifecycle/customers?from=nowhere&to=reach", 422, "from"),
        ("/app/data/churn.csv?channel=Email", 422, "lifecycle map"),
    ],
)
def test_a_bad_filter_is_a_clear_4xx(web: TestClient, query: str, status: int, names: str) -> None:
    answer = web.get(query, auth=as_("admin"))
    assert answer.status_code == status, answer.text
    assert names in answer.text


def test_the_map_page_keeps_its_filters_in_its_links(web: TestClient) -> None:
    html = web.get("/app/lifecycle?period=30d&channel=Email", auth=as_("admin")).text
    assert 'href="/app/data/transitions.csv?period=30d&amp;channel=Email"' in html
    assert (
        "/app/lifecycle/customers?period=30d&amp;channel=Email&amp;from=reach&amp;to=acquisition"
        in html
    )
    assert 'class="flow-loss"' not in html  # no one was lost
