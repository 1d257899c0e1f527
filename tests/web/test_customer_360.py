"""The customer 360 and search over HTTP (no browser): an agent kept to the customers of their
queues (a call, contact, callback or ticket there) in the list, the search, the screen pop and
the 360, each other customer answered as an unknown one is; the 360's segments, consent,
tickets, loyalty and filtered, paged timeline; merge and unmerge for admins only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from tests.conftest import new_key
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services.tickets import open_ticket

NOW = datetime.now(UTC)


def as_(role: str) -> tuple[str, str]:
    return (f"web-{role}", PASSWORDS[role])


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    return TestClient(create_app(seeded))


def _ids(web: TestClient) -> dict[str, str]:
    """Each seeded customer's id by the name of their email, from the API."""
    key = new_key(web.app.state.touchpoint, "manager")  # type: ignore[attr-defined]
    found = {}
    for name in ("ann", "bo", "cy", "dee", "eve", "mal"):
        answer = web.get(
            "/v1/customers", params={"email": f"{name}@example.com"}, headers=bearer(key)
        )
        found[name] = answer.json()["items"][0]["id"]
    return found


@pytest.fixture
def queued(web: TestClient, seeded: Touchpoint) -> dict[str, str]:
    """Besides Bo's and Cy's calls in support (the seeded log): Ann has a ticket in sales only,
    Dee a contact in support that became a callback, Eve a contact in sales, Mal a ticket in
    support. The agent web-agent is ana, of support: Bo, Cy, Dee and Mal are theirs."""
    manager = bearer(new_key(seeded, "manager"))
    ids = _ids(web)
    open_ticket(
        seeded, subject="A quote", queue="sales", channel="phone",
        identity={"email": "ann@example.com"}, actor="test",
    )  # fmt: skip
    open_ticket(
        seeded, subject="Login", queue="support", channel="chat",
        identity={"email": "mal@example.com"}, actor="test",
    )  # fmt: skip
    for name, queue in (("dee", "support"), ("eve", "sales")):
        offered = web.post(
            "/v1/cc/contacts",
            json={"queue": queue, "channel": "phone", "customer": {"email": f"{name}@example.com"}},
            headers=manager,
        )
        assert offered.status_code == 201, offered.text
        if name == "dee":
            back = web.post(
                f"/v1/cc/contacts/{offered.json()['id']}/callback", json={}, headers=manager
            )
            assert back.status_code == 200, back.text
    return ids


def test_an_agent_lists_only_the_customers_of_their_queues(
    web: TestClient, queued: dict[str, str]
) -> None:
    listed = web.get("/app/customers", auth=as_("agent")).text
    shown = set(re.findall(r'href="/app/customers/(cus_[^"]+)"', listed))
    assert shown == {queued[n] for n in ("bo", "cy", "dee", "mal")}
    assert "All customers: 4" in listed and "support" in listed
    everyone = web.get("/app/customers", auth=as_("manager")).text
    assert set(re.findall(r'href="/app/customers/(cus_[^"]+)"', everyone)) == set(queued.values())


def test_an_agent_of_support_cannot_open_a_customer_of_sales_only(
    web: TestClient, queued: dict[str, str]
) -> None:
    for name in ("bo", "dee", "mal"):  # a call, a callback, a ticket in support
        assert web.get(f"/app/customers/{queued[name]}", auth=as_("agent")).status_code == 200
    for name in ("ann", "eve"):  # a ticket, a contact in sales: as unknown as no customer
        refused = web.get(f"/app/customers/{queued[name]}", auth=as_("agent"))
        unknown = web.get("/app/customers/cus_nobody", auth=as_("agent"))
        assert refused.status_code == unknown.status_code == 404
        assert refused.text.replace(queued[name], "X") == unknown.text.replace("cus_nobody", "X")
        timeline = web.get(f"/app/customers/{queued[name]}/timeline", auth=as_("agent"))
        assert timeline.status_code == 404
        assert web.get(f"/app/customers/{queued[name]}", auth=as_("manager")).status_code == 200


def test_an_agent_s_search_finds_only_their_queues_customers(
    web: TestClient, queued: dict[str, str]
) -> None:
    found = web.get("/app/customers?q=bo@example.com", auth=as_("agent"), follow_redirects=False)
    assert (
        found.status_code == 303 and found.headers["location"] == f"/app/customers/{queued['bo']}"
    )
    hidden = web.get("/app/customers?q=ann@example.com", auth=as_("agent"))
    unknown = web.get("/app/customers?q=zed@example.com", auth=as_("agent"))
    assert hidden.status_code == unknown.status_code == 200
    assert "no customer known by &#39;ann@example.com&#39;" in hidden.text
    assert "no customer known by &#39;zed@example.com&#39;" in unknown.text
    assert queued["ann"] not in hidden.text


