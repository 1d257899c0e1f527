"""Signing in with the form, over HTTP: the session cookie's attributes, one message for a wrong
name and a wrong password, the throttle, CSRF on every change, logout, and a session ended by a
disabled user or a changed password; a script's Basic auth still reads."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services.users import disable_user, set_password
from touchpoint.store.engine import write_transaction
from touchpoint.web.session import COOKIE


@pytest.fixture
def web(seeded: Touchpoint) -> TestClient:
    return TestClient(create_app(seeded))


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found[1]


def sign_in(web: TestClient, user: str, password: str, next_: str = "") -> object:
    form = web.get("/app/login")
    assert form.status_code == 200
    return web.post(
        "/app/login",
        data={"user": user, "password": password, "csrf": _csrf(form.text), "next": next_},
        follow_redirects=False,
    )


def test_signing_in_sets_an_httponly_samesite_cookie_and_goes_back(web: TestClient) -> None:
    answer = sign_in(web, "web-admin", PASSWORDS["admin"], "/app/kpis?period=7d")
    assert answer.status_code == 303 and answer.headers["location"] == "/app/kpis?period=7d"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "secure" not in attributes  # plain http here
    page = web.get("/app/kpis?period=7d")
    assert page.status_code == 200 and "web-admin (admin)" in page.text


def test_the_cookie_is_secure_over_https(seeded: Touchpoint) -> None:
    web = TestClient(create_app(seeded), base_url="https://testserver")
    answer = sign_in(web, "web-admin", PASSWORDS["admin"])
    assert "secure" in {a.strip().lower() for a in answer.headers["set-cookie"].split(";")}


def test_a_failed_sign_in_says_the_same_for_a_wrong_name_and_a_wrong_password(
    web: TestClient,
) -> None:
    wrong_password = sign_in(web, "web-admin", "not-the-password-at-all")
    nobody = sign_in(web, "nobody-here", "not-the-password-at-all")
    assert wrong_password.status_code == nobody.status_code == 401
    message = "Sign-in failed: that user name and password do not match a Touchpoint user."
    for answer in (wrong_password, nobody):
        assert message in answer.text
        problem = re.search(r'id="login-problem">([^<]*)<', answer.text)
        assert problem and problem[1] == message
    assert web.get("/app/lifecycle", follow_redirects=False).status_code == 303  # not signed in


def test_failed_sign_ins_are_throttled_per_name(web: TestClient) -> None:
    for _ in range(5):
        assert sign_in(web, "web-admin", "not-the-password-at-all").status_code == 401
    refused = sign_in(web, "web-admin", PASSWORDS["admin"])  # even the right password waits
    assert refused.status_code == 429 and "too many failed sign-ins" in refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 301
    other = sign_in(web, "web-analyst", PASSWORDS["analyst"])  # another name is not held up
    assert other.status_code == 303


def test_the_login_form_itself_needs_its_token(web: TestClient) -> None:
    web.get("/app/login")
    answer = web.post(
        "/app/login",
        data={"user": "web-admin", "password": PASSWORDS["admin"], "csrf": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "allow cookies" in answer.text
    assert (
        COOKIE not in web.cookies
        or web.get("/app/lifecycle", follow_redirects=False).status_code == 303
    )


def test_a_change_without_the_session_s_token_is_refused(web: TestClient) -> None:
    sign_in(web, "web-admin", PASSWORDS["admin"])
    page = web.get("/app/lifecycle")
    token = _csrf(page.text)
    forged = web.post("/app/logout", data={"csrf": "not-the-token"}, follow_redirects=False)
    assert forged.status_code == 403 and "reload the page" in forged.text
    missing = web.post("/app/logout", data={}, follow_redirects=False)
    assert missing.status_code == 403
    assert web.get("/app/lifecycle").status_code == 200  # still signed in
    out = web.post("/app/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/app/login?out=1"
    assert web.get("/app/lifecycle", follow_redirects=False).status_code == 303
    assert "You are signed out." in web.get("/app/login?out=1").text


def test_basic_auth_reads_but_changes_nothing(web: TestClient) -> None:
    basic = ("web-admin", PASSWORDS["admin"])
    assert web.get("/app/lifecycle", auth=basic).status_code == 200
    answer = web.post("/app/logout", data={"csrf": "x"}, auth=basic, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")


def test_only_this_app_s_pages_are_gone_back_to(web: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/app/", "/app/../v1/keys", "/v1/users"):
        answer = sign_in(web, "web-admin", PASSWORDS["admin"], target)
        assert answer.headers["location"] == "/app/overview", target
        web.cookies.clear()


def test_a_disabled_user_or_a_new_password_ends_the_session(
    web: TestClient, seeded: Touchpoint
) -> None:
    sign_in(web, "web-analyst", PASSWORDS["analyst"])
    assert web.get("/app/lifecycle").status_code == 200
    with write_transaction(seeded.engine) as conn:
        set_password(conn, "web-analyst", "a-new-password-for-tests")
    assert web.get("/app/lifecycle", follow_redirects=False).status_code == 303
    sign_in(web, "web-agent", PASSWORDS["agent"])
    with write_transaction(seeded.engine) as conn:
        disable_user(conn, "web-agent")
    assert web.get("/app/lifecycle", follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_no_session(web: TestClient) -> None:
    sign_in(web, "web-admin", PASSWORDS["admin"])
    value = web.cookies[COOKIE]
    web.cookies.clear()
    web.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/app")
    assert web.get("/app/lifecycle", follow_redirects=False).status_code == 303
