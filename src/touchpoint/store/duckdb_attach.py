"""DuckDB reading the system of record: ATTACH it read-only as `sor` through the SQLite or
PostgreSQL scanner, loaded from its PyPI package (never downloaded at run time; see
STACK-NOTES). Used by the columnar copy's refresh and by the replay's log read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from sqlalchemy.engine import make_url

from touchpoint.errors import BackendError

SQLITE_SCANNER = ("duckdb_extension_sqlite_scanner", "sqlite_scanner")
POSTGRES_SCANNER = ("duckdb_extension_postgres_scanner", "postgres_scanner")


def scanner_extension(package: str, name: str) -> Path:
    """The `.duckdb_extension` file shipped in the installed PyPI package `package`."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"the DuckDB extension package {package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = next(root.glob(f"extensions/*/{name}.duckdb_extension"), None)
    if found is None:
        raise BackendError(f"{package} holds no {name}.duckdb_extension file")
    return found


def attach_system_of_record(con: duckdb.DuckDBPyConnection, database_url: str) -> None:
    """ATTACH the system of record read-only as `sor`, loading the scanner from its PyPI package."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        con.execute(f"LOAD '{scanner_extension(*SQLITE_SCANNER)}'")
        con.execute(f"ATTACH '{url.database}' AS sor (TYPE sqlite, READ_ONLY)")
        return
    con.execute(f"LOAD '{scanner_extension(*POSTGRES_SCANNER)}'")
    parts = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    dsn = " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)
    con.execute(f"ATTACH '{dsn}' AS sor (TYPE postgres, READ_ONLY)")
