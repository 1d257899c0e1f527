"""Segment's own browser SDK against Touchpoint, as a website uses it (issue 16): the real
analytics-next bundle from npm, on a page served from another origin, in Chromium. Its page
view, identify and purchase land on one customer (checked through the read API), with no
console error and no request leaving this machine; a page from an origin the key does not
allow is refused and nothing of it is stored. Keys are made with the CLI, as a user would."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import uvicorn
from playwright.sync_api import Browser, Request, sync_playwright

from tests.api.test_docs_offline import CHROMIUM_ARGS, LOOPBACK
from tests.conftest import _free_port
from tests.test_cli import touchpoint
from touchpoint.api.app import create_app
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

pytestmark = pytest.mark.slow  # npm (once), Chromium and three pages: about half a minute

SDK_VERSION = "1.84.3"  # @segment/analytics-next, pinned: the test is of this bundle
# No host but loopback resolves. (Not Playwright's request routing: Chromium sends no CORS
# preflight for a routed request, so routing would hide the very exchange under test.)
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
SDK_CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"analytics-next-{SDK_VERSION}"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,"></head>
<body><h1>Pricing</h1>
<script src="/sdk/index.js"></script>
<script>
// What a site writes: load with its write key, then page(), identify() and track().
window.visit = async (options) => {
  const settings = {writeKey: options.writeKey};
  if (options.cdnURL) settings.cdnURL = options.cdnURL;
  else settings.cdnSettings = options.cdnSettings;
  const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(settings);
  const sent = [
    await analytics.page("Pricing", {plan: "pro"}),
    await analytics.identify(options.userId, {email: options.email, firstName: "Ann"}),
    await analytics.track("Order Completed", {order_id: "o-1", revenue: 99.5, currency: "EUR"}),
  ];
  return {
    anonymousId: analytics.user().anonymousId(),
    failed: sent.map((ctx) => ctx.failedDelivery() ? String(ctx.failedDelivery().reason) : null),
  };
};
// What a page sends as it is left: a beacon (text/plain, so no preflight; no answer is read).
window.beacon = (options) => navigator.sendBeacon(options.to, JSON.stringify(options.message));
</script></body></html>
"""


def installed_sdk() -> Path:
    """analytics-next's browser bundles (dist/umd), installed from npm once into .cache/. No npm
    is a failure, not a skip: CI installs it (.ci/run)."""
    bundle = SDK_CACHE / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
    if (bundle / "index.js").is_file():
        return bundle
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install @segment/analytics-next (apt-get install npm)")
    staging = SDK_CACHE.with_name(f"{SDK_CACHE.name}.{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(staging),
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            f"@segment/analytics-next@{SDK_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"npm install @segment/analytics-next failed:\n{done.stderr[-2000:]}")
    try:
        staging.rename(SDK_CACHE)  # atomic: a concurrent run may have won; then use its copy
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    assert (bundle / "index.js").is_file(), "the npm package has no dist/umd/index.js"
    return bundle


@dataclass
class Site:
    """Touchpoint on one port, a web site on another; its keys, made with the CLI."""

    api: str
    page_port: int
    browser_key: str  # allows http://127.0.0.1:<page_port> only
    other_key: str  # another site's browser key: allows http://localhost:<page_port>
    read_key: str
    access: list[str] = field(default_factory=list)  # Touchpoint's access lines

    def page(self, host: str) -> str:
        return f"http://{host}:{self.page_port}/index.html"


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _secret(made: subprocess.CompletedProcess[str], scope: str) -> str:
    assert made.returncode == 0, made.stderr
    found = re.search(rf"(tp_{scope}_\S+)", made.stdout)
    assert found, made.stdout
    return found[1]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sdk = installed_sdk()
    data = tmp_path / "data"
    assert touchpoint("init", data_dir=data).returncode == 0
    page_port = _free_port()
    browser_key = _secret(
        touchpoint(
            "keys", "create", "--scope", "browser", "--origin", f"http://127.0.0.1:{page_port}",
            "--name", "shop", data_dir=data,
        ),
        "browser",
    )  # fmt: skip
    other_key = _secret(
        touchpoint(
            "keys", "create", "--scope", "browser", "--origin", f"http://localhost:{page_port}",
            data_dir=data,
        ),
        "browser",
    )  # fmt: skip
    read_key = _secret(touchpoint("keys", "create", "--scope", "read", data_dir=data), "read")
    listed = touchpoint("keys", "list", data_dir=data).stdout
    assert f"http://127.0.0.1:{page_port}" in listed and "browser" in listed

    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text(PAGE, encoding="utf-8")
    (web / "sdk").symlink_to(sdk, target_is_directory=True)
    handler = functools.partial(_QuietFiles, directory=str(web))
    pages = ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()

    tp = open_touchpoint(Settings(data_dir=data))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(tp), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    lines: list[str] = []
    access = logging.getLogger("touchpoint.access")
    handler_ = _Lines(lines)
    access.addHandler(handler_)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        yield Site(f"http://127.0.0.1:{port}", page_port, browser_key, other_key, read_key, lines)
    finally:
        access.removeHandler(handler_)
        access.setLevel(previous)
        server.should_exit = True
        pages.shutdown()
        pages.server_close()
        tp.close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Visit:
    result: dict[str, Any]
    errors: list[str]  # console errors and uncaught exceptions
    left_machine: list[str]  # requests to any host but loopback (none resolves: OFFLINE)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, OFFLINE]
        )
        yield chromium
        chromium.close()


