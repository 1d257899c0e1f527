"""Users and keys for an admin, over HTTP on the seeded business (conftest: one user per role):
the lists; a new user made from the form (a generated password shown once, and it signs in), a
role changed and a user disabled (refused at sign-in after), a key revoked (refused on its next
request), each in the audit trail as the signed-in admin; a name taken is shown on the form; a
manager gets no page and a forged form no change."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.http import bearer
from tests.conftest import new_key
from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint


def _session(web: TestClient, user: str, password: str) -> int:
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/app/login").text)
    assert token
    signed = web.post(
        "/app/login",
        data={"user": user, "password": password, "csrf": token[1]},
        follow_redirects=False,
    )
    return signed.status_code


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


def _cell(html: str, row: str, css: str) -> str:
    found = re.search(rf'{row}.*?<td class="{css}">([^<]*)</td>', html, re.S)
    assert found, (row, css)
    return found[1]


def test_an_admin_creates_changes_and_disables_users_and_revokes_keys(seeded: Touchpoint) -> None:
    secret = new_key(seeded, "read")
    web = TestClient(create_app(seeded))
    assert _session(web, "web-admin", PASSWORDS["admin"]) == 303
    page = web.get("/app/admin")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for role in PASSWORDS:
        assert _cell(page.text, f'data-user="web-{role}"', "role") == role
    made = web.post(
        "/app/admin/users", data={"csrf": _csrf(page.text), "name": "zoe", "role": "agent"}
    )
    assert made.status_code == 200 and "User zoe created." in made.text
    password = re.search(r'<code id="new-password">([^<]+)</code>', made.text)
    assert password and _session(TestClient(create_app(seeded)), "zoe", password[1]) == 303
    taken = web.post(
        "/app/admin/users", data={"csrf": _csrf(made.text), "name": "zoe", "role": "agent"}
    )
    assert taken.status_code == 409 and "already exists" in taken.text
    web.post("/app/admin/users/zoe/role", data={"csrf": _csrf(made.text), "role": "manager"})
    web.post("/app/admin/users/zoe/disable", data={"csrf": _csrf(made.text)})
    after = web.get("/app/admin").text
    assert _cell(after, 'data-user="zoe"', "role") == "manager"
    assert _cell(after, 'data-user="zoe"', "status") == "disabled"
    assert _session(TestClient(create_app(seeded)), "zoe", password[1]) != 303
    key_id = re.findall(r'data-key="([^"]+)">[^\n]*?<td class="scope">read</td>', after)
    assert len(key_id) == 1  # the read key made above (the seeding made an ingest key)
    assert web.get("/v1/customers", headers=bearer(secret)).status_code == 200
    revoked = web.post(f"/app/admin/keys/{key_id[0]}/revoke", data={"csrf": _csrf(after)})
    assert revoked.status_code == 200
    assert _cell(revoked.text, f'data-key="{key_id[0]}"', "status") == "revoked"
    assert web.get("/v1/customers", headers=bearer(secret)).status_code == 401
    trail = web.get("/app/audit?actor=user:web-admin").text
    for action in ("user.create", "user.role", "user.disable", "key.revoke"):
        assert f'<td class="action">{action}</td>' in trail


def test_a_manager_gets_no_page_and_a_forged_form_changes_nothing(seeded: Touchpoint) -> None:
    web = TestClient(create_app(seeded))
    assert _session(web, "web-manager", PASSWORDS["manager"]) == 303
    assert web.get("/app/admin").status_code == 403
    csrf = _csrf(web.get("/app/segments").text)
    forged = web.post("/app/admin/users", data={"csrf": csrf, "name": "eve2", "role": "admin"})
    assert forged.status_code == 403
    admin = TestClient(create_app(seeded))
    _session(admin, "web-admin", PASSWORDS["admin"])
    assert 'data-user="eve2"' not in admin.get("/app/admin").text
