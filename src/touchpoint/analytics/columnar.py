"""The columnar copy: a DuckDB file in the data directory holding the interaction log, the stage
transitions and a slim customer table, refreshed incrementally from the system of record.

DuckDB reads the system of record through its SQLite/PostgreSQL scanner (loaded from the PyPI
package, never downloaded). A refresh copies only interactions above the high-water mark on `seq`,
then replays what changed in place: merges (rewrite the loser's rows to the survivor), unmerges
(re-read both sides' rows), customers touched recently (traits), and the transitions of every
customer whose history the lifecycle engine rewrote. See docs/decisions.md, "Analytics: the
columnar copy".
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.engine import make_url

from touchpoint.domain import contact_center as cc
from touchpoint.domain import surveys
from touchpoint.errors import BackendError, describe
from touchpoint.isolation import DOING, in_worker_process
from touchpoint.settings import Settings
from touchpoint.store.duckdb_attach import attach_system_of_record

COPY_FILE = "analytics.duckdb"
CUSTOMER_SLACK = (
    "INTERVAL 10 MINUTE"  # customers updated this long before the last copy are re-read
)

# Customers are keyed by integers in the copy: every group-by and join over the log hashes a
# BIGINT instead of a text id. `customer_keys` maps each key to the system of record's id (every
# id the copy has seen, merged-away ones included) for reports that list customers.
SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_keys (key BIGINT, id VARCHAR);
CREATE TABLE IF NOT EXISTS interactions (
    seq BIGINT, id VARCHAR, customer_id BIGINT, occurred_at TIMESTAMP, channel VARCHAR,
    direction VARCHAR, type VARCHAR, name VARCHAR, source VARCHAR, medium VARCHAR,
    campaign VARCHAR, keyword VARCHAR, creative VARCHAR, agent VARCHAR, queue VARCHAR,
    duration_s DOUBLE, outcome VARCHAR, revenue DOUBLE, currency VARCHAR,
    csat DOUBLE, nps DOUBLE, heard_about VARCHAR, ticket_id VARCHAR, contact_id VARCHAR,
    first_contact_resolution DOUBLE, wait_s DOUBLE, transfers DOUBLE, hold_s DOUBLE,
    wrapup_s DOUBLE, properties VARCHAR
);
CREATE TABLE IF NOT EXISTS transitions (
    seq BIGINT, customer_id BIGINT, from_stage VARCHAR, to_stage VARCHAR, "at" TIMESTAMP,
    interaction_id VARCHAR, reason VARCHAR
);
-- One row per customer and month with an inbound interaction, the first such moment, and the
-- customer's previous and next active month: what composition and churn count as activity, kept
-- up to date at refresh (Sources.monthly_activity).
CREATE TABLE IF NOT EXISTS monthly_activity (
    customer_id BIGINT, p BIGINT, first_at TIMESTAMP, prev_p BIGINT, next_p BIGINT,
    next_first_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS customers (
    id BIGINT, created_at TIMESTAMP, segment VARCHAR, country VARCHAR, name VARCHAR,
    email VARCHAR, phone VARCHAR
);
CREATE TABLE IF NOT EXISTS spend (
    date DATE, campaign VARCHAR, source VARCHAR, medium VARCHAR, channel VARCHAR, amount DOUBLE,
    currency VARCHAR
);
CREATE TABLE IF NOT EXISTS copy_state (key VARCHAR PRIMARY KEY, value VARCHAR);
"""

# The interaction columns as the copy stores them; `p` is the properties JSON as text.
# Survey answers, by domain.surveys' rule: flat properties (csat, nps, heard_about) or the demo's
# {"survey": "csat"|"nps"|"how_did_you_hear", "score"|"answer": ...}; both land in one column each.
_P = "CAST(i.properties AS VARCHAR)"
_SURVEY = f"json_extract_string({_P}, '$.survey')"


def _score(key: str) -> str:
    return (
        f"coalesce(TRY_CAST(json_extract_string({_P}, '$.{key}') AS DOUBLE), CASE WHEN {_SURVEY} "
        f"= '{key}' THEN TRY_CAST(json_extract_string({_P}, '$.score') AS DOUBLE) END)"
    )