def visit(browser: Browser, url: str, call: str = "visit", **options: Any) -> Visit:
    """Open `url` in a fresh profile (its own cookies and storage) and run the site's `call`."""
    context = browser.new_context()
    errors: list[str] = []
    left: list[str] = []

    def note_outside(request: Request) -> None:
        if urlsplit(request.url).hostname not in LOOPBACK:
            left.append(request.url)

    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", note_outside)
        page.goto(url)
        result = page.evaluate(f"(options) => window.{call}(options)", options)
        page.wait_for_timeout(300)  # let late console messages arrive
    finally:
        context.close()
    return Visit(result, errors, left)


def customer(site: Site, **identity: str) -> dict[str, Any] | None:
    """The customer holding the identity, with their timeline, through the read API."""
    headers = {"Authorization": f"Bearer {site.read_key}"}
    found = httpx2.get(f"{site.api}/v1/customers", params=identity, headers=headers).json()
    if found["total"] == 0:
        return None
    assert found["total"] == 1, found
    profile = f"{site.api}/v1/customers/{found['items'][0]['id']}"
    view: dict[str, Any] = httpx2.get(profile, headers=headers).json()
    return view


def cdn_settings(site: Site, key: str) -> dict[str, Any]:
    """What a site writes when it passes the settings inline instead of loading them."""
    host = site.api.removeprefix("http://")
    return {
        "integrations": {
            "Segment.io": {"apiKey": key, "apiHost": f"{host}/v1", "protocol": "http"}
        },
        "metrics": {"sampleRate": 0},
    }


def test_a_site_s_page_view_identify_and_purchase_land_on_one_customer(
    site: Site, browser: Browser
) -> None:
    seen = visit(
        browser,
        site.page("127.0.0.1"),
        writeKey=site.browser_key,
        cdnURL=site.api,  # the standard snippet with only the CDN URL changed
        userId="web-user-1",
        email="ann.web@example.com",
    )
    assert seen.result["failed"] == [None, None, None], seen.result
    assert seen.errors == [] and seen.left_machine == []
    anonymous = seen.result["anonymousId"]
    view = customer(site, external_id="web-user-1")
    assert view is not None
    by_visit = customer(site, anonymous_id=anonymous)
    assert by_visit is not None and by_visit["id"] == view["id"]  # the anonymous visit is theirs
    # the same profile, read a moment later: only the scores' decay to that moment differs
    assert {**by_visit, "scores": None} == {**view, "scores": None}
    timeline = sorted(view["timeline"], key=lambda i: i["type"])
    assert [i["type"] for i in timeline] == ["identify", "page_view", "purchase"]
    assert {i["channel"] for i in timeline} == {"web"}
    assert view["email"] == "ann.web@example.com" and view["revenue"] == 99.5
    page_view = timeline[1]
    assert page_view["name"] == "Pricing"
    assert page_view["properties"]["url"] == site.page("127.0.0.1")
    assert page_view["properties"]["plan"] == "pro"
    # analytics.js fetched its settings, preflighted (for its Basic-auth header), then posted to
    # the short paths.
    assert "GET /v1/projects/{write_key}/settings 200" in " ".join(site.access)
    assert sum(line.startswith("OPTIONS - 200 ") for line in site.access) >= 3, site.access
    assert {"POST /v1/p", "POST /v1/i", "POST /v1/t"} <= {
        " ".join(line.split()[:2]) for line in site.access if " 200 " in line
    }


