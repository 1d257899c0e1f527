"""A webhook that never answers is a dead letter, not retried forever: after its fifth attempt
(retries 1, 2, 4 and 8 minutes apart) its step is failed with the last error, its run failed, and
`touchpoint playbook runs --failed` (and the API's ?failed=true) lists it."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.automation.test_actions import write
from tests.automation.test_email_runs import record
from tests.builders import interaction
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services import playbooks
from touchpoint.services.scheduler import run_once

HOOK = """name = "crm_sync"
[trigger]
interaction = "purchase"
[[steps]]
webhook = { url = "URL" }
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


def test_a_webhook_failing_five_times_is_failed_and_listed(tp: Touchpoint) -> None:
    write(tp, "crm_sync", HOOK.replace("URL", f"http://127.0.0.1:{closed_port()}/hook"))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    record(tp, interaction(type="purchase", email="dee@example.com", at=start))
    # attempts at +0; then 1, 2, 4, 8 minutes after each: +1, +3, +7, +15 minutes
    for minutes in (0, 1, 3, 7):
        run_once(tp, start + timedelta(minutes=minutes, seconds=30))
        (run,) = playbooks.list_runs(tp, playbook="crm_sync")
        assert run.status == "active" and run.steps[0].status == "pending"
    assert playbooks.list_runs(tp, failed=True) == []
    run_once(tp, start + timedelta(minutes=15, seconds=30))
    (run,) = playbooks.list_runs(tp, failed=True)
    (step,) = run.steps
    assert (run.status, step.status, step.attempts) == ("failed", "failed", 5)
    assert step.outcome is not None and step.outcome["outcome"] == "failed"
    assert "Connection refused" in step.outcome["why"] or "URLError" in step.outcome["why"]
    run_once(tp, start + timedelta(minutes=50))  # and never again
    (again,) = playbooks.list_runs(tp, playbook="crm_sync")
    assert again.steps[0].attempts == 5
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()"]
    command += ["playbook", "runs", "--failed", "--data-dir", str(tp.settings.data_dir)]
    env = {"COLUMNS": "200", "PATH": ""}
    if tp.settings.database_url:
        env["TOUCHPOINT_DATABASE_URL"] = tp.settings.database_url
    shown = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert shown.returncode == 0, shown.stderr
    assert run.id in shown.stdout and "failed" in shown.stdout
    reader = bearer(new_key(tp, "read"))
    with TestClient(create_app(tp)) as client:
        listed = client.get("/v1/playbooks/crm_sync/runs?failed=true", headers=reader)
        assert [r["id"] for r in listed.json()] == [run.id]
        assert listed.json()[0]["steps"][0]["outcome"]["outcome"] == "failed"
