"""The audit trail: reads of a person, searches, merges and key changes are recorded with who
did them; GET /v1/audit (admin) and `touchpoint audit` list them, filtered."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from tests.test_cli import touchpoint
from touchpoint.runtime import Touchpoint
from touchpoint.services import keys as key_service
from touchpoint.store.engine import write_transaction


def _key(tp: Touchpoint, scope: str) -> tuple[str, str]:
    with write_transaction(tp.engine) as conn:
        key, secret = key_service.create_key(conn, scope=scope)
    return key.id, secret


def test_views_searches_merges_and_keys_are_recorded(
    client: TestClient, tp: Touchpoint, ingest_key: str
) -> None:
    admin_id, admin = _key(tp, "admin")
    reader_id, reader = _key(tp, "read")
    send(
        client,
        ingest_key,
        interaction(email="au@example.com", at=0),
        interaction(email="bo@example.com", at=1),
    )
    found = client.get("/v1/customers?email=au@example.com", headers=bearer(reader)).json()
    au = found["items"][0]["id"]
    bo = client.get("/v1/customers?email=bo@example.com", headers=bearer(reader)).json()
    bo = bo["items"][0]["id"]
    assert client.get(f"/v1/customers/{au}", headers=bearer(reader)).status_code == 200
    client.get("/v1/customers?stage=reach", headers=bearer(reader))  # a listing, not a search
    merged = client.post(
        f"/v1/customers/{au}/merge", json={"customer_id": bo}, headers=bearer(admin)
    )
    assert merged.status_code == 200, merged.text

    trail = client.get("/v1/audit", headers=bearer(admin)).json()
    got = [(e["actor"], e["action"], e["subject"]) for e in reversed(trail["items"])]
    assert got[0][:2] == ("system", "key.create")  # the ingest_key fixture's
    assert got[1:] == [
        ("system", "key.create", admin_id),
        ("system", "key.create", reader_id),
        (reader_id, "customer.search", None),
        (reader_id, "customer.search", None),
        (reader_id, "customer.view", au),
        (admin_id, "customer.merge", got[-1][2]),
    ]
    survivor, detail = got[-1][2], trail["items"][0]["detail"]  # the older survives
    assert {survivor, detail["merged"]} == {au, bo} and survivor != detail["merged"]
    assert trail["items"][2]["detail"] == {"by": ["email"], "found": 1}  # never the address
    only = client.get("/v1/audit?action=customer.view", headers=bearer(admin)).json()
    assert only["total"] == 1 and only["items"][0]["subject"] == au
    by_reader = client.get(f"/v1/audit?actor={reader_id}", headers=bearer(admin)).json()
    assert by_reader["total"] == 3
    assert client.get("/v1/audit?action=nope", headers=bearer(admin)).status_code == 422
    assert client.get("/v1/audit", headers=bearer(reader)).status_code == 403


def test_the_cli_records_its_os_user_and_lists_the_trail(tmp_path: Path) -> None:
    import getpass

    from tests.projections.test_registry import write_jsonl

    path = write_jsonl(tmp_path / "e.jsonl", [interaction(id="c1", email="cy@example.com")])
    assert touchpoint("import", str(path), data_dir=tmp_path).returncode == 0
    assert touchpoint("customer", "show", "cy@example.com", data_dir=tmp_path).returncode == 0
    exported = touchpoint("customer", "list", "--format", "csv", data_dir=tmp_path)
    assert exported.returncode == 0
    listed = touchpoint("audit", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"cli:{getpass.getuser()}" in listed.stdout
    assert "customer.view" in listed.stdout and "customer.export" in listed.stdout
    views = touchpoint("audit", "--action", "customer.view", data_dir=tmp_path)
    assert "customer.export" not in views.stdout and "customer.view" in views.stdout