def test_inline_settings_with_batching_send_to_the_batch_path(site: Site, browser: Browser) -> None:
    settings = cdn_settings(site, site.browser_key)
    settings["integrations"]["Segment.io"]["deliveryStrategy"] = {
        "strategy": "batching",
        "config": {"size": 3, "timeout": 200},
    }
    seen = visit(
        browser,
        site.page("127.0.0.1"),
        writeKey=site.browser_key,
        cdnSettings=settings,
        userId="web-user-2",
        email="bo.web@example.com",
    )
    assert seen.errors == [] and seen.left_machine == []
    deadline = time.monotonic() + 10
    while (view := customer(site, external_id="web-user-2")) is None or len(view["timeline"]) < 3:
        assert time.monotonic() < deadline, "the batch did not land"
        time.sleep(0.1)
    assert sorted(i["type"] for i in view["timeline"]) == ["identify", "page_view", "purchase"]
    assert any(line.startswith("POST /v1/b 200") for line in site.access), site.access


def test_keepalive_requests_and_beacons_land(site: Site, browser: Browser) -> None:
    """What a page sends while it unloads: analytics.js's keepalive fetches, and a beacon."""
    settings = cdn_settings(site, site.browser_key)
    settings["integrations"]["Segment.io"]["deliveryStrategy"] = {"config": {"keepalive": True}}
    seen = visit(
        browser,
        site.page("127.0.0.1"),
        writeKey=site.browser_key,
        cdnSettings=settings,
        userId="web-user-3",
        email="cy.web@example.com",
    )
    assert seen.result["failed"] == [None, None, None], seen.result
    assert seen.errors == [] and seen.left_machine == []
    message = {"writeKey": site.browser_key, "userId": "web-user-3", "event": "Page Left"}
    beacon = visit(
        browser, site.page("127.0.0.1"), "beacon", to=f"{site.api}/v1/t", message=message
    )
    assert beacon.result is True and beacon.errors == []
    deadline = time.monotonic() + 10
    while len((view := customer(site, external_id="web-user-3") or {}).get("timeline", [])) < 4:
        assert time.monotonic() < deadline, "the beacon did not land"
        time.sleep(0.1)
    assert sorted(i["type"] for i in view["timeline"]) == [
        "custom",
        "identify",
        "page_view",
        "purchase",
    ]


def test_a_page_from_an_origin_the_key_does_not_allow_is_refused(
    site: Site, browser: Browser
) -> None:
    """localhost is another origin than 127.0.0.1. Another site's key allows it, so the preflight
    passes; the requests themselves carry this site's key and are refused, unreadable."""
    seen = visit(
        browser,
        site.page("localhost"),
        writeKey=site.browser_key,
        cdnSettings=cdn_settings(site, site.browser_key),
        userId="web-intruder",
        email="eve.web@example.com",
    )
    assert seen.left_machine == []
    assert any("CORS" in error for error in seen.errors), seen.errors
    refused = [line for line in site.access if re.match(r"POST /v1/[pit] 403 ", line)]
    assert refused, site.access
    assert customer(site, external_id="web-intruder") is None
    assert customer(site, anonymous_id=seen.result["anonymousId"]) is None
    assert customer(site, email="eve.web@example.com") is None
    # And loading the settings from there is refused too.
    answer = httpx2.get(
        f"{site.api}/v1/projects/{site.browser_key}/settings",
        headers={"Origin": f"http://localhost:{site.page_port}"},
    )
    assert answer.status_code == 403 and "access-control-allow-origin" not in answer.headers


def test_the_sdk_is_the_pinned_npm_release() -> None:
    package = installed_sdk().parents[1] / "package.json"
    assert json.loads(package.read_text())["version"] == SDK_VERSION