def test_the_screen_pop_opens_the_360_of_the_phone_s_holder(
    web: TestClient, seeded: Touchpoint, queued: dict[str, str]
) -> None:
    ingest = new_key(seeded, "ingest")
    send(
        web,
        ingest,
        interaction(type="call", channel="phone", direction="inbound", at=NOW - timedelta(hours=1),
                    email="bo@example.com", phone="+14155550100", queue="support"),
        interaction(type="signup", at=NOW - timedelta(hours=1), email="ann@example.com",
                    phone="+14155550111"),
    )  # fmt: skip
    for phone in ("+14155550100", "(415) 555-0100", "415-555-0100"):  # E.164, national (US)
        popped = web.get(
            f"/app/customers/by-phone/{phone}", auth=as_("agent"), follow_redirects=False
        )
        assert popped.status_code == 303, (phone, popped.text)
        assert popped.headers["location"] == f"/app/customers/{queued['bo']}"
    nobody = web.get("/app/customers/by-phone/+14155550199", auth=as_("agent"))
    assert nobody.status_code == 404 and "no customer holds the phone number" in nobody.text
    other_queue = web.get("/app/customers/by-phone/+14155550111", auth=as_("agent"))
    assert other_queue.status_code == 404 and other_queue.text == nobody.text.replace(
        "0199", "0111"
    )
    manager = web.get(
        "/app/customers/by-phone/+14155550111", auth=as_("manager"), follow_redirects=False
    )
    assert manager.headers["location"] == f"/app/customers/{queued['ann']}"
    bad = web.get("/app/customers/by-phone/not-a-phone", auth=as_("agent"))
    assert bad.status_code == 422 and "phone" in bad.text


