"""Roles, enforced in one place: generated from the API's route table, so that an operation added
without a permission fails here, and every role lacking an operation's permission is shown to be
refused it (403), while every role holding it gets past the check (whatever the dummy request
then answers, it is not 401 or 403)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.builders import interaction
from touchpoint.api.app import create_app
from touchpoint.api.deps import operations as api_operations
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.keys import create_key
from touchpoint.services.users import create_user
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction

# Operations anyone may call: liveness, the documentation (served from an installed package), and
# analytics.js's settings, whose key is in the path (they hold nothing but that key).
PUBLIC = {
    "/health",
    "/openapi.json",
    "/docs",
    "/docs/assets/{name}",
    "/redoc",
    "/docs/oauth2-redirect",
    "/v1/projects/{write_key}/settings",
    "/v1/sourceConfig",  # RudderStack's settings: the browser key in the query, the same
    "/v1/sourceConfig/",
    "/v1/unsubscribe/{token}",  # RFC 8058 one-click: the signed link is the credential
    "/v1/survey/{token}",  # a survey email's score link: the same
}
SCOPES = ("ingest", "read", "browser", "admin", "manager", "agent", "analyst")
PAGE = "https://shop.example.com"  # the browser key's origin: its requests come from there

# The policy as the issue states it, written out here by hand (not read from domain.access): who
# may do each thing. admin: users, keys, config, merges, erasure; manager: everything
# operational; agent: customers and contacts, no exports or analytics; analyst: aggregates and
# pseudonymised rows; ingest: writes only; read: every read, no change; browser (issue 16): a
# public write key, ingest only.
EXPECTED = {
    "interactions.write": {"ingest", "browser", "admin", "manager", "agent"},
    "decisions.read": {"browser", "ingest", "read", "admin", "manager", "agent"},
    "customers.read": {"read", "admin", "manager", "agent"},
    "customers.list": {"read", "admin", "manager", "agent", "analyst"},
    "lifecycle.read": {"read", "admin", "manager", "agent", "analyst"},
    "projections.read": {"read", "admin", "manager", "agent", "analyst"},
    "analytics.read": {"read", "admin", "manager", "analyst"},
    "identity.read": {"read", "admin", "manager"},
    "identity.change": {"admin"},
    "keys.admin": {"admin"},
    "users.admin": {"admin"},
    "audit.read": {"admin"},
    "privacy.export": {"admin"},
    "privacy.erase": {"admin"},
    "cc.route": {"admin", "manager", "agent"},
    "cc.read": {"read", "admin", "manager", "agent", "analyst"},
    "cc.config": {"admin"},
    "scores.config": {"admin"},
    "tickets.read": {"read", "admin", "manager", "agent"},
    "tickets.write": {"admin", "manager", "agent"},
    "campaigns.write": {"admin", "manager"},
    "segments.write": {"admin", "manager"},
    "playbooks.read": {"read", "admin", "manager"},
    "playbooks.write": {"admin", "manager"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Touchpoint, dict[str, str]]]:
    tp = open_touchpoint(Settings(data_dir=tmp_path_factory.mktemp("access")))
    with write_transaction(tp.engine) as conn:
        secrets = {
            scope: create_key(conn, scope=scope, origins=[PAGE] if scope == "browser" else ())[1]
            for scope in SCOPES
        }
    yield tp, secrets
    tp.close()


@pytest.fixture(scope="module")
def client(world: tuple[Touchpoint, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(world[0])) as test_client:
        yield test_client


def operations(client: TestClient) -> list[tuple[str, str, str | None]]:
    """(method, path, permission) of every operation, read from the app's route table."""
    return api_operations(client.app)  # type: ignore[arg-type]


def concrete(path: str) -> str:
    """The path with each parameter filled by a value valid in form (there is nothing by it)."""
    samples = {"key_id": "key_000000000000", "merge_id": "1", "conflict_id": "1"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m[1], "nobody"), path)


def test_every_operation_declares_a_permission_the_policy_knows(client: TestClient) -> None:
    undeclared = [
        f"{method} {path}"
        for method, path, permission in operations(client)
        if path not in PUBLIC and permission is None
    ]
    assert undeclared == []
    declared = {permission for _, _, permission in operations(client)} - {None}
    assert declared <= set(EXPECTED), declared - set(EXPECTED)


def test_the_policy_table_is_the_one_the_issue_states() -> None:
    from touchpoint.domain.access import PERMISSIONS

    assert {name: set(roles) for name, roles in PERMISSIONS.items()} == EXPECTED


