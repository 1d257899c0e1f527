"""`touchpoint keys create|list|revoke|rotate` in a subprocess, checked against the API."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cli.test_user_mistakes import one_line_error
from tests.test_cli import touchpoint


def test_keys_lifecycle_from_the_command_line(tmp_path: Path) -> None:
    from touchpoint.api.app import create_app
    from touchpoint.runtime import open_touchpoint
    from touchpoint.settings import Settings

    assert touchpoint("init", data_dir=tmp_path).returncode == 0
    made = touchpoint(
        "keys", "create", "--scope", "read", "--name", "bi", "--expires", "90d", data_dir=tmp_path
    )
    assert made.returncode == 0, made.stderr
    key_id = re.search(r"key (key_[0-9a-f]{12}), expires", made.stdout)[1]  # type: ignore[index]
    secret = re.search(r"(tp_read_\S+)", made.stdout)[1]  # type: ignore[index]
    listed = touchpoint("keys", "list", data_dir=tmp_path)
    assert key_id in listed.stdout and "never" in listed.stdout and secret not in listed.stdout
    rotated = touchpoint("keys", "rotate", key_id, data_dir=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    fresh = re.search(r"(tp_read_\S+)", rotated.stdout)[1]  # type: ignore[index]
    tp = open_touchpoint(Settings(data_dir=tmp_path))
    try:
        with TestClient(create_app(tp)) as client:
            old = client.get("/v1/customers", headers={"Authorization": f"Bearer {secret}"})
            new = client.get("/v1/customers", headers={"Authorization": f"Bearer {fresh}"})
    finally:
        tp.close()
    assert (old.status_code, new.status_code) == (401, 200)
    assert key_id not in touchpoint("keys", "list", data_dir=tmp_path).stdout
    assert key_id in touchpoint("keys", "list", "--all", data_dir=tmp_path).stdout
    assert "already revoked" in one_line_error(
        touchpoint("keys", "revoke", key_id, data_dir=tmp_path)
    )
    assert "no API key" in one_line_error(
        touchpoint("keys", "revoke", "key_nope", data_dir=tmp_path)
    )
    assert "--expires" in one_line_error(
        touchpoint("keys", "create", "--scope", "read", "--expires", "soon", data_dir=tmp_path)
    )


def test_a_browser_keys_identity_secret_is_shown_kept_by_rotation_and_rotated(
    tmp_path: Path,
) -> None:
    assert touchpoint("init", data_dir=tmp_path).returncode == 0
    made = touchpoint(
        "keys", "create", "--scope", "browser", "--origin", "https://a.example", data_dir=tmp_path
    )
    assert made.returncode == 0, made.stderr
    key_id = re.search(r"key (key_[0-9a-f]{12})", made.stdout)[1]  # type: ignore[index]
    first = re.search(r"(tp_idsec_\S+)", made.stdout)[1]  # type: ignore[index]
    shown = touchpoint("keys", "identity-secret", key_id, data_dir=tmp_path)
    assert first in shown.stdout
    rotated = touchpoint("keys", "rotate", key_id, data_dir=tmp_path)
    new_id = re.search(r"replacement (key_[0-9a-f]{12})", rotated.stdout)[1]  # type: ignore[index]
    assert first in touchpoint("keys", "identity-secret", new_id, data_dir=tmp_path).stdout
    fresh = touchpoint("keys", "identity-secret", new_id, "--rotate", data_dir=tmp_path)
    second = re.search(r"(tp_idsec_\S+)", fresh.stdout)[1]  # type: ignore[index]
    assert second != first
    server = touchpoint("keys", "create", "--scope", "ingest", data_dir=tmp_path)
    server_id = re.search(r"key (key_[0-9a-f]{12})", server.stdout)[1]  # type: ignore[index]
    one_line_error(touchpoint("keys", "identity-secret", server_id, data_dir=tmp_path))
