"""`touchpoint privacy export|erase` and `/v1/privacy/…`, as a user and a client meet them."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.conftest import new_key
from tests.privacy.people import ANONYMOUS, EMAIL, NAME, populate
from tests.privacy.test_erase import rows_holding
from tests.test_cli import touchpoint
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings


def test_the_api_exports_and_erases_with_an_admin_key(tp: Touchpoint, client: TestClient) -> None:
    zelda = populate(tp)
    admin = bearer(new_key(tp, "admin"))
    exported = client.get(f"/v1/privacy/customers/{zelda}/export", headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.json()["profile"][0]["traits"]["name"] == NAME
    erased = client.post(f"/v1/privacy/customers/{zelda}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert (body["customer_id"], body["identities"], body["interactions"]) == (zelda, 3, 8)
    assert body["residue"] == []
    assert EMAIL not in client.get(f"/v1/privacy/customers/{zelda}/export", headers=admin).text


def test_the_api_refuses_other_keys_and_unknown_customers(
    tp: Touchpoint, client: TestClient
) -> None:
    zelda = populate(tp)
    for scope in ("read", "ingest"):
        key = bearer(new_key(tp, scope))
        assert client.get(f"/v1/privacy/customers/{zelda}/export", headers=key).status_code == 403
        assert client.post(f"/v1/privacy/customers/{zelda}/erase", headers=key).status_code == 403
    assert client.post(f"/v1/privacy/customers/{zelda}/erase").status_code == 401
    admin = bearer(new_key(tp, "admin"))
    missing = client.post("/v1/privacy/customers/cus_nobody/erase", headers=admin)
    assert missing.status_code == 404 and "cus_nobody" in missing.json()["detail"]


def test_the_cli_exports_to_stdout_or_a_private_file_and_erases(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tp = open_touchpoint(Settings(data_dir=data))
    try:
        zelda = populate(tp)
    finally:
        tp.close()
    viewed = touchpoint("customer", "show", EMAIL, data_dir=data)
    assert viewed.returncode == 0, viewed.stderr
    assert re.search(r"email\s*│\s*newsletter\s*│\s*withdrawn\s*│\s*2026-01-01", viewed.stdout)
    shown = touchpoint("privacy", "export", EMAIL, data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout)["customer_id"] == zelda
    out = tmp_path / "zelda.json"
    written = touchpoint("privacy", "export", NAME, "--output", str(out), data_dir=data)
    assert written.returncode == 0, written.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert orjson.loads(out.read_bytes())["customer_id"] == zelda
    unconfirmed = touchpoint("privacy", "erase", zelda, data_dir=data)  # no terminal: no yes
    assert unconfirmed.returncode != 0
    erased = touchpoint("privacy", "erase", zelda, "--yes", data_dir=data)
    assert erased.returncode == 0, erased.stderr
    assert "3 identities removed and suppressed, 8 interactions pseudonymised" in erased.stdout
    gone = touchpoint("privacy", "export", EMAIL, data_dir=data)
    assert gone.returncode == 1
    assert gone.stderr.strip().count("\n") == 0 and EMAIL in gone.stderr  # one line


def test_segment_calls_naming_an_erased_person_are_refused_as_segment_drops_them(
    tp: Touchpoint, client: TestClient
) -> None:
    from tests.api.test_segment_api import basic, call

    zelda = populate(tp)
    client.post(f"/v1/privacy/customers/{zelda}/erase", headers=bearer(new_key(tp, "admin")))
    ingest = basic(new_key(tp, "ingest"))
    late = call("identify", "seg-1", anonymousId=ANONYMOUS, traits={"name": NAME})
    single = client.post("/v1/identify", json=late, headers=ingest)
    assert single.status_code == 400 and "suppressed" in single.json()["detail"]
    other = call("track", "seg-2", userId="someone-else", event="Signed Up")
    batch = client.post("/v1/batch", json={"batch": [late, other]}, headers=ingest)
    assert batch.status_code == 200, batch.text
    assert batch.json()["accepted"] == 1
    assert [r["index"] for r in batch.json()["rejected"]] == [0]
    assert rows_holding(tp, (NAME,)) == {}  # the identify's traits were not stored