def test_each_role_lacking_an_operation_s_permission_is_refused_it(
    client: TestClient, world: tuple[Touchpoint, dict[str, str]]
) -> None:
    _, secrets = world
    checked = 0
    for method, path, permission in operations(client):
        if permission is None:
            continue
        url = concrete(path)
        assert client.request(method, url).status_code == 401, f"{method} {url} without a key"
        for scope in SCOPES:
            headers = bearer(secrets[scope]) | ({"Origin": PAGE} if scope == "browser" else {})
            response = client.request(method, url, headers=headers)
            where = f"{method} {url} as {scope}"
            if scope in EXPECTED[permission]:
                assert response.status_code not in (401, 403), (where, response.text)
            else:
                assert response.status_code == 403, (where, response.text)
                assert response.json()["detail"] == (
                    f"this key's role, {scope}, may not do this ({permission}); allowed: "
                    + ", ".join(s for s in SCOPES if s in EXPECTED[permission])
                )
            checked += 1
    assert checked >= 6 * 25  # every operation (25 or more), every scope


def test_each_operation_s_description_names_who_may_call_it(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    merge = paths["/v1/customers/{customer_id}/merge"]["post"]["description"]
    assert merge.endswith("**Who may call it**: admin (permission `identity.change`).")
    assert merge.count("Who may call it") == 1
    track = paths["/v1/track"]["post"]["description"]
    assert "**Who may call it**: ingest, browser, admin, manager, agent" in track


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_users_sign_in_with_basic_auth_and_their_role_decides(
    client: TestClient, world: tuple[Touchpoint, dict[str, str]]
) -> None:
    tp, secrets = world
    with write_transaction(tp.engine) as conn:
        create_user(conn, name="ana", role="analyst", password="correct horse battery")
        create_user(conn, name="al", role="agent", password="another long secret")
    # An analyst sees the stage counts, and a customer list without names, emails or traits.
    client.post(
        "/v1/interactions",
        json=interaction(email="pseudo@example.com", traits={"name": "Pia Seudo", "city": "Oslo"}),
        headers=bearer(secrets["manager"]),
    )
    ana = basic("ana", "correct horse battery")
    assert client.get("/v1/lifecycle/summary", headers=ana).status_code == 200
    listed = client.get("/v1/customers", headers=ana)
    assert listed.status_code == 200, listed.text
    (row,) = listed.json()["items"]
    assert (row["name"], row["email"], row["traits"]) == (None, None, {})
    assert row["id"].startswith("cus_") and row["interaction_count"] == 1
    # … but may not look a person up by email, nor open a profile.
    assert client.get("/v1/customers?email=pseudo@example.com", headers=ana).status_code == 403
    assert client.get(f"/v1/customers/{row['id']}", headers=ana).status_code == 403
    # An agent opens the profile, with its contact details, but runs no report.
    al = basic("al", "another long secret")
    view = client.get(f"/v1/customers/{row['id']}", headers=al)
    assert view.status_code == 200 and view.json()["email"] == "pseudo@example.com"
    assert client.get("/v1/analytics/funnel", headers=al).status_code == 403
    # A wrong password, an unknown user and a disabled user get the same 401.
    refused = [
        client.get("/v1/lifecycle/summary", headers=basic("ana", "wrong password!!")),
        client.get("/v1/lifecycle/summary", headers=basic("nobody", "correct horse battery")),
    ]
    assert {(r.status_code, r.json()["detail"]) for r in refused} == {
        (401, "invalid user name or password")
    }


def test_an_ingest_key_learns_nothing_about_profiles(
    client: TestClient, world: tuple[Touchpoint, dict[str, str]]
) -> None:
    _, secrets = world
    known = interaction(email="known@example.com")
    first = client.post("/v1/interactions", json=known, headers=bearer(secrets["manager"]))
    assert first.json()["customer_id"].startswith("cus_")
    # Another interaction naming the same person, through an ingest key: recorded, no customer.
    again = interaction(email="known@example.com", at=5)
    answer = client.post("/v1/interactions", json=again, headers=bearer(secrets["ingest"]))
    assert answer.status_code == 201 and answer.json()["customer_id"] is None
    batch = client.post(
        "/v1/interactions/batch",
        json=[interaction(email="known@example.com", at=9)],
        headers=bearer(secrets["ingest"]),
    )
    assert [r["customer_id"] for r in batch.json()["results"]] == [None]
