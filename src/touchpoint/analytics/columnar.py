"""The columnar copy: a DuckDB file in the data directory holding the interaction log, the stage
transitions and a slim customer table, refreshed incrementally from the system of record.

DuckDB reads the system of record through its SQLite/PostgreSQL scanner (loaded from the PyPI
package, never downloaded). A refresh copies only interactions above the high-water mark on `seq`,
then replays what changed in place: merges (rewrite the loser's rows to the survivor), customers
touched recently (traits), and the transitions of every customer whose history the lifecycle
engine rewrote. See docs/decisions.md, "Analytics: the columnar copy".
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.engine import make_url

from touchpoint.settings import Settings

COPY_FILE = "analytics.duckdb"
CUSTOMER_SLACK = (
    "INTERVAL 10 MINUTE"  # customers updated this long before the last copy are re-read
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    seq BIGINT, id VARCHAR, customer_id VARCHAR, occurred_at TIMESTAMP, channel VARCHAR,
    direction VARCHAR, type VARCHAR, name VARCHAR, source VARCHAR, medium VARCHAR,
    campaign VARCHAR, keyword VARCHAR, creative VARCHAR, agent VARCHAR, queue VARCHAR,
    duration_s DOUBLE, outcome VARCHAR, revenue DOUBLE, currency VARCHAR,
    csat DOUBLE, nps DOUBLE, heard_about VARCHAR, ticket_id VARCHAR,
    first_contact_resolution DOUBLE, properties VARCHAR
);
CREATE TABLE IF NOT EXISTS transitions (
    seq BIGINT, customer_id VARCHAR, from_stage VARCHAR, to_stage VARCHAR, "at" TIMESTAMP,
    interaction_id VARCHAR, reason VARCHAR
);
CREATE TABLE IF NOT EXISTS customers (
    id VARCHAR, created_at TIMESTAMP, segment VARCHAR, country VARCHAR
);
CREATE TABLE IF NOT EXISTS copy_state (key VARCHAR PRIMARY KEY, value VARCHAR);
"""

# The interaction columns as the copy stores them; `p` is the properties JSON as text.
# Survey answers come either as flat properties (csat, nps, heard_about) or as the demo's
# {"survey": "csat"|"nps"|"how_did_you_hear", "score"|"answer": ...}; both land in one column each.
_P = "CAST(i.properties AS VARCHAR)"
_SURVEY = f"json_extract_string({_P}, '$.survey')"


def _score(key: str) -> str:
    return (
        f"coalesce(TRY_CAST(json_extract_string({_P}, '$.{key}') AS DOUBLE), CASE WHEN {_SURVEY} "
        f"= '{key}' THEN TRY_CAST(json_extract_string({_P}, '$.score') AS DOUBLE) END)"
    )


_HEARD = (
    f"coalesce(json_extract_string({_P}, '$.heard_about'), CASE WHEN {_SURVEY} = "
    f"'how_did_you_hear' THEN json_extract_string({_P}, '$.answer') END)"
)

# The interaction columns as the copy stores them.
INTERACTION_SELECT = f"""
    i.seq, i.id, i.customer_id, CAST(i.occurred_at AS TIMESTAMP) AS occurred_at, i.channel,
    i.direction, i.type, i.name, i.source, i.medium, i.campaign, i.keyword, i.creative, i.agent,
    i.queue, CAST(i.duration_s AS DOUBLE), i.outcome, CAST(i.revenue AS DOUBLE), i.currency,
    {_score("csat")}, {_score("nps")}, {_HEARD}, json_extract_string({_P}, '$.ticket_id'),
    CAST(TRY_CAST(json_extract_string({_P}, '$.first_contact_resolution') AS BOOLEAN) AS DOUBLE),
    {_P}
"""

CUSTOMER_SELECT = """
    c.id, CAST(c.created_at AS TIMESTAMP),
    coalesce(json_extract_string(CAST(c.traits AS VARCHAR), '$.segment'),
             json_extract_string(CAST(c.traits AS VARCHAR), '$.country'), 'unknown'),
    coalesce(json_extract_string(CAST(c.traits AS VARCHAR), '$.country'), 'unknown')
"""


