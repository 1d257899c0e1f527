"""RudderStack's JavaScript SDK's `/v1/sourceConfig` (issue 16): only a live browser key has a
source config, and only for a page on its origins."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.api.test_segment_short_paths import SHOP, browser_key
from touchpoint.runtime import Touchpoint


def test_a_browser_key_gets_a_source_config_with_no_destinations(
    tp: Touchpoint, client: TestClient
) -> None:
    key = browser_key(tp, SHOP)
    answer = client.get(f"/v1/sourceConfig/?p=npm&writeKey={key}", headers={"Origin": SHOP})
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == SHOP
    source = answer.json()["source"]
    assert source["destinations"] == [] and source["writeKey"] == key and source["id"]
    assert source["config"]["statsCollection"]["metrics"]["enabled"] is False
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    assert client.get("/v1/sourceConfig", headers=basic).status_code == 200


def test_other_keys_get_no_source_config(
    tp: Touchpoint, client: TestClient, ingest_key: str
) -> None:
    key = browser_key(tp, SHOP)
    other = client.get(
        f"/v1/sourceConfig/?writeKey={key}", headers={"Origin": "https://evil.example"}
    )
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    assert client.get(f"/v1/sourceConfig/?writeKey={ingest_key}").status_code == 404
    assert client.get("/v1/sourceConfig/?writeKey=tp_browser_nope").status_code == 404
    assert client.get("/v1/sourceConfig/").status_code == 404