_HEARD = (
    f"coalesce(json_extract_string({_P}, '$.{surveys.HEARD_ABOUT}'), CASE WHEN {_SURVEY} = "
    f"'{surveys.HEARD_SURVEY}' THEN json_extract_string({_P}, '$.answer') END)"
)

LOG_COLUMNS = (
    "seq id customer_id occurred_at channel direction type name source medium campaign keyword "
    "creative agent queue duration_s outcome revenue currency"
).split()

# The interaction columns as the copy stores them (customer_id still the text id: see _insert_keyed).
INTERACTION_SELECT = f"""
    CAST(i.seq AS BIGINT) AS seq, i.id, i.customer_id, CAST(i.occurred_at AS TIMESTAMP) AS occurred_at,
    i.channel, i.direction, i.type, i.name, i.source, i.medium, i.campaign, i.keyword, i.creative,
    i.agent, i.queue, CAST(i.duration_s AS DOUBLE) AS duration_s, i.outcome,
    CAST(i.revenue AS DOUBLE) AS revenue, i.currency, {_score("csat")} AS csat,
    {_score("nps")} AS nps, {_HEARD} AS heard_about,
    json_extract_string({_P}, '$.ticket_id') AS ticket_id,
    json_extract_string({_P}, '$.{cc.CONTACT_PROPERTY}') AS contact_id,
    CAST(TRY_CAST(json_extract_string({_P}, '$.{cc.FCR_PROPERTY}') AS BOOLEAN) AS DOUBLE)
        AS {cc.FCR_PROPERTY},
    TRY_CAST(json_extract_string({_P}, '$.{cc.WAIT_PROPERTY}') AS DOUBLE) AS {cc.WAIT_PROPERTY},
    TRY_CAST(json_extract_string({_P}, '$.{cc.TRANSFERS_PROPERTY}') AS DOUBLE)
        AS {cc.TRANSFERS_PROPERTY},
    TRY_CAST(json_extract_string({_P}, '$.{cc.HOLD_PROPERTY}') AS DOUBLE) AS {cc.HOLD_PROPERTY},
    TRY_CAST(json_extract_string({_P}, '$.{cc.WRAPUP_PROPERTY}') AS DOUBLE)
        AS {cc.WRAPUP_PROPERTY},
    {_P} AS properties
"""
COPY_COLUMNS = {
    "interactions": [*LOG_COLUMNS, "csat", "nps", "heard_about", "ticket_id", "contact_id"]
    + [cc.FCR_PROPERTY, cc.WAIT_PROPERTY, cc.TRANSFERS_PROPERTY]
    + [cc.HOLD_PROPERTY, cc.WRAPUP_PROPERTY, "properties"],
    "transitions": [
        "seq",
        "customer_id",
        "from_stage",
        "to_stage",
        "at",
        "interaction_id",
        "reason",
    ],
    "customers": ["id", "created_at", "segment", "country", "name", "email", "phone"],
}

CUSTOMER_SELECT = """
    c.id, CAST(c.created_at AS TIMESTAMP) AS created_at,
    coalesce(json_extract_string(CAST(c.traits AS VARCHAR), '$.segment'),
             json_extract_string(CAST(c.traits AS VARCHAR), '$.country'), 'unknown') AS segment,
    coalesce(json_extract_string(CAST(c.traits AS VARCHAR), '$.country'), 'unknown') AS country,
    coalesce(json_extract_string(CAST(c.traits AS VARCHAR), '$.name'), nullif(concat_ws(' ',
             json_extract_string(CAST(c.traits AS VARCHAR), '$.first_name'),
             json_extract_string(CAST(c.traits AS VARCHAR), '$.last_name')), '')) AS name,
    c.email, c.phone
"""


