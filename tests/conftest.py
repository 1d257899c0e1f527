"""Shared fixtures: a Touchpoint on SQLite and on a real PostgreSQL, API clients, keys, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.postgres_server import create_database, postgres_server
from touchpoint.api.app import create_app
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.keys import create_key
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh, empty system of record — each test runs on both engines."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_url")
        return Settings(data_dir=tmp_path, database_url=create_database(server))
    return Settings(data_dir=tmp_path)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """For tests about SQLite-only behaviour (files on disk, the CLI's embedded default)."""
    return Settings(data_dir=tmp_path)


@pytest.fixture
def tp(settings: Settings) -> Iterator[Touchpoint]:
    touchpoint = open_touchpoint(settings)
    yield touchpoint
    touchpoint.close()


def new_key(tp: Touchpoint, scope: str) -> str:
    with write_transaction(tp.engine) as conn:
        return create_key(conn, scope=scope)[1]


@pytest.fixture
def ingest_key(tp: Touchpoint) -> str:
    return new_key(tp, "ingest")


@pytest.fixture
def read_key(tp: Touchpoint) -> str:
    return new_key(tp, "read")


@pytest.fixture
def admin_key(tp: Touchpoint) -> str:
    return new_key(tp, "admin")


@pytest.fixture
def manager_key(tp: Touchpoint) -> str:
    """Writes and reads: an ingest answer names the customer only for a key that may see them."""
    return new_key(tp, "manager")


@pytest.fixture
def client(tp: Touchpoint) -> Iterator[TestClient]:
    with TestClient(create_app(tp)) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tp: Touchpoint) -> Iterator[str]:
    """The real API served by uvicorn on loopback; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(tp), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
