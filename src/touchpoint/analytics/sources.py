"""Open the tables reports read (`Sources`) on one of three engines, all through Ibis:

- "duckdb": the columnar copy (refreshed first), the embedded default;
- "sqlite" / "postgres": the system of record itself, queried in place.

Only this module knows the physical differences (JSON properties, time zones, merged customers);
every report sees the same normalised columns, so the same expression gives the same numbers.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from touchpoint.analytics import columnar
from touchpoint.analytics.catalog import check_engine
from touchpoint.analytics.common import active, period_index
from touchpoint.analytics.engines import read_engine
from touchpoint.analytics.reports import Sources
from touchpoint.domain import contact_center as cc
from touchpoint.domain.contact_center import CenterTerms
from touchpoint.errors import ValidationError
from touchpoint.settings import Settings

# The columns reports see, the same on every engine: the columnar copy's.
INTERACTION_COLUMNS = columnar.COPY_COLUMNS["interactions"]
TRANSITION_COLUMNS = columnar.COPY_COLUMNS["transitions"]


def system_engine(settings: Settings) -> str:
    return (
        make_url(settings.resolved_database_url())
        .get_backend_name()
        .replace("postgresql", "postgres")
    )


def load_stage_model(settings: Settings) -> Any:
    """The model in force: the one the lifecycle projection was last built with (its text is
    kept in lifecycle_meta), else the default model."""
    from touchpoint.lifecycle.model import builtin_model_text
    from touchpoint.store.lifecycle import read_meta

    with read_engine(settings).connect() as conn:
        source = read_meta(conn).get("model_source")
    return _parsed_model(source or builtin_model_text("default"))


@functools.lru_cache(maxsize=8)
def _parsed_model(text: str) -> Any:
    """A stage model parsed once per text (a StageModel is frozen: one is shared by requests)."""
    from touchpoint.lifecycle.model import model_from_text

    return model_from_text(text)


def load_center_terms(settings: Settings) -> CenterTerms:
    """The contact-center configuration in force, as the reports need it: each queue's
    service-level threshold (its target's seconds) and each agent's team; empty without one."""
    from touchpoint.contact_center.config import validate
    from touchpoint.store.contact_center import latest_config

    with read_engine(settings).connect() as conn:
        latest = latest_config(conn)
    if latest is None:
        return CenterTerms()
    config = validate(latest[1])
    return CenterTerms(
        thresholds={queue: seconds for queue, (_share, seconds) in config.targets.items()},
        teams={agent: spec.team for agent, spec in config.agents.items()},
    )


# One opening of the columnar copy at a time in a process, for every caller (reports, the
# simulation's fit, model training): a refresh (in the isolated process, for SQLite) cannot take
# the file's lock while this process holds the copy open. Re-entrant, so a query run inside an
# opening may open it again; such an opening reads the copy as the one around it does (no
# refresh: it could not take the lock the outer opening holds).
_copy_in_use = threading.RLock()
_depth = threading.local()


@contextmanager
def open_sources(
    settings: Settings, engine: str = "duckdb", *, model: Any = None, refresh: bool = True
) -> Iterator[Sources]:
    """Sources on `engine`; for "duckdb" the columnar copy is refreshed first (unless told not to)."""
    model = model if model is not None else load_stage_model(settings)
    if engine == "duckdb":
        with _copy_in_use:
            outer = getattr(_depth, "n", 0)
            _depth.n = outer + 1
            try:
                con, state = _open_copy(settings, refresh=refresh and not outer)
                backend = ibis.duckdb.from_connection(con)
                try:
                    sources = duckdb_sources(backend, model, schema=state.get("schema"))
                    yield _with_center(sources, settings)
                finally:
                    backend.disconnect()
            finally:
                _depth.n = outer
        return
    check_engine(engine)
    if system_engine(settings) != engine:
        raise ValidationError(f"the system of record is {system_engine(settings)}, not {engine}")
    backend = _connect_system(settings)
    try:
        yield _with_center(system_sources(backend, model, engine), settings)
    finally:
        backend.disconnect()


def _open_copy(settings: Settings, *, refresh: bool) -> tuple[Any, dict[str, str]]:
    """A read-only connection to the copy, refreshed first when `refresh` and the system of
    record's marks differ from the copy's (read through this same connection), and the copy's
    state. Read-only: several processes (serve --workers) may read the copy at once."""
    path = columnar.copy_path(settings)
    marks = columnar.system_marks(settings) if refresh else None
    if path.is_file():
        con = columnar.connect_copy(path, read_only=True)
        state = columnar.copy_state(con)
        if marks is None or columnar.marks_of(state) == marks:
            return con, state
        con.close()  # the refresh writes the file: nothing of ours may hold it
    if marks is not None:
        columnar.refresh_to(settings, marks)
    else:  # no copy yet and no refresh wanted: an empty one, as the schema makes it
        columnar.connect_copy(path).close()
    con = columnar.connect_copy(path, read_only=True)
    return con, columnar.copy_state(con)


def _with_center(sources: Sources, settings: Settings) -> Sources:
    # read once per opening, however many reports run on it
    sources.center = functools.cache(functools.partial(load_center_terms, settings))
    from touchpoint.analytics.contact_center import load_history

    sources.center_history = functools.partial(load_history, settings)
    return sources


# The copy's tables' Ibis schemas, read once per process for the copy's schema version
# (columnar.SCHEMA_VERSION; a copy made with another is rebuilt by its refresh): reading six
# tables' schemas cost each opening about 20 ms.
_copy_schemas: dict[str, sch.Schema] = {}


def duckdb_sources(backend: Any, model: Any, *, schema: str | None = None) -> Sources:
    """Sources over the copy open in `backend`; `schema` is the copy's schema version as its
    state says (its tables' schemas are then known without asking DuckDB)."""

    def table(name: str) -> ir.Table:
        if schema != columnar.SCHEMA_VERSION:
            return backend.table(name)
        known = _copy_schemas.get(name)
        if known is None:
            known = _copy_schemas[name] = backend.get_schema(name)
        return ops.DatabaseTable(
            name, schema=known, source=backend, namespace=ops.Namespace()
        ).to_expr()

    def columns(name: str, wanted: list[str]) -> ir.Table:
        whole = table(name)
        return whole if whole.columns == tuple(wanted) else whole.select(*wanted)

    spend = table("spend") if schema == columnar.SCHEMA_VERSION else _optional(backend, "spend")
    return Sources(
        backend=backend,
        interactions=columns("interactions", INTERACTION_COLUMNS),
        transitions=columns("transitions", TRANSITION_COLUMNS),
        customers=table("customers"),
        spend=spend,
        model=model,
        monthly_activity=table("monthly_activity"),
        customer_keys=table("customer_keys"),
    )


def _optional(backend: Any, name: str) -> ir.Table | None:
    return backend.table(name) if name in backend.list_tables() else None


def _connect_system(settings: Settings) -> Any:
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        return ibis.sqlite.connect(Path(str(url.database)))
    return ibis.postgres.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )


def _utc(column: ir.TimestampColumn) -> ir.TimestampColumn:
    """Naive UTC timestamps everywhere (SQLite stores naive UTC, PostgreSQL timestamptz)."""
    return column.cast("timestamp")


def system_sources(backend: Any, model: Any, engine: str) -> Sources:
    json = _PostgresJson() if engine == "postgres" else _SqliteJson()
    moves = backend.table("stage_transitions")
    interactions = _interactions(backend, json).select(*INTERACTION_COLUMNS)
    return Sources(
        backend=backend,
        interactions=interactions,
        transitions=moves.mutate(at=_utc(moves.at)).select(*TRANSITION_COLUMNS),
        customers=_customers(backend, json),
        spend=_optional(backend, "campaign_spend"),
        model=model,
        monthly_activity=monthly_activity(interactions),
    )


def monthly_activity(interactions: ir.Table) -> ir.Table:
    """What the copy keeps in its monthly_activity table, computed from the log: customer_id,
    p (month index), first_at (the first inbound interaction of that customer in that month),
    prev_p, next_p (their previous and next such month) and next_first_at."""
    inbound = active(interactions)
    pairs = inbound.group_by("customer_id", p=period_index(inbound.occurred_at, "month")).aggregate(
        first_at=inbound.occurred_at.min()
    )
    by_customer = ibis.window(group_by=pairs.customer_id, order_by=pairs.p)
    return pairs.select(
        "customer_id",
        "p",
        "first_at",
        prev_p=pairs.p.lag().over(by_customer),
        next_p=pairs.p.lead().over(by_customer),
        next_first_at=pairs.first_at.lead().over(by_customer),
    )


def _interactions(backend: Any, json: Any) -> ir.Table:
    raw = backend.table("interactions")
    props = raw.properties
    heard = json.text(props, "survey") == "how_did_you_hear"
    return raw.mutate(
        occurred_at=_utc(raw.occurred_at),
        csat=_survey(json, props, "csat"),
        nps=_survey(json, props, "nps"),
        heard_about=ibis.coalesce(
            json.text(props, "heard_about"), heard.ifelse(json.text(props, "answer"), None)
        ),
        ticket_id=json.text(props, "ticket_id"),
        contact_id=json.text(props, cc.CONTACT_PROPERTY),
        **{
            cc.FCR_PROPERTY: json.flag(props, cc.FCR_PROPERTY),
            cc.WAIT_PROPERTY: json.number(props, cc.WAIT_PROPERTY),
            cc.TRANSFERS_PROPERTY: json.number(props, cc.TRANSFERS_PROPERTY),
            cc.HOLD_PROPERTY: json.number(props, cc.HOLD_PROPERTY),
            cc.WRAPUP_PROPERTY: json.number(props, cc.WRAPUP_PROPERTY),
        },
        properties=props.cast("string"),
    )


def _customers(backend: Any, json: Any) -> ir.Table:
    people = backend.table("customers")
    people = people.filter(people.merged_into.isnull())
    country = json.text(people.traits, "country")
    out = people.select(
        id=people.id,
        created_at=_utc(people.created_at),
        segment=ibis.coalesce(
            json.text(people.traits, "segment"), country, ibis.literal("unknown")
        ),
        country=ibis.coalesce(country, ibis.literal("unknown")),
        name=ibis.coalesce(json.text(people.traits, "name"), _full_name(json, people.traits)),
    )
    for kind in ("email", "phone"):
        latest = _latest_identity(backend, kind)
        out = out.left_join(latest, out.id == latest.customer_id).drop("customer_id")
    return out


def _full_name(json: Any, traits: Any) -> ir.StringColumn:
    first, last = json.text(traits, "first_name"), json.text(traits, "last_name")
    return ibis.coalesce(first + " " + last, first, last).nullif("")


def _latest_identity(backend: Any, kind: str) -> ir.Table:
    """customer_id -> the customer's newest identity of `kind` without its "kind:" prefix, as
    the customer view and the columnar copy show it."""
    ids = backend.table("identities")
    ids = ids.filter(ids.kind == kind)
    newest = ibis.window(
        group_by=ids.customer_id, order_by=[ibis.desc(ids.first_seen_at), ibis.desc(ids.key)]
    )
    ranked = ids.mutate(_r=ibis.row_number().over(newest))
    ranked = ranked.filter(ranked._r == 0)
    return ranked.select("customer_id", **{kind: ranked.key.substr(len(kind) + 1)})


def _survey(json: Any, props: Any, key: str) -> ir.FloatingColumn:
    """A score given flat ({"csat": 4}) or as the demo's {"survey": "csat", "score": 4}."""
    asked = json.text(props, "survey") == key
    return ibis.coalesce(json.number(props, key), asked.ifelse(json.number(props, "score"), None))


class _SqliteJson:
    """SQLite's json_extract already returns SQL numbers, text and 1/0 for booleans."""

    def text(self, doc: Any, key: str) -> ir.StringColumn:
        return doc[key].cast("string")

    def number(self, doc: Any, key: str) -> ir.FloatingColumn:
        return doc[key].cast("float64")

    def flag(self, doc: Any, key: str) -> ir.FloatingColumn:
        return doc[key].cast("float64")


# PostgreSQL's own JSON functions, declared to Ibis (its JSON accessors emit SQL that PostgreSQL
# rejects for `json` columns: "->> VARIADIC").
@ibis.udf.scalar.builtin
def json_extract_path_text(doc: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL: the value at key as text (NULL when absent)."""


@ibis.udf.scalar.builtin
def json_typeof(doc: dt.JSON) -> str:  # type: ignore[empty-body]
    """PostgreSQL: 'number', 'string', 'boolean', ... of a JSON value."""


@ibis.udf.scalar.builtin
def json_extract_path(doc: dt.JSON, key: str) -> dt.JSON:  # type: ignore[empty-body]
    """PostgreSQL: the JSON value at key."""


class _PostgresJson:
    def text(self, doc: Any, key: str) -> ir.StringColumn:
        return json_extract_path_text(doc, key)

    def number(self, doc: Any, key: str) -> ir.FloatingColumn:
        is_number = json_typeof(json_extract_path(doc, key)) == "number"
        return is_number.ifelse(json_extract_path_text(doc, key).cast("float64"), None)

    def flag(self, doc: Any, key: str) -> ir.FloatingColumn:
        value = json_extract_path_text(doc, key)
        return ibis.cases((value == "true", 1), (value == "false", 0), else_=None).cast("float64")
