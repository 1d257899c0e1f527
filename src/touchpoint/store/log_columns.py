"""The whole interaction log as Arrow columns, sorted for the stage replay (read through DuckDB;
for SQLite in a separate process, see `touchpoint.isolation`)."""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from touchpoint.domain.stage_replay import LOG_SCHEMA
from touchpoint.errors import BackendError, describe
from touchpoint.isolation import DOING, in_worker_process
from touchpoint.store.duckdb_attach import attach_system_of_record


def read_log_columns(engine: Engine, property_types: Collection[str] | None) -> pa.Table:
    """customer_id, at_us, id, type, channel, direction, revenue, properties — sorted by
    (customer_id, at_us, id) in code-point order; properties only where a rule reads them
    (`property_types`; None = everywhere)."""
    url = engine.url.render_as_string(hide_password=False)
    types = None if property_types is None else sorted(property_types)
    if engine.dialect.name != "sqlite":
        try:
            return _read(url, engine.dialect.name, types)
        except duckdb.Error as error:
            raise BackendError(f"{DOING['read-log']} failed: {describe(error)}") from error
    with tempfile.TemporaryDirectory(prefix="tp-log-") as directory:
        path = Path(directory) / "log.arrow"
        payload = {"url": url, "property_types": types, "path": str(path)}
        in_worker_process("read-log", payload)
        # The table's buffers keep the mapping alive after the file's name is gone.
        return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def read_log_job(payload: dict[str, Any]) -> dict[str, Any]:
    """In the isolated process: read the SQLite log and write it as an Arrow IPC file."""
    table = _read(payload["url"], "sqlite", payload["property_types"])
    with pa.OSFile(payload["path"], "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return {"rows": table.num_rows}


def _read(url: str, dialect: str, property_types: Collection[str] | None) -> pa.Table:
    con = duckdb.connect()
    try:
        attach_system_of_record(con, url)
        at_us = (
            "epoch_us(CAST(occurred_at AS TIMESTAMP))"
            if dialect == "sqlite"
            else "epoch_us(occurred_at)"
        )
        if property_types is None:
            properties = "CAST(properties AS VARCHAR)"
        elif property_types:
            listed = ", ".join("'" + t.replace("'", "''") + "'" for t in sorted(property_types))
            properties = f"CASE WHEN type IN ({listed}) THEN CAST(properties AS VARCHAR) END"
        else:
            properties = "CAST(NULL AS VARCHAR)"
        query = f"""
            SELECT customer_id, {at_us} AS at_us, id, type, channel, direction,
                   CAST(revenue AS DOUBLE) AS revenue, {properties} AS properties
            FROM sor.interactions
            ORDER BY customer_id, at_us, id  -- DuckDB compares strings by code point
        """
        table = con.sql(query).to_arrow_table()
    finally:
        con.close()
    return table.cast(LOG_SCHEMA)
