"""Lifecycle over HTTP: stage and history in the customer view, counts per stage, the server clock."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.store import lifecycle as store
from touchpoint.store.engine import read_connection


def test_customer_view_shows_stage_and_history(
    client: TestClient, manager_key: str, read_key: str
) -> None:
    results = send(
        client,
        manager_key,
        interaction(id="x1", type="ad_click", channel="ad", at=0, email="li@example.com"),
        interaction(id="x2", type="purchase", at=3, revenue=12.5, email="li@example.com"),
    )
    view = client.get(f"/v1/customers/{results[0]['customer_id']}", headers=bearer(read_key))
    assert view.status_code == 200
    lifecycle = view.json()["lifecycle"]
    assert lifecycle["stage"] == "conversion" and lifecycle["model"] == "default@2"
    assert [
        (h["from_stage"], h["to_stage"], h["interaction_id"]) for h in lifecycle["history"]
    ] == [
        (None, "reach", "x1"),
        ("reach", "conversion", "x2"),
    ]


def test_summary_counts_each_stage_now_and_then(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    send(
        client,
        ingest_key,
        interaction(type="page_view", at=0, email="a@example.com"),
        interaction(type="signup", at=60, email="a@example.com"),
        interaction(type="page_view", at=0, email="b@example.com"),
    )
    now = client.get("/v1/lifecycle/summary", headers=bearer(read_key)).json()
    counts = {s["stage"]: s["customers"] for s in now["stages"]}
    assert now["total"] == 2 and counts["reach"] == 1 and counts["acquisition"] == 1
    assert list(counts)[:3] == ["reach", "acquisition", "conversion"]  # model order, zeros kept
    then = client.get(
        "/v1/lifecycle/summary",
        params={"at": "2026-01-01T12:30:00+00:00"},
        headers=bearer(read_key),
    ).json()
    assert {s["stage"]: s["customers"] for s in then["stages"]}["reach"] == 2


def test_summary_reads_a_moment_without_a_zone_as_utc_and_needs_a_key(
    client: TestClient, read_key: str
) -> None:
    naive = client.get(
        "/v1/lifecycle/summary", params={"at": "2026-01-01T09:00:00"}, headers=bearer(read_key)
    )
    assert naive.status_code == 200 and naive.json()["at"] == "2026-01-01T09:00:00Z"
    epoch = client.get("/v1/lifecycle/summary", params={"at": "0.5"}, headers=bearer(read_key))
    assert epoch.status_code == 422
    assert epoch.json()["detail"].startswith("at: '0.5' is a number, not a moment")
    assert client.get("/v1/lifecycle/summary").status_code == 401


def test_the_server_runs_the_lifecycle_clock(tp: Touchpoint) -> None:
    with TestClient(create_app(tp, background_jobs=True)):
        pass
    with read_connection(tp.engine) as conn:
        assert "clock" in store.read_meta(conn)


def test_customers_can_be_listed_by_stage_newest_arrivals_first(
    client: TestClient, ingest_key: str, read_key: str
) -> None:
    send(
        client,
        ingest_key,
        interaction(type="page_view", at=0, email="a@example.com"),
        interaction(type="signup", at=60, email="b@example.com"),
        interaction(type="signup", at=120, email="c@example.com"),
    )

    def listed(**params: str) -> dict:
        response = client.get("/v1/customers", params=params, headers=bearer(read_key))
        assert response.status_code == 200, response.text
        return response.json()

    leads = listed(stage="acquisition")
    assert leads["total"] == 2
    assert [(c["email"], c["stage"]) for c in leads["items"]] == [
        ("c@example.com", "acquisition"),
        ("b@example.com", "acquisition"),
    ]
    assert (
        listed(stage="acquisition", limit="1", offset="1")["items"][0]["email"] == "b@example.com"
    )
    assert listed(stage="acquisition", email="a@example.com")["total"] == 0
    assert listed(stage="reach", email="a@example.com")["items"][0]["stage"] == "reach"
    assert listed()["total"] == 3
    unknown = client.get("/v1/customers", params={"stage": "lost"}, headers=bearer(read_key))
    assert unknown.status_code == 422
    assert (
        "unknown stage 'lost'" in unknown.json()["detail"] and "at_risk" in unknown.json()["detail"]
    )
