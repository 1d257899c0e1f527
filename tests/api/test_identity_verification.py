"""A browser key may not claim a userId a server identified unless the identify is signed
(issue 16): HMAC-SHA256(identity secret, userId) as hex in `context.user_hash`, computed here
with hashlib/hmac, not by the code under test."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_segment_api import basic, call, customer
from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import create_key, identity_secret
from touchpoint.store.engine import read_connection, write_transaction

SHOP = "https://shop.example.com"


@pytest.fixture
def page_key(tp: Touchpoint) -> tuple[str, str]:
    """A browser key's write key and identity secret."""
    with write_transaction(tp.engine) as conn:
        key, secret = create_key(conn, scope="browser", origins=[SHOP])
    with read_connection(tp.engine) as conn:
        return secret, identity_secret(conn, key.id)


def signed(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def from_page(client: TestClient, write_key: str, path: str, body: dict[str, Any]) -> Any:
    body = {**body, "writeKey": write_key}
    body.pop("type", None)
    headers = {"Content-Type": "text/plain", "Origin": SHOP}
    return client.post(f"/v1/{path}", content=json.dumps(body).encode(), headers=headers)


def server_identifies(client: TestClient, ingest_key: str, user_id: str, message_id: str) -> None:
    body = call("identify", message_id, userId=user_id, traits={"email": f"{user_id}@x.org"})
    assert client.post("/v1/identify", json=body, headers=basic(ingest_key)).status_code == 200


def ids(view: dict[str, Any]) -> list[str]:
    return sorted(i["id"] for i in view["timeline"])


def test_a_new_user_id_is_claimed_unsigned_and_again_from_another_device(
    client: TestClient, read_key: str, page_key: tuple[str, str]
) -> None:
    write_key, _ = page_key
    first = call("identify", "b-1", userId="u-new", anonymousId="laptop")
    second = call("identify", "b-2", userId="u-new", anonymousId="phone")
    assert from_page(client, write_key, "i", first).json()["accepted"] == 1
    assert from_page(client, write_key, "i", second).json()["accepted"] == 1
    assert ids(customer(client, read_key, external_id="u-new")) == ["b-1", "b-2"]
    assert (
        customer(client, read_key, anonymous_id="phone")["id"]
        == customer(client, read_key, anonymous_id="laptop")["id"]
    )


@pytest.mark.parametrize("user_hash", [None, "0" * 64, "not hex"])
def test_an_unsigned_claim_on_a_server_identified_user_is_kept_apart(
    client: TestClient,
    ingest_key: str,
    read_key: str,
    page_key: tuple[str, str],
    user_hash: str | None,
) -> None:
    write_key, _ = page_key
    server_identifies(client, ingest_key, "u-owned", "srv-1")
    context = {"user_hash": user_hash} if user_hash else {}
    claim = call(
        "identify",
        "b-evil",
        userId="u-owned",
        anonymousId="evil",
        traits={"email": "u-owned@x.org"},
        context=context,
    )
    assert from_page(client, write_key, "i", claim).json()["accepted"] == 1
    visit = call("page", "b-evil-page", userId="u-owned", anonymousId="evil", context=context)
    assert from_page(client, write_key, "p", visit).json()["accepted"] == 1
    owner = customer(client, read_key, external_id="u-owned")
    assert ids(owner) == ["srv-1"]
    stranger = customer(client, read_key, anonymous_id="evil")
    assert stranger["id"] != owner["id"]
    assert ids(stranger) == ["b-evil", "b-evil-page"]


def test_a_signed_claim_on_a_server_identified_user_links(
    client: TestClient, ingest_key: str, read_key: str, page_key: tuple[str, str]
) -> None:
    write_key, secret = page_key
    server_identifies(client, ingest_key, "u-owned", "srv-1")
    visit = call("page", "b-anon", anonymousId="laptop")
    claim = call(
        "identify",
        "b-signed",
        userId="u-owned",
        anonymousId="laptop",
        context={"user_hash": signed(secret, "u-owned")},
    )
    assert from_page(client, write_key, "p", visit).json()["accepted"] == 1
    batch = {"batch": [{**claim, "type": "identify"}]}
    assert from_page(client, write_key, "b", batch).json()["accepted"] == 1
    assert ids(customer(client, read_key, external_id="u-owned")) == ["b-anon", "b-signed", "srv-1"]


def test_a_server_identify_ends_a_browser_claim(
    client: TestClient, ingest_key: str, read_key: str, page_key: tuple[str, str]
) -> None:
    write_key, _ = page_key
    first = call("identify", "b-1", userId="u-later", anonymousId="laptop")
    assert from_page(client, write_key, "i", first).json()["accepted"] == 1
    server_identifies(client, ingest_key, "u-later", "srv-1")
    again = call("identify", "b-2", userId="u-later", anonymousId="phone")
    assert from_page(client, write_key, "i", again).json()["accepted"] == 1
    assert ids(customer(client, read_key, external_id="u-later")) == ["b-1", "srv-1"]
    assert ids(customer(client, read_key, anonymous_id="phone")) == ["b-2"]


def test_an_unsigned_claim_without_anonymous_id_or_an_alias_of_an_owned_user_is_refused(
    client: TestClient, ingest_key: str, read_key: str, page_key: tuple[str, str]
) -> None:
    write_key, _ = page_key
    server_identifies(client, ingest_key, "u-owned", "srv-1")
    bare = from_page(client, write_key, "t", call("track", "b-t", userId="u-owned", event="x"))
    assert bare.status_code == 400 and "context.user_hash" in bare.json()["detail"]
    alias = call("alias", "b-a", userId="u-mine", previousId="u-owned")
    refused = from_page(client, write_key, "a", alias)
    assert refused.status_code == 400 and "previousId" in refused.json()["detail"]
    assert ids(customer(client, read_key, external_id="u-owned")) == ["srv-1"]
