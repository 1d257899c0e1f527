"""Saving and deleting a segment are in the audit trail with who did it (issue 9): over HTTP the
key's id, in the CLI `cli:<os user>`; the entry names the segment, its rule and member count."""

from __future__ import annotations

import getpass
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.segments.test_segments_faces import buys
from tests.test_cli import touchpoint
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import audit
from touchpoint.services.keys import create_key
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection, write_transaction


def _entries(tp: Touchpoint, action: str) -> list[audit.AuditEntry]:
    with read_connection(tp.engine) as conn:
        return audit.entries(conn, action=action)[1]


def test_creating_and_deleting_over_http_are_audited_with_the_key(
    tp: Touchpoint, client: TestClient
) -> None:
    with write_transaction(tp.engine) as conn:
        key, secret = create_key(conn, scope="manager")
    send(client, secret, *buys("ann", 1, 2), *buys("bob", 1, 1))
    rule = "purchased >= 2 times in last 30 days"
    created = client.post(
        "/v1/segments", json={"name": "repeat", "rule": rule}, headers=bearer(secret)
    )
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    [made] = _entries(tp, "segment.create")
    assert (made.actor, made.subject) == (key.id, segment_id)
    # ann bought twice in the window, bob once: one member
    assert made.detail["name"] == "repeat" and made.detail["members"] == 1
    assert made.detail["rule"] == created.json()["rule_json"]
    assert _entries(tp, "segment.delete") == []
    assert client.delete("/v1/segments/repeat", headers=bearer(secret)).status_code == 200
    [gone] = _entries(tp, "segment.delete")
    assert (gone.actor, gone.subject, gone.detail["name"]) == (key.id, segment_id, "repeat")


def test_a_refused_segment_writes_no_audit_entry(tp: Touchpoint, client: TestClient) -> None:
    with write_transaction(tp.engine) as conn:
        _, secret = create_key(conn, scope="manager")
    bad = client.post(
        "/v1/segments", json={"name": "x", "rule": "purchased >="}, headers=bearer(secret)
    )
    assert bad.status_code == 422
    assert client.delete("/v1/segments/nothing", headers=bearer(secret)).status_code == 404
    assert _entries(tp, "segment.create") == _entries(tp, "segment.delete") == []


def test_the_cli_audits_create_and_delete_as_its_user(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert touchpoint("init", data_dir=data).returncode == 0
    assert touchpoint("segment", "create", "old", "age > 30", data_dir=data).returncode == 0
    assert touchpoint("segment", "delete", "old", "--yes", data_dir=data).returncode == 0
    tp = open_touchpoint(Settings(data_dir=data))
    try:
        [made], [gone] = _entries(tp, "segment.create"), _entries(tp, "segment.delete")
    finally:
        tp.close()
    assert made.actor == gone.actor == f"cli:{getpass.getuser()}"
    assert made.subject == gone.subject and made.detail["name"] == "old"
