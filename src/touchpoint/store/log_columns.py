"""The whole interaction log as Arrow columns, sorted for the stage replay (read through DuckDB)."""

from __future__ import annotations

from collections.abc import Collection

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from touchpoint.analytics.columnar import attach_system_of_record
from touchpoint.domain.stage_replay import LOG_SCHEMA


def read_log_columns(engine: Engine, property_types: Collection[str] | None) -> pa.Table:
    """customer_id, at_us, id, type, channel, direction, revenue, properties — sorted by
    (customer_id, at_us, id) in code-point order; properties only where a rule reads them
    (`property_types`; None = everywhere)."""
    url = engine.url.render_as_string(hide_password=False)
    con = duckdb.connect()
    try:
        attach_system_of_record(con, url)
        at_us = (
            "epoch_us(CAST(occurred_at AS TIMESTAMP))"
            if engine.dialect.name == "sqlite"
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
