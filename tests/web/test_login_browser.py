"""Signing in and out in Chromium: a page asked for without a session shows the login form, a
wrong password is answered on the form with one clear message, the right one opens the page
first asked for, the session cookie is out of scripts' reach, and signing out ends it."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, expect

from tests.web.conftest import PASSWORDS
from touchpoint.runtime import Touchpoint
from touchpoint.web.session import COOKIE

pytestmark = pytest.mark.slow  # Chromium and a live server


def test_sign_in_with_the_form_and_out_again(
    browser: Browser, seeded: Touchpoint, live_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/app/kpis?period=7d")
    expect(page.locator("h1")).to_have_text("Sign in to Touchpoint")
    assert Axe().run(page).violations_count == 0
    page.get_by_label("User name").fill("web-admin")
    page.get_by_label("Password").fill("a-wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Sign-in failed: that user name and password do not match a Touchpoint user."
    )
    expect(page.get_by_label("User name")).to_have_value("web-admin")  # kept, to try again
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.screenshot(path="/tmp/webapp-login-failed.png", full_page=True)
    page.get_by_label("Password").fill(PASSWORDS["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/kpis?period=7d")  # back to the page first asked for
    expect(page.locator("h1")).to_have_text("Contact-center KPIs per queue")
    expect(page.locator("header .who")).to_have_text("web-admin (admin)")
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert COOKIE not in page.evaluate("document.cookie")  # no script reads it
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(live_server + "/app/lifecycle")
    expect(page.locator("h1")).to_have_text("Sign in to Touchpoint")
    assert errors == []
    context.close()
