"""A throwaway PostgreSQL server for the test session (initdb + pg_ctl on a free port).

Set TOUCHPOINT_TEST_POSTGRES_URL to use a server you already run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(
        f"PostgreSQL's {name} not found: install Debian's postgresql package "
        "(.ci/run does) or set TOUCHPOINT_TEST_POSTGRES_URL"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], as_postgres: bool) -> None:
    if as_postgres:
        args = ["su", "postgres", "-c", " ".join(args)]
    subprocess.run(args, check=True, capture_output=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a server URL (without database name) and stops the server afterwards."""
    external = os.environ.get("TOUCHPOINT_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    as_postgres = os.geteuid() == 0  # initdb refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="tp-pg-"))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, "postgres")
    port = _free_port()
    _run([_pg_bin("initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)], as_postgres)
    options = f"'-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off'"
    _run(
        [_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        as_postgres,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        _run([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], as_postgres)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = "tp_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{server_url}/{name}"
