"""The API docs work offline: /docs and /redoc load only assets the server itself serves (from an
installed package), a real Chromium with every other host blocked renders them, and the OpenAPI
document's security schemes let Swagger UI's "Authorize" send a key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route, sync_playwright

from touchpoint.settings import Settings

DOC_PAGES = ["/docs", "/redoc"]
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def settings(sqlite_settings: Settings) -> Settings:
    """The docs do not depend on the engine: one run, on SQLite."""
    return sqlite_settings


class _References(HTMLParser):
    """Every URL a page names in an attribute (script src, link href, ReDoc's spec-url)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [
            value for name, value in attrs if name in {"src", "href", "spec-url"} and value
        ]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", DOC_PAGES)
def test_doc_page_names_only_local_urls(client: TestClient, page: str) -> None:
    html = client.get(page).text
    urls = references(html)
    assert urls, "the page names its assets"
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
    assert not re.search(r"https?://", html), "no absolute URL anywhere in the page"


@pytest.mark.parametrize("page", DOC_PAGES)
def test_every_asset_a_doc_page_names_is_served(client: TestClient, page: str) -> None:
    assets = [url for url in references(client.get(page).text) if url.startswith("/docs/assets/")]
    assert {url.rsplit(".", 1)[1] for url in assets} >= {"js"}
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        expected = ASSET_TYPES["." + url.rsplit(".", 1)[1]]
        assert expected in response.headers["content-type"], url
        assert len(response.content) > 1000, url


def test_an_asset_is_not_sent_again_to_a_browser_that_has_it(client: TestClient) -> None:
    first = client.get("/docs/assets/swagger-ui.css")
    again = client.get(
        "/docs/assets/swagger-ui.css", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert client.get("/docs/assets/secrets.txt").status_code == 404


def test_openapi_declares_bearer_and_segment_basic(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"]["type"] == "http" and schemes["ApiKey"]["scheme"] == "bearer"
    assert schemes["SegmentWriteKey"]["type"] == "http"
    assert schemes["SegmentWriteKey"]["scheme"] == "basic"
    assert schemes["UserPassword"]["type"] == "http"
    assert schemes["UserPassword"]["scheme"] == "basic"
    paths = document["paths"]
    key_or_user = [{"ApiKey": []}, {"UserPassword": []}]
    assert paths["/v1/customers"]["get"]["security"] == key_or_user
    assert paths["/v1/merges/{merge_id}/unmerge"]["post"]["security"] == key_or_user
    assert paths["/v1/batch"]["post"]["security"] == [{"ApiKey": []}, {"SegmentWriteKey": []}]
    assert "security" not in paths["/health"]["get"]


def test_every_operation_but_health_needs_a_key(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    open_operations = [
        (method, path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if not operation.get("security")
    ]
    # and an email's unsubscribe link (its signed token is the proof; it names no one else)
    assert sorted(open_operations) == [
        ("get", "/health"),
        ("get", "/v1/survey/{token}"),
        ("get", "/v1/unsubscribe/{token}"),
        ("post", "/v1/survey/{token}"),
        ("post", "/v1/unsubscribe/{token}"),
    ]


def test_a_malformed_basic_header_gets_the_key_checks_own_401(client: TestClient) -> None:
    """The Basic scheme is declared for the document only: the key check still reads the header."""
    missing = client.get("/v1/customers").json()
    for path, call in (("/v1/customers", client.get), ("/v1/batch", client.post)):
        response = call(path, headers={"Authorization": "Basic not-base64!"})
        assert response.status_code == 401, path
        assert response.json() == missing, path


# --- a real browser, offline ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Traffic:
    """The URLs a page asked for: to loopback (let through) and to any other host (refused)."""

    allowed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[tuple[Page, Traffic]]:
    """A page that can reach only loopback, as on a machine without internet."""
    traffic = Traffic()

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            traffic.allowed.append(route.request.url)
            route.continue_()
        else:
            traffic.refused.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", only_loopback)
    yield context.new_page(), traffic
    context.close()


def test_swagger_ui_renders_offline(offline_page: tuple[Page, Traffic], live_server: str) -> None:
    page, traffic = offline_page
    page.goto(f"{live_server}/docs")
    page.locator(".opblock-summary-path[data-path='/v1/customers']").wait_for()
    assert page.locator(".opblock").count() > 10
    assert f"{live_server}/docs/assets/swagger-ui-bundle.js" in traffic.allowed
    assert traffic.refused == []


def test_authorize_in_swagger_ui_sends_the_key(
    offline_page: tuple[Page, Traffic], live_server: str, read_key: str
) -> None:
    page, traffic = offline_page
    page.goto(f"{live_server}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    assert dialog.get_by_text("ApiKey").first.is_visible()
    assert dialog.get_by_text("SegmentWriteKey").first.is_visible()
    dialog.locator("#auth-bearer-value").fill(read_key)
    dialog.get_by_role("button", name="Apply credentials").first.click()
    dialog.get_by_role("button", name="Close").first.click()

    page.locator(".opblock-summary-path[data-path='/v1/customers']").click()
    operation = page.locator("#operations-customers-list_customers_v1_customers_get")
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(lambda response: "/v1/customers" in response.url) as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.request.headers["authorization"] == f"Bearer {read_key}"
    assert answer.value.status == 200
    assert traffic.refused == []


def test_redoc_renders_offline(offline_page: tuple[Page, Traffic], live_server: str) -> None:
    """ReDoc's sidebar shows Redocly's logo from their CDN: the page's CSP stops that request."""
    page, traffic = offline_page
    page.goto(f"{live_server}/redoc")
    page.get_by_role("heading", name=re.compile("^Touchpoint")).first.wait_for()
    page.get_by_role("heading", name="Record one interaction").first.wait_for()
    assert f"{live_server}/docs/assets/redoc.standalone.js" in traffic.allowed
    assert traffic.refused == []