def test_the_360_filters_and_pages_the_timeline(web: TestClient, seeded: Touchpoint) -> None:
    ingest = new_key(seeded, "ingest")
    # Zoe: 7 page views (days 1..7 ago), 3 emails opened (days 10, 20, 40 ago).
    items = [
        interaction(type="page_view", at=NOW - timedelta(days=d), email="zoe@example.com")
        for d in range(1, 8)
    ]
    items += [interaction(type="email_opened", channel="email", at=NOW - timedelta(days=d),
                          email="zoe@example.com") for d in (10, 20, 40)]  # fmt: skip
    send(web, ingest, *items)
    zoe = web.get("/app/customers?q=zoe@example.com", auth=as_("admin"), follow_redirects=False)
    path = zoe.headers["location"]

    def rows(query: str) -> list[str]:
        html = web.get(f"{path}{query}", auth=as_("admin")).text
        return re.findall(r'<td class="type">([^<]+)</td>', html)

    assert rows("") == ["page_view"] * 7 + ["email_opened"] * 3
    assert rows("?channel=email") == ["email_opened"] * 3
    assert rows("?type=page_view&period=7d") == ["page_view"] * 6  # day 7 is just outside
    assert rows("?channel=email&period=30d") == ["email_opened"] * 2
    fragment = web.get(
        f"{path}/timeline?channel=email", auth=as_("admin"), headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["hx-push-url"] == f"{path}?channel=email"
    assert fragment.text.count('<td class="type">email_opened</td>') == 3
    bad = web.get(f"{path}?channel=fax", auth=as_("admin"))
    assert bad.status_code == 422 and "channel: unknown channel &#39;fax&#39;" in bad.text
    assert web.get(f"{path}?period=fortnight", auth=as_("admin")).status_code == 422
    assert web.get(f"{path}?cursor=garbage", auth=as_("admin")).status_code == 422


def test_the_timeline_pages_with_the_api_s_cursor(web: TestClient, seeded: Touchpoint) -> None:
    ingest = new_key(seeded, "ingest")
    send(web, ingest, *[interaction(type="page_view", at=NOW - timedelta(minutes=m),
                                    email="pat@example.com") for m in range(1, 61)])  # fmt: skip
    path = web.get("/app/customers?q=pat@example.com", auth=as_("admin"), follow_redirects=False)
    first = web.get(path.headers["location"], auth=as_("admin")).text
    assert first.count('<td class="type">') == 50  # a page is 50
    older = re.search(r'id="older" href="([^"]+)"', first)
    assert older, "an older page is linked"
    second = web.get(older[1].replace("&amp;", "&"), auth=as_("admin")).text
    assert second.count('<td class="type">') == 10 and 'id="older"' not in second


def test_the_360_shows_segments_consent_tickets_and_loyalty(
    web: TestClient, seeded: Touchpoint
) -> None:
    manager = bearer(new_key(seeded, "manager"))
    made = web.post(
        "/v1/segments",
        json={"name": "buyers", "rule": "purchased >= 1 times in last 90 days"},
        headers=manager,
    )
    assert made.status_code == 201, made.text
    ingest = new_key(seeded, "ingest")
    send(
        web,
        ingest,
        interaction(type="consent_granted", channel="email", at=NOW - timedelta(days=2),
                    email="ann@example.com"),
        interaction(type="consent_withdrawn", channel="email", at=NOW - timedelta(days=1),
                    email="ann@example.com"),
        interaction(type="custom", name="loyalty_points", at=NOW - timedelta(days=1),
                    email="ann@example.com", properties={"points": 50}),
        interaction(type="custom", name="loyalty_redeemed", at=NOW - timedelta(hours=5),
                    email="ann@example.com", properties={"points": 20}),
        interaction(type="custom", name="loyalty_tier", at=NOW - timedelta(hours=4),
                    email="ann@example.com", properties={"tier": "silver"}),
    )  # fmt: skip
    ticket = open_ticket(
        seeded, subject="Broken zip", queue="support", channel="chat",
        identity={"email": "ann@example.com"}, actor="test",
    )  # fmt: skip
    found = web.get("/app/customers?q=ann@example.com", auth=as_("manager"))
    html = found.text
    assert re.search(r'<tr data-segment="seg_[0-9a-f]+"><td>buyers</td>', html)
    consent = re.search(r'<table id="consent">.*?</table>', html, re.S)
    assert consent and "withdrawn" in consent[0] and "granted" not in consent[0]
    history = re.search(r'<table id="consent-history">.*?</table>', html, re.S)
    assert history and history[0].index("withdrawn") < history[0].index("granted")
    assert f'data-ticket="{ticket.id}"' in html and "Broken zip" in html
    # 50 earned - 20 redeemed = 30, tier silver (by hand)
    assert "Loyalty: 30 points (50 earned, 20 redeemed), tier silver" in html


def _session(web: TestClient, role: str) -> None:
    form = web.get("/app/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    signed = web.post(
        "/app/login",
        data={"user": f"web-{role}", "password": PASSWORDS[role], "csrf": token[1]},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


def test_an_admin_merges_and_unmerges_on_the_360(
    seeded: Touchpoint, queued: dict[str, str]
) -> None:
    web = TestClient(create_app(seeded))
    _session(web, "admin")
    dee, eve = queued["dee"], queued["eve"]
    page = web.get(f"/app/customers/{dee}").text
    assert 'id="merge-form"' in page
    merged = web.post(
        f"/app/customers/{dee}/merge",
        data={"csrf": _csrf(page), "other": "eve@example.com"},
        follow_redirects=False,
    )
    key = bearer(new_key(seeded, "admin"))
    record = web.get("/v1/identity/merges", params={"customer_id": dee}, headers=key).json()
    first = record["items"][0]  # the API's record of the merge the form made
    assert {first["survivor_id"], first["merged_id"]} == {dee, eve} and first["cause"] == "manual"
    survivor, gone = first["survivor_id"], first["merged_id"]
    assert merged.status_code == 303 and merged.headers["location"] == f"/app/customers/{survivor}"
    after = web.get(f"/app/customers/{survivor}").text
    assert "eve@example.com" in after and "dee@example.com" in after
    unmerge = re.search(rf'action="(/app/customers/{survivor}/merges/(\d+)/unmerge)"', after)
    assert unmerge and unmerge[2] == str(first["id"]), "the merge can be undone from the page"
    undone = web.post(unmerge[1], data={"csrf": _csrf(after)}, follow_redirects=False)
    assert undone.status_code == 303
    assert f"{gone[4:]}" not in web.get(f"/app/customers/{survivor}").text.split("Stage history")[0]
    assert web.get(f"/app/customers/{gone}").status_code == 200
    audit = web.get("/v1/audit", headers=key).json()["items"]
    actions = [(a["action"], a["actor"]) for a in audit]
    assert ("customer.merge", "user:web-admin") in actions
    assert ("customer.unmerge", "user:web-admin") in actions


def test_a_non_admin_sees_no_merge_buttons_and_a_forged_post_is_refused(
    seeded: Touchpoint, queued: dict[str, str]
) -> None:
    web = TestClient(create_app(seeded))
    _session(web, "manager")
    dee = queued["dee"]
    page = web.get(f"/app/customers/{dee}").text
    assert 'id="merge-form"' not in page and "/unmerge" not in page
    forged = web.post(
        f"/app/customers/{dee}/merge", data={"csrf": _csrf(page), "other": "eve@example.com"}
    )
    assert forged.status_code == 403 and "identity.change" in forged.text
    refused = web.post(f"/app/customers/{dee}/merges/1/unmerge", data={"csrf": _csrf(page)})
    assert refused.status_code == 403
    key = bearer(new_key(seeded, "admin"))
    assert web.get("/v1/identity/merges", headers=key).json()["total"] == 0
