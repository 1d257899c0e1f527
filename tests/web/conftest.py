"""The web app's fixtures: a small business on SQLite (the pages read through the same services
on either engine; the services' tests cover both), its users, a live server and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from tests.api.http import send
from tests.api.test_docs_offline import CHROMIUM_ARGS
from tests.builders import interaction
from tests.conftest import new_key
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint
from touchpoint.services.contact_center import apply_config
from touchpoint.services.users import create_user
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction

NOW = datetime.now(UTC)
SCRIPT_NAME = "<script>window.pwned = 1</script>"
CENTER = """
[queues.support]
channels = ["phone", "chat"]
target = "80/20"

[queues.sales]
channels = ["phone"]
target = "80/20"

[agents.ana]
user = "web-agent"
queues = ["support"]

[agents.bob]
queues = ["sales"]
"""
# By hand, from the default stage model: a first touch is reach, a signup or an inbound call
# acquisition, a purchase conversion.
STAGE_COUNTS = {"reach": 3, "acquisition": 2, "conversion": 1}


def _day(days: float) -> datetime:
    return NOW - timedelta(days=days)


def business() -> list[dict[str, Any]]:
    """Six customers: Ann browses, signs up and buys (conversion); Bo calls (40 days ago, waited
    30 s) and signs up, Cy signs up and calls (2 days ago, waited 10 s): acquisition; three only
    look (reach), one of them named with a script tag."""
    call = {"type": "call", "channel": "phone", "direction": "inbound", "queue": "support"}
    return [
        interaction(type="page_view", at=_day(5), email="ann@example.com"),
        interaction(
            type="signup",
            at=_day(4),
            email="ann@example.com",
            traits={"first_name": "Ann", "last_name": "Archer"},
        ),
        interaction(type="purchase", at=_day(3), email="ann@example.com", revenue=42.5),
        interaction(
            **call, at=_day(40), email="bo@example.com", agent="ana", properties={"wait_s": 30}
        ),
        interaction(type="signup", at=_day(3), email="bo@example.com"),
        interaction(type="signup", at=_day(3), email="cy@example.com"),
        interaction(
            **call, at=_day(2), email="cy@example.com", agent="ana", properties={"wait_s": 10}
        ),
        interaction(type="page_view", at=_day(1), email="dee@example.com"),
        interaction(type="page_view", at=_day(1), email="eve@example.com"),
        interaction(
            type="page_view",
            at=_day(1),
            email="mal@example.com",
            traits={"first_name": SCRIPT_NAME, "last_name": "Doe"},
        ),
    ]


PASSWORDS = {
    role: f"{role}-password-for-tests" for role in ("admin", "manager", "analyst", "agent")
}


@pytest.fixture
def settings(sqlite_settings: Settings) -> Settings:
    return sqlite_settings


@pytest.fixture
def seeded(tp: Touchpoint) -> Touchpoint:
    """The business recorded through the API, the users made, the contact center configured."""
    with TestClient(create_app(tp)) as client:
        send(client, new_key(tp, "ingest"), *business())
    with write_transaction(tp.engine) as conn:
        for role, password in PASSWORDS.items():
            create_user(conn, name=f"web-{role}", role=role, password=password)
    apply_config(tp, text=CENTER, actor="test")
    return tp


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page signed in as a role, and what it did: console errors, uncaught errors, requests
    that failed or went to another host than the server's."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, (path, response and response.status)
        return self.page

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        assert self.foreign == [], self.foreign


def sign_in(page: Page, base: str, role: str) -> None:
    """Sign in as a person does: the login form, then the home page."""
    page.goto(base + "/app/login")
    page.get_by_label("User name").fill(f"web-{role}")
    page.get_by_label("Password").fill(PASSWORDS[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/overview")


LEFT_BEHIND = ("/app/wallboard/stream", "/app/overview/week")  # requests a page leaves open


def watched(browser: Browser, base: str, role: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, role)
    seen = Watched(page, base)
    host = urlsplit(base).netloc
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on(
        "requestfailed",
        # Leaving the wallboard closes its open event stream, and leaving the overview before
        # its week's figures arrive cancels their htmx request: those aborts are no failure.
        lambda r: (
            None
            if any(part in r.url for part in LEFT_BEHIND) and r.failure == "net::ERR_ABORTED"
            else seen.failed.append(f"{r.url} {r.failure}")
        ),
    )
    page.on(
        "request",
        lambda r: (
            seen.foreign.append(r.url)
            if urlsplit(r.url).scheme != "data" and urlsplit(r.url).netloc != host
            else None
        ),
    )
    yield seen
    context.close()


@pytest.fixture
def as_admin(browser: Browser, seeded: Touchpoint, live_server: str) -> Iterator[Watched]:
    yield from watched(browser, live_server, "admin")


@pytest.fixture
def as_agent(browser: Browser, seeded: Touchpoint, live_server: str) -> Iterator[Watched]:
    yield from watched(browser, live_server, "agent")


@pytest.fixture
def as_analyst(browser: Browser, seeded: Touchpoint, live_server: str) -> Iterator[Watched]:
    yield from watched(browser, live_server, "analyst")