def _latest_identity(kind: str) -> str:
    """System-of-record SQL (SQLite and PostgreSQL): a customer's newest identity of `kind`
    without its "kind:" prefix, as the customer view shows it; by the identities' index."""
    return (
        f"(SELECT substr(i.key, {len(kind) + 2}) FROM identities i WHERE i.customer_id = "
        f"customers.id AND i.kind = '{kind}' ORDER BY i.first_seen_at DESC, i.key DESC LIMIT 1)"
        f" AS {kind}"
    )


def _people_sql(sor: SystemReader, where: str) -> str:
    """The customers' rows CUSTOMER_SELECT reads, with their newest email and phone."""
    return (
        f"SELECT id, created_at, {sor.traits()} AS traits, merged_into, "
        f"{_latest_identity('email')}, {_latest_identity('phone')} FROM customers WHERE {where}"
    )


@dataclass(frozen=True)
class RefreshStats:
    interactions: int
    merges: int
    unmerges: int
    customers: int
    transitions: int
    full_transitions: bool
    seconds: float


def copy_path(settings: Settings) -> Path:
    return settings.data_dir / COPY_FILE


SCHEMA_VERSION = hashlib.sha256(SCHEMA.encode()).hexdigest()[:12]


def connect_copy(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the copy; a copy made with another schema is thrown away and rebuilt from scratch
    (it is only ever a cache of the system of record)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        owner_only(path)
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


def owner_only(path: Path) -> None:
    """The copy and its write-ahead log hold personal data: readable by their owner only."""
    for file in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def _state(con: duckdb.DuckDBPyConnection, key: str, default: str) -> str:
    row = con.execute("SELECT value FROM copy_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def _set_state(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO copy_state VALUES (?, ?)", [key, value])


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _look_up_customers(con: duckdb.DuckDBPyConnection, ids: str) -> None:
    """Make sure every customer id that the query `ids` (one text column) returns has a key and
    is in the refresh's temp table `batch_keys` (key, id). A customer the copy has not seen gets
    the next key (in id order, so a rebuild numbers them the same). The million-row
    customer_keys is scanned once per call, and only for ids the batch does not hold yet."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE wanted AS SELECT DISTINCT w.id FROM "
        f"({ids}) AS w(id) WHERE w.id IS NOT NULL AND w.id NOT IN (SELECT id FROM batch_keys)"
    )
    if not _count(con, "SELECT count(*) FROM wanted"):
        return
    con.execute(
        "INSERT INTO batch_keys SELECT k.key, k.id FROM customer_keys k "
        "WHERE k.id IN (SELECT id FROM wanted)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE unseen AS SELECT "
        "(SELECT coalesce(max(key), 0) FROM customer_keys) + row_number() OVER (ORDER BY id) "
        "AS key, id FROM wanted WHERE id NOT IN (SELECT id FROM batch_keys)"
    )
    con.execute("INSERT INTO customer_keys SELECT key, id FROM unseen")
    con.execute("INSERT INTO batch_keys SELECT key, id FROM unseen")
    con.execute("DROP TABLE unseen")
    con.execute("DROP TABLE wanted")


def _insert_keyed(
    con: duckdb.DuckDBPyConnection, table: str, staged: str, where: str = "TRUE"
) -> None:
    """Insert the rows of the temp table `staged` (customers by text id, in the column the copy
    keys: `id` for customers, else `customer_id`) into `table` with the ids turned into keys."""
    key = "id" if table == "customers" else "customer_id"
    _look_up_customers(con, f"SELECT {key} FROM {staged}")
    columns = ", ".join("k.key" if c == key else f's."{c}"' for c in COPY_COLUMNS[table])
    order = "" if table == "customers" else "ORDER BY s.seq"
    con.execute(
        f"INSERT INTO {table} SELECT {columns} FROM {staged} s "
        f"LEFT JOIN batch_keys k ON k.id = s.{key} WHERE {where} {order}"
    )


def _keys_of(con: duckdb.DuckDBPyConnection, ids: str) -> str:
    """A query for the keys of the customers whose text ids the query `ids` returns."""
    _look_up_customers(con, ids)
    return f"SELECT k.key FROM batch_keys k WHERE k.id IN ({ids})"


def refresh(settings: Settings) -> RefreshStats:
    """Bring the columnar copy up to date with the system of record; returns what was copied.

    When nothing the copy mirrors changed since its last refresh (`store.changes.copy_marks`),
    nothing is done. With an SQLite system of record the refresh runs in its own process: DuckDB's
    scanner brings its own SQLite library, which must not share a process with ours (see
    touchpoint.isolation).
    """
    started = time.perf_counter()
    marks = system_marks(settings)
    if _copy_marks(copy_path(settings)) == marks:
        return RefreshStats(0, 0, 0, 0, 0, False, seconds=time.perf_counter() - started)
    return refresh_to(settings, marks)


def refresh_to(settings: Settings, marks: str) -> RefreshStats:
    """Refresh the copy, recording `marks` (the system of record's, read before this began) as
    what it now mirrors; the caller has found the copy's own marks different."""
    url = settings.resolved_database_url()
    if make_url(url).get_backend_name() != "sqlite":
        try:
            return _refresh_here(settings, marks)
        except duckdb.Error as error:
            raise BackendError(f"{DOING['refresh-copy']} failed: {describe(error)}") from error
    payload = {"data_dir": str(settings.data_dir), "database_url": url, "marks": marks}
    return RefreshStats(**in_worker_process("refresh-copy", payload))


def refresh_job(payload: dict[str, Any]) -> dict[str, Any]:
    """In the isolated process: the refresh, its stats as a dict."""
    settings = Settings(data_dir=Path(payload["data_dir"]), database_url=payload["database_url"])
    return asdict(_refresh_here(settings, payload.get("marks")))


def system_marks(settings: Settings) -> str:
    """The system of record's `copy_marks`, read with our own driver (Python's sqlite3 is the
    one SQLite library in this process: no DuckDB scanner here), on the process's kept engine."""
    from touchpoint.analytics.engines import read_engine
    from touchpoint.store.changes import copy_marks
    from touchpoint.store.engine import read_connection

    with read_connection(read_engine(settings)) as conn:
        return copy_marks(conn)


def copy_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The open copy's schema version and the marks it was last refreshed at ("schema",
    "system_marks"), in one query; empty for a copy without its state table yet."""
    try:
        rows = con.execute(
            "SELECT key, value FROM copy_state WHERE key IN ('schema', 'system_marks')"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {str(key): str(value) for key, value in rows}


def marks_of(state: dict[str, str]) -> str | None:
    """The marks a copy's state says it mirrors; None for a copy made with another schema (which
    the refresh rebuilds) or never refreshed."""
    if state.get("schema") != SCHEMA_VERSION:
        return None
    return state.get("system_marks") or None


def _copy_marks(path: Path) -> str | None:
    """The marks the copy at `path` was last refreshed at; None when there is no copy yet."""
    if not path.is_file():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # being written (or locked by another process): refresh the usual way
        return None
    try:
        return marks_of(copy_state(con))
    finally:
        con.close()


def _refresh_here(settings: Settings, marks: str | None = None) -> RefreshStats:
    started = time.perf_counter()
    url = settings.resolved_database_url()
    con = connect_copy(copy_path(settings))
    try:
        reader = SystemReader(con, url)
        con.execute("BEGIN")
        stats = _refresh(con, reader)
        # The marks read before this refresh began: a change committed while it ran differs
        # from them next time, so it is never skipped.
        _set_state(con, "system_marks", marks or "")
        con.execute("COMMIT")
        owner_only(copy_path(settings))  # the log it wrote
    finally:
        con.close()
    return RefreshStats(**stats, seconds=time.perf_counter() - started)


class SystemReader:
    """Reads the system of record for a refresh, all through DuckDB's scanner (never also through
    Python's sqlite3 in the same process, see touchpoint.isolation): whole tables with a plain
    scan; deltas and the high-water marks with `sqlite_query`/`postgres_query`, which run the SQL
    inside the system of record so its own indexes (the seq range, customer ids) are used — the
    scanner pushes no filter down to SQLite."""

    def __init__(self, con: duckdb.DuckDBPyConnection, url: str) -> None:
        self.con = con
        self.postgres = make_url(url).get_backend_name() == "postgresql"
        attach_system_of_record(con, url)

    def value(self, sql: str) -> Any:
        row = self.row(sql)
        return row[0] if row else None

    def row(self, sql: str) -> tuple[Any, ...] | None:
        """The first row `sql` returns, run by the system of record."""
        return self.con.execute(f"SELECT * FROM {self.rows(sql)}").fetchone()

    def has_table(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = 'sor' AND table_name = ?",
            [name],
        ).fetchone()
        return bool(found and found[0])

    def rows(self, sql: str) -> str:
        """A DuckDB table expression for the rows `sql` returns, run by the system of record."""
        function = "postgres_query" if self.postgres else "sqlite_query"
        quoted = sql.replace("'", "''")
        return f"{function}('sor', '{quoted}')"

    def properties(self) -> str:
        return "properties::text" if self.postgres else "properties"

    def traits(self) -> str:
        return "traits::text" if self.postgres else "traits"

    def json_elements(self, table: str, column: str) -> str:
        """A FROM clause: each row of `table` (as t) with each element of its JSON array
        `column` as text in e.value."""
        if self.postgres:
            return f"{table} t CROSS JOIN json_array_elements_text(t.{column}) AS e(value)"
        return f"{table} t, json_each(t.{column}) e"


def _refresh(con: duckdb.DuckDBPyConnection, sor: SystemReader) -> dict[str, int | bool]:
    # Read the high-water marks first: rows committed while we copy are picked up next time.
    # The unmerges' mark comes first: an unmerge moves rows without giving them new seqs, so the
    # rows read after it already show every unmerge up to the mark, and a later one is above it.
    tops = {"unmerges": 0}
    if sor.has_table("unmerges"):
        tops["unmerges"] = int(sor.value("SELECT max(seq) FROM unmerges") or 0)
    tops["log"] = int(sor.value("SELECT max(seq) FROM interactions") or 0)
    tops["merges"] = int(sor.value("SELECT max(seq) FROM merges") or 0)
    top_transitions = int(sor.value("SELECT max(seq) FROM stage_transitions") or 0)
    generation = sor.value("SELECT value FROM lifecycle_meta WHERE key = 'generation'")
    marks = {
        "log": int(_state(con, "interactions_seq", "0")),
        "merges": int(_state(con, "merges_seq", "0")),
        "unmerges": int(_state(con, "unmerges_seq", "0")),
    }
    con.execute("CREATE OR REPLACE TEMP TABLE batch_keys (key BIGINT, id VARCHAR)")
    copied = _copy_interactions(con, sor, marks["log"], tops["log"])
    merged = _apply_merges(con, sor, marks["merges"], tops["merges"])
    unmerged = _apply_unmerges(con, sor, marks, tops)
    customers = _copy_customers(con, sor, marks, tops)
    _copy_spend(con, sor)
    return {
        "interactions": copied,
        "merges": merged,
        "unmerges": unmerged,
        "customers": customers,
        **_copy_transitions(con, sor, top_transitions, str(generation)),
    }


def _copy_spend(con: duckdb.DuckDBPyConnection, sor: SystemReader) -> None:
    """Campaign spend is small and edited in place (a re-import replaces a day): copied whole."""
    if not sor.has_table("campaign_spend"):
        return
    con.execute("DELETE FROM spend")
    con.execute(
        "INSERT INTO spend SELECT CAST(date AS DATE), campaign, source, medium, channel, "
        "CAST(amount AS DOUBLE), currency FROM sor.campaign_spend"
    )


def _copy_interactions(
    con: duckdb.DuckDBPyConnection, sor: SystemReader, mark: int, top: int
) -> int:
    if top <= mark:
        return 0
    if mark == 0:
        source = "sor.interactions"
    else:
        columns = ", ".join(LOG_COLUMNS)
        source = sor.rows(
            f"SELECT {columns}, {sor.properties()} AS properties FROM interactions "
            f"WHERE seq > {mark} AND seq <= {top}"
        )
    before = _count(con, "SELECT count(*) FROM interactions")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE arrived AS SELECT {INTERACTION_SELECT} FROM {source} i "
        f"WHERE CAST(i.seq AS BIGINT) <= {top}"
    )
    _insert_keyed(con, "interactions", "arrived")
    con.execute("DROP TABLE arrived")
    _add_activity(con, f"seq > {mark} AND seq <= {top}")
    _set_state(con, "interactions_seq", str(top))
    return _count(con, "SELECT count(*) FROM interactions") - before


MONTH = "year(occurred_at) * 12 + month(occurred_at) - 1"  # as common.period_index


def _add_activity(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Fold the inbound interactions matching `rows` into monthly_activity: the rows of every
    customer they touch are rebuilt from the old rows and the new ones (a new month is added, an
    earlier first moment wins) with the previous and next months linked again. monthly_activity
    is scanned twice, whatever the batch's size."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE seen AS SELECT customer_id, "
        f"{MONTH} AS p, min(occurred_at) AS first_at FROM interactions "
        f"WHERE direction = 'inbound' AND {rows} GROUP BY ALL"
    )
    touched = "customer_id IN (SELECT customer_id FROM seen)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE linked AS WITH months AS (SELECT customer_id, p, "
        "min(first_at) AS first_at FROM (SELECT customer_id, p, first_at FROM monthly_activity "
        f"WHERE {touched} UNION ALL SELECT customer_id, p, first_at FROM seen) GROUP BY ALL) "
        "SELECT customer_id, p, first_at, lag(p) OVER w AS prev_p, lead(p) OVER w AS next_p, "
        "lead(first_at) OVER w AS next_first_at FROM months "
        "WINDOW w AS (PARTITION BY customer_id ORDER BY p)"
    )
    con.execute(f"DELETE FROM monthly_activity WHERE {touched}")
    con.execute("INSERT INTO monthly_activity SELECT * FROM linked ORDER BY customer_id, p")
    con.execute("DROP TABLE seen")
    con.execute("DROP TABLE linked")


def derive_from_log(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the tables derived from the copy's log (monthly_activity) from scratch: for a
    copy filled by other means than a refresh (the benchmark writes its rows directly)."""
    con.execute("DELETE FROM monthly_activity")
    _add_activity(con, "TRUE")


