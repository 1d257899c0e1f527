"""The playbooks' faces: /v1/playbooks (list, pause and resume, runs, the dry run and its
mistakes) and `touchpoint playbook …` (a malformed file is one line naming the lines; a dry run
prints each step and why)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.automation.test_email_runs import cart, granted, record
from tests.builders import T0
from tests.conftest import new_key
from tests.test_cli import touchpoint
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services.customers import find_one
from touchpoint.store.engine import read_connection


def test_the_api_lists_pauses_resumes_and_dry_runs(tp: Touchpoint) -> None:
    manager, reader = bearer(new_key(tp, "manager")), bearer(new_key(tp, "read"))
    record(tp, granted(), cart())
    customer_id = _customer(tp)
    with TestClient(create_app(tp)) as client:
        listed = client.get("/v1/playbooks", headers=reader).json()
        assert [(p["name"], p["state"]) for p in listed] == [
            ("abandoned_cart", "paused"),
            ("birthday", "paused"),
            ("first_purchase_thanks", "paused"),
            ("win_back", "paused"),
        ]
        resumed = client.post("/v1/playbooks/abandoned_cart/resume", headers=manager)
        assert resumed.status_code == 200 and resumed.json()["state"] == "active"
        assert client.post("/v1/playbooks/abandoned_cart/pause", headers=reader).status_code == 403
        assert client.get("/v1/playbooks/nothing_here", headers=reader).status_code == 404
        steps = client.post(
            "/v1/playbooks/abandoned_cart/test",
            json={"customer_id": customer_id, "at": T0.isoformat()},
            headers=reader,
        )
        assert steps.status_code == 200, steps.text
        assert [(s["outcome"], s["at"][:16]) for s in steps.json()] == [
            ("wait", "2026-01-01T12:00"),
            ("pass", "2026-01-01T13:00"),
            ("send", "2026-01-01T13:00"),
        ]
        assert steps.json()[2]["why"] == "to ann@example.com: You left something in your cart"
        bad = client.post(
            "/v1/playbooks/abandoned_cart/test",
            json={"customer_id": customer_id, "at": "yesterday"},
            headers=reader,
        )
        assert bad.status_code == 422 and "at" in bad.text
        assert client.get("/v1/playbooks/abandoned_cart/runs", headers=reader).json() == []


def _customer(tp: Touchpoint) -> str:
    with read_connection(tp.engine) as conn:
        return find_one(conn, "ann@example.com", default_region="US")


def test_validate_names_each_line_in_one_line_and_help_explains(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "ok"\n[trigger]\ninteraction = "purchase"\n[[steps]]\nwait = "x"\n')
    result = touchpoint("playbook", "validate", str(bad), data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: bad.toml:5: steps[0].wait: must be a span such as 30m, 1h, 2d"
    )
    helped = touchpoint("playbook", "test", "--help", data_dir=tmp_path)
    assert "Nothing is sent or recorded" in " ".join(helped.stdout.split())


def test_a_dry_run_shows_the_wait_for_timing_out_and_the_branch_taken(tp: Touchpoint) -> None:
    folder = tp.settings.data_dir / "playbooks"
    folder.mkdir()
    (folder / "cart_wait.toml").write_text(
        'name = "cart_wait"\n[trigger]\ninteraction = "cart_abandoned"\n'
        '[[steps]]\nwait_for = { type = "purchase", timeout = "1h" }\n'
        "[[steps]]\nif = { came = true, else = 3 }\n"
        '[[steps]]\nstop = "bought"\n'
        '[[steps]]\nset_trait = { name = "cart_reminded", value = true }\n'
    )
    record(tp, granted(), cart())
    reader = bearer(new_key(tp, "read"))
    with TestClient(create_app(tp)) as client:
        steps = client.post(
            "/v1/playbooks/cart_wait/test",
            json={"customer_id": _customer(tp), "at": T0.isoformat()},
            headers=reader,
        )
        listed = client.get("/v1/playbooks/cart_wait", headers=reader).json()
    assert steps.status_code == 200, steps.text
    # no purchase in the hour after T0: timed out at 13:00, the else branch to step 3
    assert [(s["step"], s["outcome"], s["at"][:16]) for s in steps.json()] == [
        (0, "wait", "2026-01-01T12:00"),
        (1, "branch", "2026-01-01T13:00"),
        (3, "act", "2026-01-01T13:00"),
    ]
    assert steps.json()[0]["why"] == "timed out at 2026-01-01T13:00:00+00:00"
    assert listed["steps"][0] == "wait up to 1 hour for a purchase"


def test_validate_refuses_a_schedule_with_a_bad_time(tmp_path: Path) -> None:
    bad = tmp_path / "bday.toml"
    bad.write_text(
        'name = "bday"\n[trigger]\nanniversary = "birthday"\nat = "9am"\n[[steps]]\nstop = "x"\n'
    )
    result = touchpoint("playbook", "validate", str(bad), data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: bday.toml:4: trigger.at: must be a local time of day HH:MM (09:00)"
    )
