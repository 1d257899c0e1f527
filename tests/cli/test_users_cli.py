"""`touchpoint users create|list|role|password|disable` in a subprocess, checked against the API
(a user signs in with Basic auth and their role decides) and the audit trail."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cli.test_user_mistakes import one_line_error
from tests.test_cli import touchpoint


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def with_stdin(text: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from touchpoint.cli import main; main()", *args]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        input=text,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": ""},
    )


def statuses(data_dir: Path, *requests: tuple[str, dict[str, str]]) -> list[int]:
    from touchpoint.api.app import create_app
    from touchpoint.runtime import open_touchpoint
    from touchpoint.settings import Settings

    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        with TestClient(create_app(tp)) as client:
            return [client.get(url, headers=headers).status_code for url, headers in requests]
    finally:
        tp.close()


def test_users_from_the_command_line(tmp_path: Path) -> None:
    assert touchpoint("init", data_dir=tmp_path).returncode == 0
    made = touchpoint("users", "create", "Mia", "--role", "agent", data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "user mia (agent) created" in made.stdout
    generated = re.search(r"password for mia: (\S+)", made.stdout)[1]  # type: ignore[index]
    given = with_stdin(
        "a password of my own\n",
        *("users", "create", "ola", "--role", "analyst", "--password-stdin"),
        data_dir=tmp_path,
    )
    assert given.returncode == 0 and "password for" not in given.stdout, given.stdout
    listed = touchpoint("users", "list", data_dir=tmp_path)
    assert re.search(r"mia\s+│\s+agent", listed.stdout) and generated not in listed.stdout
    mia, ola = basic("mia", generated), basic("ola", "a password of my own")
    # An agent opens profiles but runs no report; an analyst the other way round.
    assert statuses(
        tmp_path,
        ("/v1/customers/cus_x", mia),
        ("/v1/analytics/funnel?from=2026-01-01", mia),
        ("/v1/customers/cus_x", ola),
    ) == [404, 403, 403]
    assert touchpoint("users", "role", "mia", "manager", data_dir=tmp_path).returncode == 0
    changed = touchpoint("users", "password", "mia", data_dir=tmp_path)
    fresh = re.search(r"password for mia: (\S+)", changed.stdout)[1]  # type: ignore[index]
    assert statuses(
        tmp_path, ("/v1/lifecycle/summary", mia), ("/v1/lifecycle/summary", basic("mia", fresh))
    ) == [401, 200]
    assert touchpoint("users", "disable", "mia", data_dir=tmp_path).returncode == 0
    assert statuses(tmp_path, ("/v1/lifecycle/summary", basic("mia", fresh))) == [401]
    assert "mia" not in touchpoint("users", "list", data_dir=tmp_path).stdout
    assert "disabled" in touchpoint("users", "list", "--all", data_dir=tmp_path).stdout
    trail = touchpoint("audit", data_dir=tmp_path).stdout
    for action in ("user.create", "user.role", "user.password", "user.disable"):
        assert action in trail
    assert generated not in trail and fresh not in trail
    # Mistakes are one line each.
    assert "already exists" in one_line_error(
        touchpoint("users", "create", "ola", "--role", "agent", data_dir=tmp_path)
    )
    assert "unknown role 'boss'" in one_line_error(
        touchpoint("users", "create", "eve", "--role", "boss", data_dir=tmp_path)
    )
    assert "at least 12 characters" in one_line_error(
        with_stdin("short\n", "users", "password", "ola", "--password-stdin", data_dir=tmp_path)
    )
    assert "is disabled" in one_line_error(
        touchpoint("users", "role", "mia", "agent", data_dir=tmp_path)
    )
    assert "no user named 'zed'" in one_line_error(
        touchpoint("users", "disable", "zed", data_dir=tmp_path)
    )