def _apply_merges(con: duckdb.DuckDBPyConnection, sor: SystemReader, mark: int, top: int) -> int:
    """Point rows of merged-away customers at their final survivor (customers.merged_into is kept
    pointing at the final survivor by the merge itself, so chains resolve in one step)."""
    if top <= mark:
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved AS SELECT DISTINCT loser, survivor FROM "
        + sor.rows(
            "SELECT m.merged_id AS loser, c.merged_into AS survivor FROM merges m "
            "JOIN customers c ON c.id = m.merged_id "
            f"WHERE m.seq > {mark} AND m.seq <= {top} AND c.merged_into IS NOT NULL"
        )
    )
    _look_up_customers(con, "SELECT loser FROM moved UNION ALL SELECT survivor FROM moved")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved_keys AS SELECT l.key AS loser, s.key AS survivor "
        "FROM moved m JOIN batch_keys l ON l.id = m.loser JOIN batch_keys s ON s.id = m.survivor"
    )
    con.execute(
        "UPDATE interactions SET customer_id = moved_keys.survivor FROM moved_keys "
        "WHERE interactions.customer_id = moved_keys.loser"
    )
    con.execute(
        "DELETE FROM monthly_activity WHERE customer_id IN "
        "(SELECT loser FROM moved_keys UNION SELECT survivor FROM moved_keys)"
    )
    _add_activity(con, "customer_id IN (SELECT survivor FROM moved_keys)")
    con.execute("DELETE FROM transitions WHERE customer_id IN (SELECT loser FROM moved_keys)")
    con.execute("DELETE FROM customers WHERE id IN (SELECT loser FROM moved_keys)")
    _set_state(con, "merges_seq", str(top))
    return _count(con, "SELECT count(*) FROM moved")


