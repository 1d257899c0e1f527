"""One access line per request — method, path template, query parameter names, status, who,
duration — and never a body or personal data."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.http import bearer, send
from tests.builders import interaction
from touchpoint.api.middleware import ACCESS_LOGGER
from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import list_keys
from touchpoint.store.engine import read_connection

LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<who>\S+) [\d.]+ms$")


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    found = [LINE.match(r.getMessage()) for r in records]
    assert all(found), [r.getMessage() for r in records]
    return [m for m in found if m]


def key_id(tp: Touchpoint, scope: str) -> str:
    with read_connection(tp.engine) as conn:
        (key,) = [k for k in list_keys(conn) if k.scope == scope]
    return key.id


def test_a_lookup_by_email_logs_the_parameter_name_and_no_email(
    tp: Touchpoint,
    client: TestClient,
    ingest_key: str,
    read_key: str,
    access: pytest.LogCaptureFixture,
) -> None:
    send(client, ingest_key, interaction(email="ann.secret@example.com", id="e1"))
    answer = client.get(
        "/v1/customers?email=ann.secret%40example.com&limit=5", headers=bearer(read_key)
    )
    assert answer.status_code == 200
    assert answer.json()  # the lookup found her: the line below is about a real hit
    ingest, lookup = lines(access)
    assert (ingest["method"], ingest["path"], ingest["status"]) == (
        "POST",
        "/v1/interactions/batch",
        "200",
    )
    assert ingest["who"] == key_id(tp, "ingest")
    assert (lookup["method"], lookup["path"], lookup["status"]) == (
        "GET",
        "/v1/customers?email&limit",
        "200",
    )
    assert lookup["who"] == key_id(tp, "read")
    logged = "\n".join(r.getMessage() for r in access.records)
    assert "ann" not in logged and "example" not in logged


def test_a_path_with_an_id_logs_the_route_template(
    client: TestClient, read_key: str, access: pytest.LogCaptureFixture
) -> None:
    client.get("/v1/customers/cus_nobody", headers=bearer(read_key))
    (line,) = lines(access)
    assert line["path"] == "/v1/customers/{customer_id}"
    assert line["status"] == "404"
    assert "cus_nobody" not in access.text


def test_refused_and_unrouted_requests_are_logged_too(
    client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    client.get("/v1/customers?phone=%2B12025550142")
    client.get("/nowhere/ann@example.com")
    refused, unrouted = lines(access)
    assert (refused["path"], refused["status"], refused["who"]) == (
        "/v1/customers?phone",
        "401",
        "-",
    )
    assert (unrouted["path"], unrouted["status"]) == ("-", "404")
    assert "2025550142" not in access.text and "ann@" not in access.text


def test_a_request_the_middleware_refuses_is_logged_with_its_route(
    client: TestClient, ingest_key: str, access: pytest.LogCaptureFixture
) -> None:
    too_big = b"[" + b" " * (6 * 1024 * 1024) + b"]"
    answer = client.post(
        "/v1/batch",
        content=too_big,
        headers={**bearer(ingest_key), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    (line,) = lines(access)
    assert (line["method"], line["path"], line["status"], line["who"]) == (
        "POST",
        "/v1/batch",
        "413",
        "-",  # refused before the key was read
    )