@dataclass(frozen=True)
class RefreshStats:
    interactions: int
    merges: int
    customers: int
    transitions: int
    full_transitions: bool
    seconds: float


def copy_path(settings: Settings) -> Path:
    return settings.data_dir / COPY_FILE


def _extension(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    return next(root.glob(f"extensions/*/{name}.duckdb_extension"))


def attach_system_of_record(con: duckdb.DuckDBPyConnection, database_url: str) -> None:
    """ATTACH the system of record read-only as `sor`, loading the scanner from its PyPI package."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        con.execute(f"LOAD '{_extension('duckdb_extension_sqlite_scanner', 'sqlite_scanner')}'")
        con.execute(f"ATTACH '{url.database}' AS sor (TYPE sqlite, READ_ONLY)")
        return
    con.execute(f"LOAD '{_extension('duckdb_extension_postgres_scanner', 'postgres_scanner')}'")
    parts = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    dsn = " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)
    con.execute(f"ATTACH '{dsn}' AS sor (TYPE postgres, READ_ONLY)")


SCHEMA_VERSION = hashlib.sha256(SCHEMA.encode()).hexdigest()[:12]


def connect_copy(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the copy; a copy made with another schema is thrown away and rebuilt from scratch
    (it is only ever a cache of the system of record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    if read_only:
        return con
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if tables and ("copy_state" not in tables or _state(con, "schema", "") != SCHEMA_VERSION):
        for name in tables:
            con.execute(f'DROP TABLE "{name}"')
    con.execute(SCHEMA)
    _set_state(con, "schema", SCHEMA_VERSION)
    return con


def _state(con: duckdb.DuckDBPyConnection, key: str, default: str) -> str:
    row = con.execute("SELECT value FROM copy_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def _set_state(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO copy_state VALUES (?, ?)", [key, value])


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def refresh(settings: Settings) -> RefreshStats:
    """Bring the columnar copy up to date with the system of record; returns what was copied."""
    started = time.perf_counter()
    con = connect_copy(copy_path(settings))
    try:
        attach_system_of_record(con, settings.resolved_database_url())
        con.execute("BEGIN")
        stats = _refresh(con)
        con.execute("COMMIT")
    finally:
        con.close()
    return RefreshStats(**stats, seconds=time.perf_counter() - started)


def _refresh(con: duckdb.DuckDBPyConnection) -> dict[str, int | bool]:
    # Read the high-water marks of the system of record first: rows committed while we copy are
    # picked up next time, never half.
    top = _count(con, "SELECT max(seq) FROM sor.interactions")
    top_merges = _count(con, "SELECT max(seq) FROM sor.merges")
    top_transitions = _count(con, "SELECT max(seq) FROM sor.stage_transitions")
    generation = con.execute(
        "SELECT max(value) FROM sor.lifecycle_meta WHERE key = 'generation'"
    ).fetchone()
    return {
        "interactions": _copy_interactions(con, top),
        "merges": _apply_merges(con, top_merges),
        "customers": _copy_customers(con),
        **_copy_transitions(con, top_transitions, str(generation[0] if generation else None)),
    }


def _copy_interactions(con: duckdb.DuckDBPyConnection, top: int) -> int:
    mark = int(_state(con, "interactions_seq", "0"))
    if top <= mark:
        return 0
    con.execute(
        f"INSERT INTO interactions SELECT {INTERACTION_SELECT} FROM sor.interactions i "
        "WHERE i.seq > ? AND i.seq <= ?",
        [mark, top],
    )
    _set_state(con, "interactions_seq", str(top))
    return top - mark if mark else _count(con, "SELECT count(*) FROM interactions")


def _apply_merges(con: duckdb.DuckDBPyConnection, top: int) -> int:
    """Point rows of merged-away customers at their final survivor (customers.merged_into is kept
    pointing at the final survivor by the merge itself, so chains resolve in one step)."""
    mark = int(_state(con, "merges_seq", "0"))
    if top <= mark:
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved AS SELECT DISTINCT m.merged_id AS loser, "
        "c.merged_into AS survivor FROM sor.merges m JOIN sor.customers c ON c.id = m.merged_id "
        "WHERE m.seq > ? AND m.seq <= ? AND c.merged_into IS NOT NULL",
        [mark, top],
    )
    con.execute(
        "UPDATE interactions SET customer_id = moved.survivor FROM moved "
        "WHERE interactions.customer_id = moved.loser"
    )
    con.execute("DELETE FROM transitions WHERE customer_id IN (SELECT loser FROM moved)")
    con.execute("DELETE FROM customers WHERE id IN (SELECT loser FROM moved)")
    _set_state(con, "merges_seq", str(top))
    return _count(con, "SELECT count(*) FROM moved")


def _copy_customers(con: duckdb.DuckDBPyConnection) -> int:
    since = _state(con, "customers_updated", "")
    where = f"c.updated_at >= CAST(? AS TIMESTAMP) - {CUSTOMER_SLACK}" if since else "TRUE"
    params: list[object] = [since] if since else []
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE touched AS SELECT {CUSTOMER_SELECT}, "
        "c.merged_into IS NOT NULL AS gone, CAST(c.updated_at AS TIMESTAMP) AS updated "
        f"FROM sor.customers c WHERE {where}",
        params,
    )
    con.execute("DELETE FROM customers WHERE id IN (SELECT id FROM touched)")
    con.execute(
        "INSERT INTO customers SELECT * EXCLUDE (gone, updated) FROM touched WHERE NOT gone"
    )
    newest = con.execute("SELECT max(updated) FROM touched").fetchone()
    if newest and newest[0] is not None:
        _set_state(con, "customers_updated", str(newest[0]))
    return _count(con, "SELECT count(*) FROM touched")


def _fingerprint(
    con: duckdb.DuckDBPyConnection, table: str, top: int | None = None
) -> tuple[int, int]:
    """(rows, sum of seq) of the transitions up to `top`: equal in the copy and the system of
    record when the copy is right."""
    where = "" if top is None else f"WHERE seq <= {int(top)}"
    row = con.execute(f"SELECT count(*), coalesce(sum(seq), 0) FROM {table} {where}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _copy_transitions(
    con: duckdb.DuckDBPyConnection, top: int, generation: str
) -> dict[str, int | bool]:
    mark = int(_state(con, "transitions_seq", "0"))
    full = generation != _state(con, "generation", "None") or mark == 0
    if not full and top <= mark:
        if _fingerprint(con, "sor.stage_transitions", top) == _fingerprint(con, "transitions"):
            return {"transitions": 0, "full_transitions": False}
        full = True
    live = "t.customer_id IN (SELECT id FROM customers)"
    select = (
        'SELECT t.seq, t.customer_id, t.from_stage, t.to_stage, CAST(t."at" AS TIMESTAMP), '
        "t.interaction_id, t.reason FROM sor.stage_transitions t"
    )
    if full:
        con.execute("DELETE FROM transitions")
        con.execute(f"INSERT INTO transitions {select} WHERE t.seq <= ? AND {live}", [top])
    else:
        # The lifecycle engine rewrites a customer's whole history with new seqs, so every
        # customer with a row above the mark is replaced wholesale.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE changed AS SELECT DISTINCT customer_id "
            "FROM sor.stage_transitions WHERE seq > ? AND seq <= ?",
            [mark, top],
        )
        con.execute(
            "DELETE FROM transitions WHERE customer_id IN (SELECT customer_id FROM changed)"
        )
        con.execute(
            f"INSERT INTO transitions {select} SEMI JOIN changed USING (customer_id) "
            f"WHERE t.seq <= ? AND {live}",
            [top],
        )
    if not full and _fingerprint(con, "sor.stage_transitions", top) != _fingerprint(
        con, "transitions"
    ):
        # SQLite may hand out a deleted row's seq again (INTEGER PRIMARY KEY without
        # AUTOINCREMENT), so a rewrite can hide below the mark: then copy everything again.
        con.execute("DELETE FROM transitions")
        con.execute(f"INSERT INTO transitions {select} WHERE t.seq <= ? AND {live}", [top])
        full = True
    _set_state(con, "transitions_seq", str(top))
    _set_state(con, "generation", generation)
    return {
        "transitions": _count(con, "SELECT count(*) FROM transitions"),
        "full_transitions": full,
    }