def _unmerged_ids(sor: SystemReader, mark: int, top: int) -> str:
    """System-of-record SQL for the customers the unmerges in (mark, top] changed (the survivor,
    the merged customer and those restored under it: restored_ids starts with merged_id), and
    whom each answers with now, should it have been merged again since."""
    undone = f"t.seq > {mark} AND t.seq <= {top}"
    changed = (
        f"SELECT t.survivor_id AS id FROM unmerges t WHERE {undone} "
        f"UNION SELECT e.value FROM {sor.json_elements('unmerges', 'restored_ids')} WHERE {undone}"
    )
    return (
        f"SELECT u.id FROM ({changed}) u UNION SELECT c.merged_into FROM customers c "
        f"WHERE c.id IN ({changed}) AND c.merged_into IS NOT NULL"
    )


def _apply_unmerges(
    con: duckdb.DuckDBPyConnection,
    sor: SystemReader,
    marks: dict[str, int],
    tops: dict[str, int],
) -> int:
    """Re-read the interactions of the customers unmerges changed: an unmerge moves rows from
    the survivor back to the merged customer without new seqs, so the log mark does not see it.
    Their rows in the copy are replaced by the system of record's as they are now (a row is
    replaced by seq wherever the copy has it), and their monthly activity is rebuilt. A first
    copy has just read every row as it is now: it only takes the mark."""
    mark, top = marks["unmerges"], tops["unmerges"]
    if top <= mark:
        return 0
    if marks["log"] == 0:
        _set_state(con, "unmerges_seq", str(top))
        return 0
    ids = _unmerged_ids(sor, mark, top)
    con.execute(f"CREATE OR REPLACE TEMP TABLE unmerged AS SELECT * FROM {sor.rows(ids)}")
    keys = _keys_of(con, "SELECT id FROM unmerged")
    source = sor.rows(
        f"SELECT {', '.join(LOG_COLUMNS)}, {sor.properties()} AS properties FROM interactions "
        f"WHERE customer_id IN ({ids}) AND seq <= {tops['log']}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE restaged AS SELECT {INTERACTION_SELECT} FROM {source} i "
        f"WHERE CAST(i.seq AS BIGINT) <= {tops['log']}"
    )
    con.execute(
        f"DELETE FROM interactions WHERE customer_id IN ({keys}) "
        "OR seq IN (SELECT seq FROM restaged)"
    )
    _insert_keyed(con, "interactions", "restaged")
    con.execute("DROP TABLE restaged")
    con.execute(f"DELETE FROM monthly_activity WHERE customer_id IN ({keys})")
    _add_activity(con, f"customer_id IN ({keys})")
    con.execute("DROP TABLE unmerged")
    _set_state(con, "unmerges_seq", str(top))
    # sqlite_query hands counts back as text
    return int(sor.value(f"SELECT count(*) FROM unmerges WHERE seq > {mark} AND seq <= {top}"))


