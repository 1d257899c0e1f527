"""RudderStack's JavaScript SDK (`@rudderstack/analytics-js` v3, the bundled build from npm)
against Touchpoint, as a website uses it (issue 16): its source config from Touchpoint's
`/v1/sourceConfig`, its page view, identify and purchase posted to `/v1/page`, `/v1/identify`,
`/v1/track` on another origin, all landing on one customer, with no console error and no request
leaving the machine."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser

from tests.api.test_browser_sdk import (
    Site,
    _Lines,
    _QuietFiles,
    _secret,
    browser,  # noqa: F401  (the fixture)
    customer,
    visit,
)
from tests.conftest import _free_port
from tests.test_cli import touchpoint
from touchpoint.api.app import create_app
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

pytestmark = pytest.mark.slow  # npm (once), Chromium

SDK_VERSION = "3.34.1"  # @rudderstack/analytics-js, pinned: the test is of this bundle
SDK_CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"rudderstack-js-{SDK_VERSION}"
BUNDLE = ("node_modules", "@rudderstack", "analytics-js", "dist", "npm", "modern", "bundled", "umd")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,"></head>
<body><h1>Pricing</h1>
<script src="/sdk/index.js"></script>
<script>
// What a site writes: load with its write key, data plane and config URL, then page(),
// identify() and track().
window.visit = (options) => new Promise((resolve) => {
  const analytics = new rudderanalytics.RudderAnalytics();
  analytics.load(options.writeKey, options.dataPlaneUrl, {
    configUrl: options.configUrl,
    polyfillIfRequired: false,
    onLoaded: () => {
      analytics.page("Pricing", {plan: "pro"});
      analytics.identify(options.userId, {email: options.email, firstName: "Ann"});
      analytics.track("Order Completed", {order_id: "o-1", revenue: 99.5, currency: "EUR"});
      resolve({anonymousId: analytics.getAnonymousId()});
    },
  });
});
</script></body></html>
"""


def installed_sdk() -> Path:
    """The SDK's bundled browser build (plugins inside: nothing fetched from RudderStack's CDN),
    installed from npm once into .cache/. No npm is a failure, not a skip."""
    bundle = SDK_CACHE.joinpath(*BUNDLE)
    if (bundle / "index.js").is_file():
        return bundle
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install @rudderstack/analytics-js (apt-get install npm)")
    staging = SDK_CACHE.with_name(f"{SDK_CACHE.name}.{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--ignore-scripts",
         f"@rudderstack/analytics-js@{SDK_VERSION}"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"npm install @rudderstack/analytics-js failed:\n{done.stderr[-2000:]}")
    try:
        staging.rename(SDK_CACHE)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    assert (bundle / "index.js").is_file(), "the npm package has no bundled umd build"
    return bundle


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sdk = installed_sdk()
    data = tmp_path / "data"
    assert touchpoint("init", data_dir=data).returncode == 0
    page_port = _free_port()
    origin = f"http://127.0.0.1:{page_port}"
    made = touchpoint("keys", "create", "--scope", "browser", "--origin", origin, data_dir=data)
    browser_key = _secret(made, "browser")
    read_key = _secret(touchpoint("keys", "create", "--scope", "read", data_dir=data), "read")
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text(PAGE, encoding="utf-8")
    (web / "sdk").symlink_to(sdk, target_is_directory=True)
    pages = ThreadingHTTPServer(
        ("127.0.0.1", page_port), functools.partial(_QuietFiles, directory=str(web))
    )
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
    access = logging_access()
    handler = _Lines(lines)
    access.addHandler(handler)
    previous = access.level
    access.setLevel(20)
    try:
        yield Site(f"http://127.0.0.1:{port}", page_port, browser_key, "", read_key, lines)
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
        server.should_exit = True
        pages.shutdown()
        pages.server_close()
        tp.close()


def logging_access() -> Any:
    import logging

    return logging.getLogger("touchpoint.access")


def settled(site: Site, **identity: str) -> dict[str, Any] | None:
    """The customer once the SDK's queue has delivered the three calls (it sends after load)."""
    deadline = time.monotonic() + 15
    while True:
        view = customer(site, **identity)
        if view is not None and len(view["timeline"]) >= 3 or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def test_rudderstack_s_page_view_identify_and_purchase_land_on_one_customer(
    site: Site,
    browser: Browser,  # noqa: F811
) -> None:
    seen = visit(
        browser,
        site.page("127.0.0.1"),
        writeKey=site.browser_key,
        dataPlaneUrl=site.api,
        configUrl=f"{site.api}/v1",
        userId="rs-user-1",
        email="ann.rs@example.com",
    )
    view = settled(site, external_id="rs-user-1")
    assert view is not None, site.access
    assert seen.errors == [] and seen.left_machine == [], (seen, site.access)
    by_visit = customer(site, anonymous_id=seen.result["anonymousId"])
    assert by_visit is not None and by_visit["id"] == view["id"]
    timeline = sorted(view["timeline"], key=lambda i: i["type"])
    assert [i["type"] for i in timeline] == ["identify", "page_view", "purchase"]
    assert view["email"] == "ann.rs@example.com" and view["revenue"] == 99.5
    assert view["traits"].get("first_name") == "Ann"
    assert timeline[1]["name"] == "Pricing" and timeline[1]["properties"]["plan"] == "pro"
    # The SDK fetched its config (preflighted: Basic auth), then posted each call (preflighted:
    # JSON, Basic auth, its AnonymousId and SentAt headers).
    sent = {line.split()[1].partition("?")[0] for line in site.access if " 200 " in line}
    assert {"/v1/sourceConfig/", "/v1/page", "/v1/identify", "/v1/track"} <= sent, site.access
    assert sum(line.startswith("OPTIONS ") for line in site.access) >= 4, site.access
