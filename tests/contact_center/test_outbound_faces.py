"""Outbound campaigns over HTTP and from the command line: create from a CSV, the next record,
its outcome (once in the log, the same outcome again answered as repeated), bad input named."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.http import bearer
from tests.contact_center.center import CONFIG
from tests.contact_center.test_outbound import ANN, BEN, calls_in_log, granted, ready
from touchpoint.cli import app
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config

ALL_DAY = {"window": ["00:00", "24:00"]}  # the wall clock decides nothing here


def test_a_preview_campaign_over_http(tp: Touchpoint, client: TestClient, manager_key: str) -> None:
    apply_config(tp, text=CONFIG, actor="test")
    granted(tp, ANN)
    ready(tp, "ana", "bo")
    headers = bearer(manager_key)
    body = {
        "name": "win back",
        "queue": "sales",
        "csv": f"phone\n{ANN}\n{BEN}\n",
        "settings": ALL_DAY,
    }
    created = client.post("/v1/cc/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign = created.json()["campaign"]
    assert (created.json()["added"], campaign["pacing"], campaign["records"]) == (
        2,
        "preview",
        {"open": 2},
    )
    assert client.post("/v1/cc/campaigns", json=body, headers=headers).status_code == 409
    handed = client.post(
        f"/v1/cc/campaigns/{campaign['id']}/next", json={"agent": "ana"}, headers=headers
    )
    assert handed.status_code == 200, handed.text
    (call,) = handed.json()["calls"]
    assert call["phone"] == ANN and handed.json()["refused"] == []
    url = f"/v1/cc/campaigns/win back/attempts/{call['attempt_id']}/outcome"
    outcome = {"disposition": "SALE", "agent": "ana", "duration_s": 95}
    first = client.post(url, json=outcome, headers=headers)
    again = client.post(url, json=outcome, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert (first.json()["repeated"], again.json()["repeated"]) == (False, True)
    assert first.json()["closed_reason"] == "sale"
    assert len(calls_in_log(tp)) == 1
    # Ana is in wrap-up after her call, as after an inbound one: Bo asks for the next record
    busy = client.post(
        f"/v1/cc/campaigns/{campaign['id']}/next", json={"agent": "ana"}, headers=headers
    )
    assert busy.status_code == 409 and "not ready" in busy.text
    # Ben never granted consent for calls: refused with its reason, never dialled.
    later = client.post(
        f"/v1/cc/campaigns/{campaign['id']}/next", json={"agent": "bo"}, headers=headers
    )
    assert [(r["phone"], r["reason"]) for r in later.json()["refused"]] == [(BEN, "no_consent")]
    shown = client.get(f"/v1/cc/campaigns/{campaign['id']}", headers=headers).json()
    assert shown["campaign"]["attempts"] == {"ended": 1, "refused:no_consent": 1}
    assert shown["campaign"]["human_30d"] == 1


def test_bad_requests_name_the_field(tp: Touchpoint, client: TestClient, manager_key: str) -> None:
    apply_config(tp, text=CONFIG, actor="test")
    headers = bearer(manager_key)
    base = {"name": "x", "queue": "sales", "csv": f"phone\n{ANN}\n"}
    cases = [
        ({**base, "queue": "nowhere"}, "queue"),
        ({**base, "settings": {"drop_cap": 0.1}}, "settings.drop_cap"),
        ({**base, "settings": {"window": ["9am", "5pm"]}}, "settings.window"),
        ({"name": "x", "queue": "sales"}, "source"),
    ]
    for body, field in cases:
        answer = client.post("/v1/cc/campaigns", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith(field), answer.text
    created = client.post("/v1/cc/campaigns", json=base, headers=headers).json()["campaign"]
    missing = "/v1/cc/campaigns/x/attempts/att_0000000000000000/outcome"
    assert client.post(missing, json={"disposition": "SALE"}, headers=headers).status_code == 404
    handed = client.post(f"/v1/cc/campaigns/{created['id']}/next", headers=headers)
    assert handed.status_code == 422 and handed.json()["detail"].startswith("agent")
    assert client.get("/v1/cc/campaigns/nothing", headers=headers).status_code == 404


def test_the_campaign_commands(tp: Touchpoint, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if tp.engine.dialect.name != "sqlite":  # the CLI works on the data directory's SQLite file
        return
    apply_config(tp, text=CONFIG, actor="test")
    granted(tp, ANN)
    ready(tp, "ana")
    data_dir = ["--data-dir", str(tp.settings.data_dir)]
    listing = tmp_path / "list.csv"
    listing.write_text(f"phone,name\n{ANN},Ann [bold]\nnope,Bad\n", encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "cc",
            "campaign",
            "create",
            "spring",
            "--queue",
            "sales",
            "--csv",
            str(listing),
            "--window",
            "00:00-24:00",
            *data_dir,
        ],
    )
    assert made.exit_code == 0, made.output
    assert "1 records" in made.output and "skipped line 3: phone" in made.output
    nxt = runner.invoke(app, ["cc", "campaign", "next", "spring", "--agent", "ana", *data_dir])
    assert nxt.exit_code == 0, nxt.output
    attempt = next(w for w in nxt.output.split() if w.startswith("att_"))
    done = runner.invoke(
        app, ["cc", "campaign", "outcome", attempt, "NA", "--agent", "ana", *data_dir]
    )
    assert done.exit_code == 0 and "NA = no_answer; next call at" in done.output, done.output
    shown = runner.invoke(app, ["cc", "campaign", "show", "spring", *data_dir])
    assert "Ann [bold]" in shown.output and "ended 1" in shown.output, shown.output
    paused = runner.invoke(app, ["cc", "campaign", "pause", "spring", *data_dir])
    assert "spring: paused" in paused.output
    refused = runner.invoke(app, ["cc", "campaign", "next", "spring", "--agent", "ana", *data_dir])
    assert "is paused" in str(refused.exception)
    bad = runner.invoke(app, ["cc", "campaign", "outcome", attempt, "ZZ", *data_dir])
    assert "disposition: unknown disposition 'ZZ'" in str(bad.exception)
    listed = runner.invoke(app, ["cc", "campaign", "list", *data_dir])
    assert "spring" in listed.output and "paused" in listed.output


def test_putting_an_answered_call_through_over_http(
    tp: Touchpoint, client: TestClient, manager_key: str
) -> None:
    apply_config(tp, text=CONFIG, actor="test")
    granted(tp, ANN)
    ready(tp, "ana")  # bo stays logged out
    headers = bearer(manager_key)
    body = {
        "name": "spring",
        "queue": "sales",
        "csv": f"phone\n{ANN}\n",
        "settings": {**ALL_DAY, "pacing": "progressive"},
    }
    created = client.post("/v1/cc/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    handed = client.post("/v1/cc/campaigns/spring/next", headers=headers)
    (call,) = handed.json()["calls"]  # one free agent (ana): one line
    url = f"/v1/cc/campaigns/spring/attempts/{call['attempt_id']}/connect"
    cases = [
        ("/v1/cc/campaigns/spring/attempts/att_0000000000000000/connect", {"agent": "ana"}, 404),
        (
            "/v1/cc/campaigns/autumn/attempts/" + call["attempt_id"] + "/connect",
            {"agent": "ana"},
            404,
        ),
        (url, {"agent": "nobody"}, 422),
        (url, {}, 422),
        (url, {"agent": "bo"}, 409),  # logged out: not ready in sales
    ]
    for where, payload, status in cases:
        answer = client.post(where, json=payload, headers=headers)
        assert answer.status_code == status, (payload, answer.text)
    assert "not ready" in client.post(url, json={"agent": "bo"}, headers=headers).text
    put = client.post(url, json={"agent": "ana"}, headers=headers)
    assert put.status_code == 200, put.text
    assert (put.json()["agent"], put.json()["phone"]) == ("ana", ANN)
    again = client.post(url, json={"agent": "ana"}, headers=headers)
    assert again.json() == put.json()  # the same call put through again
    # ana holds the call: no free agent is left, so nothing more is dialled
    assert client.post("/v1/cc/campaigns/spring/next", headers=headers).json()["free_agents"] == 0
    done = client.post(
        f"/v1/cc/campaigns/spring/attempts/{call['attempt_id']}/outcome",
        json={"disposition": "SALE", "agent": "ana", "duration_s": 60},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["closed_reason"] == "sale", done.text
    assert len(calls_in_log(tp)) == 1


def test_the_connect_command(tp: Touchpoint, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if tp.engine.dialect.name != "sqlite":  # the CLI works on the data directory's SQLite file
        return
    apply_config(tp, text=CONFIG, actor="test")
    granted(tp, ANN)
    ready(tp, "ana")
    data_dir = ["--data-dir", str(tp.settings.data_dir)]
    listing = tmp_path / "list.csv"
    listing.write_text(f"phone,name\n{ANN},Ann\n", encoding="utf-8")
    runner = CliRunner()
    cc = ["cc", "campaign"]
    made = runner.invoke(
        app,
        [
            *cc,
            "create",
            "spring",
            "--queue",
            "sales",
            "--csv",
            str(listing),
            "--window",
            "00:00-24:00",
            "--pacing",
            "progressive",
            *data_dir,
        ],
    )
    assert made.exit_code == 0, made.output
    nxt = runner.invoke(app, [*cc, "next", "spring", *data_dir])
    attempt = next(w for w in nxt.output.split() if w.startswith("att_"))
    nobody = runner.invoke(app, [*cc, "connect", attempt, "--agent", "nobody", *data_dir])
    assert "agent: 'nobody' is not an agent of the contact center" in str(nobody.exception)
    bo_out = runner.invoke(app, [*cc, "connect", attempt, "--agent", "bo", *data_dir])
    assert "agent 'bo' is not ready" in str(bo_out.exception)  # logged out
    put = runner.invoke(app, [*cc, "connect", attempt, "--agent", "ana", *data_dir])
    assert put.exit_code == 0, put.output
    assert f"{attempt}: {ANN} (Ann) put through to ana" in put.output
    bo = runner.invoke(app, [*cc, "connect", attempt, "--agent", "bo", *data_dir])
    assert "is with 'ana' already" in str(bo.exception)
    unknown = runner.invoke(
        app, [*cc, "connect", "att_0000000000000000", "--agent", "ana", *data_dir]
    )
    assert "no attempt 'att_0000000000000000'" in str(unknown.exception)