def _copy_customers(
    con: duckdb.DuckDBPyConnection,
    sor: SystemReader,
    marks: dict[str, int],
    tops: dict[str, int],
) -> int:
    """All customers on the first copy; afterwards those with new interactions, merges or
    unmerges (traits only change through ingested interactions, merges and unmerges)."""
    if marks["log"] == 0:
        con.execute("DELETE FROM customers")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE people AS SELECT {CUSTOMER_SELECT} "
            f"FROM {sor.rows(_people_sql(sor, 'merged_into IS NULL'))} c"
        )
        _insert_keyed(con, "customers", "people")
        return _count(con, "SELECT count(*) FROM customers")
    if all(tops[name] <= marks[name] for name in marks):
        return 0
    changed = [
        f"SELECT customer_id FROM interactions WHERE seq > {marks['log']} AND seq <= {tops['log']}",
        f"SELECT survivor_id FROM merges WHERE seq > {marks['merges']} AND seq <= {tops['merges']}",
    ]
    if tops["unmerges"] > marks["unmerges"]:
        changed.append(_unmerged_ids(sor, marks["unmerges"], tops["unmerges"]))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM "
        + sor.rows(_people_sql(sor, " OR ".join(f"id IN ({ids})" for ids in changed)))
    )
    con.execute(f"DELETE FROM customers WHERE id IN ({_keys_of(con, 'SELECT id FROM fresh')})")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE people AS SELECT {CUSTOMER_SELECT} FROM fresh c "
        "WHERE c.merged_into IS NULL"
    )
    _insert_keyed(con, "customers", "people")
    return _count(con, "SELECT count(*) FROM fresh")


