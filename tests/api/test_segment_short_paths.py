"""What analytics.js sends (issue 16): the short paths `/v1/i`, `/v1/t`, `/v1/p`, `/v1/s`,
`/v1/a`, `/v1/g`, `/v1/b` as the Segment endpoints they stand for, with JSON bodies sent as
`text/plain` or with no content type, and the settings it loads from its CDN."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.api.test_segment_api import basic, call, customer
from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import create_key
from touchpoint.store.engine import write_transaction

SHOP = "https://shop.example.com"


def plain(body: dict[str, Any], content_type: str | None = "text/plain") -> dict[str, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    return {"content": json.dumps(body).encode(), "headers": headers}


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", None])
def test_each_short_path_is_its_segment_call(
    client: TestClient, ingest_key: str, read_key: str, content_type: str | None
) -> None:
    who = {"userId": "u-short", "writeKey": ingest_key}
    sends = [
        ("i", call("identify", "s-i", traits={"email": "sam@example.com"}, **who)),
        ("t", call("track", "s-t", event="Order Completed", properties={"revenue": 5}, **who)),
        ("p", call("page", "s-p", name="Pricing", **who)),
        ("s", call("screen", "s-s", name="Home", **who)),
        ("g", call("group", "s-g", groupId="acct-1", **who)),
        ("a", call("alias", "s-a", previousId="anon-short", **who)),
    ]
    for short, message in sends:
        message.pop("type")  # the path names the call, as analytics.js sends it
        answer = client.post(f"/v1/{short}", **plain(message, content_type))
        assert answer.status_code == 200, (short, answer.text)
        assert answer.json()["accepted"] == 1, (short, answer.text)
    batch = {"writeKey": ingest_key, "batch": [call("track", "s-b", userId="u-short", event="x")]}
    assert client.post("/v1/b", **plain(batch, content_type)).json()["accepted"] == 1
    timeline = customer(client, read_key, external_id="u-short")["timeline"]
    assert sorted((i["id"], i["type"]) for i in timeline) == [
        ("s-a", "alias"),
        ("s-b", "custom"),
        ("s-g", "custom"),
        ("s-i", "identify"),
        ("s-p", "page_view"),
        ("s-s", "page_view"),
        ("s-t", "purchase"),
    ]


def test_a_short_path_refuses_what_its_endpoint_refuses(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    no_event = client.post("/v1/t", **plain(call("track", "m", userId="u", writeKey=ingest_key)))
    assert no_event.status_code == 400 and no_event.json()["detail"].startswith("track: event")
    assert client.post("/v1/t", **plain({"writeKey": read_key, "event": "x"})).status_code == 403
    assert client.get("/v1/t").status_code == 405


def test_short_paths_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/t" not in paths and "/v1/b" not in paths
    assert "text/plain" in paths["/v1/track"]["post"]["requestBody"]["content"]


def browser_key(tp: Touchpoint, *origins: str) -> str:
    with write_transaction(tp.engine) as conn:
        return create_key(conn, scope="browser", origins=origins)[1]


def test_the_settings_send_analytics_js_to_touchpoint(tp: Touchpoint, client: TestClient) -> None:
    key = browser_key(tp, SHOP)
    answer = client.get(f"/v1/projects/{key}/settings", headers={"Origin": SHOP})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    settings = answer.json()
    assert settings["integrations"] == {
        "Segment.io": {
            "apiKey": key,
            "apiHost": "testserver/v1",  # the host the page asked, so its events come back here
            "protocol": "http",
            "unbundledIntegrations": [],
            "addBundledMetadata": True,
            "maybeBundledConfigIds": {},
            "versionSettings": {"componentTypes": ["browser"]},
        }
    }
    assert settings["metrics"] == {"sampleRate": 0}  # no usage counters posted to Segment
    assert settings["plan"]["track"]["__default"]["enabled"] is True
    assert (settings["edgeFunction"], settings["remotePlugins"]) == ({}, [])
    # Not from a page (curl): answered, it holds nothing the caller did not send.
    assert client.get(f"/v1/projects/{key}/settings").status_code == 200


def test_only_a_live_browser_key_has_settings(
    tp: Touchpoint, client: TestClient, ingest_key: str, admin_key: str
) -> None:
    key = browser_key(tp, SHOP)
    elsewhere = client.get(
        f"/v1/projects/{key}/settings", headers={"Origin": "https://evil.example.net"}
    )
    assert elsewhere.status_code == 403 and "access-control-allow-origin" not in elsewhere.headers
    for secret in (ingest_key, admin_key, "tp_browser_unknown"):
        answer = client.get(f"/v1/projects/{secret}/settings", headers={"Origin": SHOP})
        assert answer.status_code == 404, secret
        assert answer.json() == {"detail": "no browser key with this write key"}
        assert secret not in answer.text or secret == "tp_browser_unknown"


def test_a_browser_key_is_rate_limited_per_client_address(tmp_path: Any) -> None:
    from touchpoint.api.app import create_app
    from touchpoint.runtime import open_touchpoint
    from touchpoint.settings import Settings

    tp = open_touchpoint(Settings(data_dir=tmp_path, rate_limit_per_second=0.1, rate_limit_burst=2))
    try:
        key = browser_key(tp, SHOP)
        with write_transaction(tp.engine) as conn:
            server_key = create_key(conn, scope="ingest")[1]
        app = create_app(tp)

        def sends(address: str, secret: str, origin: str | None = SHOP) -> list[int]:
            with TestClient(app, client=(address, 50000)) as visitor:
                headers = {"Origin": origin} if origin else {}
                return [
                    visitor.post(
                        "/v1/t",
                        json={"anonymousId": "a", "event": "x", "messageId": f"{address}-{n}"},
                        headers={**headers, **basic(secret)},
                    ).status_code
                    for n in range(3)
                ]

        assert sends("203.0.113.1", key) == [200, 200, 429]
        assert sends("203.0.113.2", key) == [200, 200, 429]  # another visitor: their own bucket
        # A server key is one caller wherever it sends from (and is limited on Segment's paths).
        assert sends("198.51.100.1", server_key, None) == [200, 200, 429]
        assert sends("198.51.100.2", server_key, None) == [429, 429, 429]
    finally:
        tp.close()


def test_a_browser_key_reads_nothing(tp: Touchpoint, client: TestClient) -> None:
    key = browser_key(tp, SHOP)
    for path in ("/v1/customers", "/v1/lifecycle/summary", "/v1/keys", "/v1/projections"):
        answer = client.get(path, headers={"Origin": SHOP, **bearer(key)})
        assert answer.status_code == 403, path
