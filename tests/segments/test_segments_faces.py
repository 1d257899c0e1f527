"""Segments over HTTP and in the CLI: saving (the language or its JSON form), preview, members
(pseudonymised for analysts), counts over time, delete; mistakes as a 4xx or one line naming the
line and column."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.conftest import new_key
from tests.test_cli import touchpoint
from touchpoint.runtime import Touchpoint

RECENT = datetime.now(UTC) - timedelta(days=3)


def buys(who: str, n: int, times: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{who}-{n}-{i}",
            "type": "purchase",
            "channel": "web",
            "occurred_at": (RECENT - timedelta(days=i)).isoformat(),
            "customer": {"email": f"{who}@example.com"},
            "traits": {"age": 40 if who == "ann" else 25},
        }
        for i in range(times)
    ]


def test_segments_over_http(tp: Touchpoint, client: TestClient, manager_key: str) -> None:
    send(client, manager_key, *buys("ann", 1, 2), *buys("bob", 1, 1))
    manager = bearer(manager_key)
    rule = "purchased >= 2 times in last 30 days"
    preview = client.post("/v1/segments/preview", json={"rule": rule}, headers=manager)
    assert preview.status_code == 200 and preview.json()["members"] == 1, preview.text
    created = client.post("/v1/segments", json={"name": "repeat", "rule": rule}, headers=manager)
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["members"], segment["rule"]) == (1, rule)
    # the JSON form of the same rule is accepted and means the same
    as_json = {"name": "repeat-json", "rule": segment["rule_json"]}
    again = client.post("/v1/segments", json=as_json, headers=manager)
    assert again.status_code == 201 and again.json()["members"] == 1
    assert client.post("/v1/segments", json=as_json, headers=manager).status_code == 409
    listed = client.get("/v1/segments", headers=manager).json()["items"]
    assert [s["name"] for s in listed] == ["repeat", "repeat-json"]
    members = client.get(f"/v1/segments/{segment['id']}/members", headers=manager).json()
    assert members["total"] == 1 and members["items"][0]["email"] == "ann@example.com"
    # an analyst sees who, pseudonymously: no email
    analyst = bearer(new_key(tp, "analyst"))
    seen = client.get("/v1/segments/repeat/members", headers=analyst).json()["items"]
    assert seen[0]["customer_id"] == members["items"][0]["customer_id"]
    assert seen[0]["email"] is None and seen[0]["name"] is None
    counts = client.get(f"/v1/segments/{segment['id']}/counts", headers=analyst)
    assert counts.status_code == 200
    [today] = counts.json()["items"]
    assert (today["entered"], today["left"], today["members"]) == (1, 0, 1)
    # bob buys again: he enters, inline
    send(client, manager_key, *buys("bob", 2, 1))
    assert client.get("/v1/segments/repeat", headers=manager).json()["members"] == 2
    assert client.post("/v1/segments", json=as_json, headers=analyst).status_code == 403
    deleted = client.delete("/v1/segments/repeat-json", headers=manager)
    assert deleted.status_code == 200
    assert client.get("/v1/segments/repeat-json", headers=manager).status_code == 404


def test_bad_rules_over_http_name_the_problem(client: TestClient, manager_key: str) -> None:
    manager = bearer(manager_key)
    bad = client.post(
        "/v1/segments",
        json={"name": "x", "rule": "purchased >= 2\n times in last days"},
        headers=manager,
    )
    assert bad.status_code == 422
    assert "segment 'x', line 2, column 16: unexpected 'days'" in bad.text
    unknown = client.post("/v1/segments/preview", json={"rule": "score.nope > 3"}, headers=manager)
    assert unknown.status_code == 422 and "no score model named 'nope'" in unknown.text
    shaped = client.post(
        "/v1/segments/preview",
        json={"rule": {"event": {"type": "purchase"}, "count": "two"}},
        headers=manager,
    )
    assert shaped.status_code == 422 and "$.count: expected a whole number" in shaped.text
    assert client.post("/v1/segments", json={"name": "y"}, headers=manager).status_code == 422
    assert client.get("/v1/segments/nobody/members", headers=manager).status_code == 404


def test_the_cli_creates_shows_lists_exports_and_deletes(tmp_path: Path) -> None:
    data, events = tmp_path / "data", tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [*buys("ann", 1, 2), *buys("bob", 1, 1)]))
    assert touchpoint("import", str(events), data_dir=data).returncode == 0
    rule = "purchased >= 2 times in last 30 days and age > 30"
    preview = touchpoint("segment", "preview", rule, data_dir=data)
    assert preview.returncode == 0 and "1 customers match now" in preview.stdout, preview.stderr
    created = touchpoint("segment", "create", "repeat", rule, data_dir=data)
    assert created.returncode == 0 and "1 members" in created.stdout, created.stderr
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps({"trait": "age", "op": "<", "value": 30}))
    assert touchpoint("segment", "create", "young", "--file", str(rule_file), data_dir=data)
    listed = touchpoint("segment", "list", data_dir=data)
    assert "repeat" in listed.stdout and "young" in listed.stdout
    shown = touchpoint("segment", "show", "repeat", data_dir=data)
    assert shown.returncode == 0 and "members: 1" in shown.stdout
    members = touchpoint("segment", "members", "young", data_dir=data)
    assert "bob@example.com" in members.stdout
    out = tmp_path / "repeat.csv"
    exported = touchpoint("segment", "export", "repeat", "--out", str(out), data_dir=data)
    assert exported.returncode == 0, exported.stderr
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["email"] for r in rows] == ["ann@example.com"]
    bad = touchpoint("segment", "create", "bad", "purchased >= 2 times in last", data_dir=data)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "line 1, column" in bad.stderr
    assert "Traceback" not in bad.stderr
    deleted = touchpoint("segment", "delete", "young", "--yes", data_dir=data)
    assert (
        deleted.returncode == 0
        and "young" not in touchpoint("segment", "list", data_dir=data).stdout
    )