def _fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(rows, sum of seq) of the copy's transitions."""
    row = con.execute("SELECT count(*), coalesce(sum(seq), 0) FROM transitions").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _seq_reuse_possible(sor: SystemReader) -> bool:
    """SQLite hands out a deleted row's seq again unless the table is AUTOINCREMENT."""
    if sor.postgres:
        return False
    # sqlite_query hands counts back as text ('0' is truthy): compare them as numbers.
    counter = int(sor.value("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'"))
    if counter:
        counter = int(
            sor.value("SELECT count(*) FROM sqlite_sequence WHERE name = 'stage_transitions'")
        )
    return not counter


def _sor_fingerprint(sor: SystemReader, top: int) -> tuple[int, int]:
    """(rows, sum of seq) of the system of record's transitions up to `top`."""
    row = sor.row(
        f"SELECT count(*), coalesce(sum(seq), 0) FROM stage_transitions WHERE seq <= {int(top)}"
    )
    assert row is not None  # an aggregate always returns its row
    return int(row[0]), int(row[1])


MOVE_SELECT = (
    "SELECT CAST(t.seq AS BIGINT) AS seq, t.customer_id, t.from_stage, t.to_stage, "
    'CAST(t."at" AS TIMESTAMP) AS "at", t.interaction_id, t.reason'
)
LIVE = "k.key IN (SELECT id FROM customers)"  # in _insert_keyed, k is the customer's key


