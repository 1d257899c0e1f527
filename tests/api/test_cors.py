"""CORS on the ingest paths, answered by browser keys' origins (issue 16): the preflight for any
origin some live browser key allows, the request itself for its own key's origins only, and no
CORS header at all on reads or administration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer
from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import create_key, list_keys, revoke_key
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import interactions

SHOP = "https://shop.example.com"
BLOG = "https://blog.example.org"  # another site, with its own browser key
ELSEWHERE = "https://evil.example.net"  # no key allows it


def browser_key(tp: Touchpoint, *origins: str, **options: Any) -> str:
    with write_transaction(tp.engine) as conn:
        return create_key(conn, scope="browser", origins=origins, **options)[1]


def preflight(client: TestClient, path: str, origin: str, **extra: str) -> Any:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST", **extra}
    return client.options(path, headers=headers)


def page_view(client: TestClient, key: str, origin: str | None, message_id: str) -> Any:
    """What analytics.js sends for page(): text/plain JSON with the write key in the body."""
    body = {"writeKey": key, "anonymousId": "anon-1", "messageId": message_id, "properties": {}}
    headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
    return client.post("/v1/p", content=json.dumps(body), headers=headers)


def stored(tp: Touchpoint, message_id: str) -> bool:
    with read_connection(tp.engine) as conn:
        query = interactions.select().where(interactions.c.id == message_id)
        return conn.execute(query).first() is not None


@pytest.fixture
def sites(tp: Touchpoint) -> dict[str, str]:
    return {SHOP: browser_key(tp, SHOP), BLOG: browser_key(tp, BLOG)}


def test_a_preflight_is_answered_for_an_origin_some_browser_key_allows(
    client: TestClient, sites: dict[str, str]
) -> None:
    answer = preflight(
        client, "/v1/t", SHOP, **{"Access-Control-Request-Headers": "authorization,content-type"}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert answer.headers["access-control-allow-methods"] == "POST"
    allowed = answer.headers["access-control-allow-headers"].split(", ")
    assert {"authorization", "content-type", "x-retry-count"} <= set(allowed)
    assert answer.headers["access-control-max-age"] == "600"
    assert answer.headers["vary"].startswith("Origin")
    assert "access-control-allow-credentials" not in answer.headers  # no cookies, ever


def test_a_preflight_from_an_origin_no_key_allows_is_refused(
    client: TestClient, sites: dict[str, str]
) -> None:
    answer = preflight(client, "/v1/batch", ELSEWHERE)
    assert (answer.status_code, answer.text) == (400, "Disallowed CORS origin")
    assert "access-control-allow-origin" not in answer.headers
    odd = preflight(client, "/v1/t", SHOP, **{"Access-Control-Request-Headers": "x-evil"})
    assert (odd.status_code, odd.text) == (400, "Disallowed CORS headers")
    put = client.options("/v1/t", headers={"Origin": SHOP, "Access-Control-Request-Method": "PUT"})
    assert (put.status_code, put.text) == (400, "Disallowed CORS method")


def test_a_revoked_or_expired_key_opens_no_preflight(tp: Touchpoint, client: TestClient) -> None:
    browser_key(tp, SHOP)
    with write_transaction(tp.engine) as conn:
        (key,) = [k for k in list_keys(conn) if k.origins]
        revoke_key(conn, key.id)
    assert preflight(client, "/v1/p", SHOP).status_code == 400
    browser_key(tp, SHOP, expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert preflight(client, "/v1/p", SHOP).status_code == 200


def test_the_request_is_answered_for_its_own_key_s_origins_only(
    tp: Touchpoint, client: TestClient, sites: dict[str, str]
) -> None:
    mine = page_view(client, sites[SHOP], SHOP, "m-shop")
    assert mine.status_code == 200, mine.text
    assert mine.headers["access-control-allow-origin"] == SHOP
    assert mine.headers["access-control-expose-headers"] == "Retry-After"
    assert "Origin" in mine.headers["vary"]
    # The blog's origin passes a preflight (its own key allows it) but not the shop's key.
    theirs = page_view(client, sites[SHOP], BLOG, "m-blog")
    assert theirs.status_code == 403
    assert "does not allow the origin 'https://blog.example.org'" in theirs.json()["detail"]
    assert "access-control-allow-origin" not in theirs.headers
    # Not from a page at all (no Origin): a browser key is for pages only.
    bare = page_view(client, sites[SHOP], None, "m-bare")
    assert bare.status_code == 403 and "no Origin header" in bare.json()["detail"]
    assert (stored(tp, "m-shop"), stored(tp, "m-blog"), stored(tp, "m-bare")) == (
        True,
        False,
        False,
    )


def test_the_key_in_the_authorization_header_is_held_to_its_origins_too(
    client: TestClient, sites: dict[str, str]
) -> None:
    message = {"anonymousId": "anon-2", "event": "Signed Up", "messageId": "m-h"}
    for origin, status in ((SHOP, 200), (ELSEWHERE, 403)):
        answer = client.post(
            "/v1/track", json=message, headers={"Origin": origin, **bearer(sites[SHOP])}
        )
        assert answer.status_code == status, answer.text
        assert ("access-control-allow-origin" in answer.headers) is (status == 200)


def test_a_wildcard_origin_allows_subdomains_only(tp: Touchpoint, client: TestClient) -> None:
    key = browser_key(tp, "https://*.example.com")
    results = {
        origin: page_view(client, key, origin, f"m-{n}").status_code
        for n, origin in enumerate(
            [
                "https://shop.example.com",
                "https://a.b.example.com",
                "https://example.com",
                "http://shop.example.com",
                "https://shop.example.com:8443",
                "https://shopexample.com",
                "null",
            ]
        )
    }
    assert results == {
        "https://shop.example.com": 200,
        "https://a.b.example.com": 200,
        "https://example.com": 403,
        "http://shop.example.com": 403,
        "https://shop.example.com:8443": 403,
        "https://shopexample.com": 403,
        "null": 403,
    }


def test_an_answer_given_before_any_key_is_known_is_readable_by_known_origins(
    client: TestClient, sites: dict[str, str]
) -> None:
    unknown = page_view(client, "tp_browser_nope", SHOP, "m-x")
    assert unknown.status_code == 401
    assert unknown.headers["access-control-allow-origin"] == SHOP  # the SDK can see why
    hidden = page_view(client, "tp_browser_nope", ELSEWHERE, "m-y")
    assert hidden.status_code == 401 and "access-control-allow-origin" not in hidden.headers


def test_a_server_key_sent_from_a_page_gets_no_cors_answer(
    tp: Touchpoint, client: TestClient, sites: dict[str, str], ingest_key: str
) -> None:
    """A simple request cannot be stopped before it arrives, so it is stored; but the page can
    read nothing back, not even from an origin a browser key allows."""
    answer = page_view(client, ingest_key, SHOP, "m-server")
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_reads_and_administration_never_get_cors(
    client: TestClient, sites: dict[str, str], admin_key: str
) -> None:
    for path in ("/v1/customers", "/v1/keys", "/v1/interactions", "/v1/analytics/funnel"):
        answer = client.options(
            path, headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in answer.headers, path
        assert answer.status_code == 405, path
        read = client.get(path, headers={"Origin": SHOP, **bearer(admin_key)})
        assert "access-control-allow-origin" not in read.headers, path
