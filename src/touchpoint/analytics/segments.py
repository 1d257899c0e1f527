"""Segment rules evaluated by DuckDB: the same compiled query (store.segment_rules) over DuckDB
tables holding the five sources, for a full evaluation of many customers at once (the bench's
million; a columnar copy of the sources).

The query is compiled by SQLAlchemy's PostgreSQL compiler with `?` placeholders, which DuckDB's
SQL accepts as it is (DuckDB follows PostgreSQL's dialect); moments are passed as naive UTC, the
tables' TIMESTAMP columns.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
from sqlalchemy import Column, DateTime, Float, MetaData, Select, String, Table
from sqlalchemy.dialects.postgresql.base import PGDialect

from touchpoint.domain.segments import Rule
from touchpoint.store.segment_rules import SegmentSources, member_query, members_query

_META = MetaData()
people = Table(
    "seg_people",
    _META,
    Column("id", String),
    Column("age", Float),
    *(Column(t, String) for t in ("gender", "income_band", "occupation", "country", "language")),
)
events = Table(
    "seg_events",
    _META,
    Column("customer_id", String),
    Column("occurred_at", DateTime),
    Column("type", String),
    Column("direction", String),
    Column("queue", String),
    Column("category", String),
    Column("wait_s", Float),
)
stages = Table("seg_stages", _META, Column("customer_id", String), Column("stage", String))
consent = Table(
    "seg_consent",
    _META,
    *(Column(c, String) for c in ("customer_id", "channel", "purpose", "status")),
    Column("occurred_at", DateTime),
    Column("recorded_at", DateTime),
    Column("source", String),
)
scores = Table(
    "seg_scores",
    _META,
    Column("customer_id", String),
    Column("model", String),
    Column("score", Float),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS seg_people (id {key}, age DOUBLE, gender VARCHAR,
    income_band VARCHAR, occupation VARCHAR, country VARCHAR, language VARCHAR);
CREATE TABLE IF NOT EXISTS seg_events (customer_id {key}, occurred_at TIMESTAMP, type VARCHAR,
    direction VARCHAR, queue VARCHAR, category VARCHAR, wait_s DOUBLE);
CREATE TABLE IF NOT EXISTS seg_stages (customer_id {key}, stage VARCHAR);
CREATE TABLE IF NOT EXISTS seg_consent (customer_id {key}, channel VARCHAR, purpose VARCHAR,
    status VARCHAR, occurred_at TIMESTAMP, recorded_at TIMESTAMP, source VARCHAR);
CREATE TABLE IF NOT EXISTS seg_scores (customer_id {key}, model VARCHAR, score DOUBLE);
"""

_DIALECT = PGDialect(paramstyle="qmark")


def create_tables(con: duckdb.DuckDBPyConnection, *, key: str = "VARCHAR") -> None:
    """The five source tables; customers keyed by text ids, or by integers (`key="BIGINT"`, as
    the columnar copy keys them: joins and results over a million customers cost less)."""
    con.execute(SCHEMA.format(key=key))


def sources() -> SegmentSources:
    return SegmentSources(people, events, stages, consent, scores, grouped=True)


def compiled(query: Select[Any]) -> tuple[str, list[Any]]:
    """The query as DuckDB SQL and its parameters (moments as naive UTC)."""
    statement = query.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    order = statement.positiontup or []
    return str(statement), [_param(statement.params[name]) for name in order]


def _param(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def member_sql(rule: Rule, now: datetime, *, scoped: bool = False) -> tuple[str, list[Any]]:
    """The SQL selecting the members' ids (among the customers of `scope` when `scoped`)."""
    return compiled(member_query(rule, _SCOPED if scoped else sources(), now))


def evaluate(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    now: datetime,
    customer_ids: Collection[str] | None = None,
) -> set[str]:
    """Who the rule holds for at `now` (everyone, or among `customer_ids`)."""
    if customer_ids is not None:
        scope(con, customer_ids)
    sql, params = member_sql(rule, now, scoped=customer_ids is not None)
    return {row[0] for row in con.execute(sql, params).fetchall()}


def count(con: duckdb.DuckDBPyConnection, rule: Rule, now: datetime) -> int:
    sql, params = member_sql(rule, now)
    found = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    return int(found[0]) if found else 0


_SCOPED_META = MetaData()
_SCOPED = SegmentSources(
    *(
        t.to_metadata(_SCOPED_META, name=f"scoped_{t.name}")
        for t in (people, events, stages, consent)
    ),
    scores.to_metadata(_SCOPED_META, name="scoped_seg_scores"),
    grouped=True,
)


def scope(con: duckdb.DuckDBPyConnection, customer_ids: Collection[Any]) -> None:
    """Gather the rows of these customers from every source into temporary tables (see
    `set_scope`), so the segments re-evaluated for a batch read only their rows."""
    set_scope(con, customer_ids)


# --- every segment at once ------------------------------------------------------------------


def members_sql(
    rule_list: list[Rule], now: datetime, *, scoped: bool = False
) -> tuple[str, list[Any]]:
    """One query for all these rules: each person's id and one 0/1 column per rule."""
    return compiled(members_query(rule_list, _SCOPED if scoped else sources(), now))


def evaluate_many(
    con: duckdb.DuckDBPyConnection,
    rule_map: Mapping[str, Rule],
    now: datetime,
    customer_ids: Collection[Any] | None = None,
) -> dict[str, np.ndarray]:
    """The members of every rule at `now` (everyone, or among `customer_ids`), by name, from one
    scan of each source: the rules' behaviours are all counted in the same pass."""
    if customer_ids is not None:
        set_scope(con, customer_ids)
    names = list(rule_map)
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(names), _PER_QUERY):
        part = names[start : start + _PER_QUERY]
        found.update(_members_of(con, part, [rule_map[n] for n in part], now, customer_ids))
    return found


_PER_QUERY = 62  # rules per query: their 0/1 columns travel as the bits of one BIGINT


def _members_of(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    rule_list: list[Rule],
    now: datetime,
    scoped: Collection[Any] | None,
) -> dict[str, np.ndarray]:
    sql, params = members_sql(rule_list, now, scoped=scoped is not None)
    mask = " + ".join(f"(CAST(s{i} AS BIGINT) << {i})" for i in range(len(names)))
    found = con.execute(f"SELECT id, {mask} AS held FROM ({sql}) WHERE held <> 0", params)
    columns = found.fetchnumpy()
    ids, held = columns["id"], np.asarray(columns["held"], dtype=np.int64)
    return {name: ids[(held >> i) & 1 == 1] for i, name in enumerate(names)}


def set_scope(con: duckdb.DuckDBPyConnection, customer_ids: Collection[Any]) -> None:
    """`seg_scope`: the customers a scoped evaluation reads (a batch's, a tick's), and a
    temporary copy of their rows of each source (`scoped_…`), each made by a join with them.
    Copied, not a subquery: DuckDB would push the rules' filters into the scan of the whole
    table and test millions of rows before the join keeps the few thousand it needs."""
    import pyarrow as pa

    ids = pa.table({"id": pa.array(sorted(customer_ids))})
    con.register("seg_scope_in", ids)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE seg_scope AS SELECT id FROM seg_scope_in")
    finally:
        con.unregister("seg_scope_in")
    for table in (people, events, stages, consent, scores):
        key = "id" if table is people else "customer_id"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE scoped_{table.name} AS SELECT t.* FROM {table.name} t "
            f"JOIN seg_scope s ON t.{key} = s.id"
        )