def _copy_transitions(
    con: duckdb.DuckDBPyConnection, sor: SystemReader, top: int, generation: str
) -> dict[str, int | bool]:
    mark = int(_state(con, "transitions_seq", "0"))
    full = generation != _state(con, "generation", "None") or mark == 0
    if not full and top > mark:
        # The lifecycle engine rewrites a customer's whole history with new seqs, so every
        # customer with a row above the mark is replaced wholesale.
        changed = (
            "SELECT DISTINCT customer_id FROM stage_transitions "
            f"WHERE seq > {mark} AND seq <= {top}"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE changed AS SELECT * FROM {sor.rows(changed)}")
        con.execute(
            "DELETE FROM transitions WHERE customer_id IN "
            f"({_keys_of(con, 'SELECT customer_id FROM changed')})"
        )
        rows = sor.rows(
            'SELECT seq, customer_id, from_stage, to_stage, "at", interaction_id, reason '
            f"FROM stage_transitions WHERE customer_id IN ({changed})"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE moves AS {MOVE_SELECT} FROM {rows} t "
            f"WHERE CAST(t.seq AS BIGINT) <= {top}"
        )
        _insert_keyed(con, "transitions", "moves", LIVE)
    if not full and _seq_reuse_possible(sor) and _sor_fingerprint(sor, top) != _fingerprint(con):
        # A rewrite may have reused seqs at or below the mark: copy everything again.
        full = True
    if not full and top <= mark:
        return {"transitions": 0, "full_transitions": False}
    if full:
        con.execute("DELETE FROM transitions")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE moves AS {MOVE_SELECT} FROM sor.stage_transitions t "
            f"WHERE t.seq <= {top}"
        )
        _insert_keyed(con, "transitions", "moves", LIVE)
    _set_state(con, "transitions_seq", str(top))
    _set_state(con, "generation", generation)
    return {
        "transitions": _count(con, "SELECT count(*) FROM transitions"),
        "full_transitions": full,
    }
