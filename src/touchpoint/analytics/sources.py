"""Open the tables reports read (`Sources`) on one of three engines, all through Ibis:

- "duckdb": the columnar copy (refreshed first), the embedded default;
- "sqlite" / "postgres": the system of record itself, queried in place.

Only this module knows the physical differences (JSON properties, time zones, merged customers);
every report sees the same normalised columns, so the same expression gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from touchpoint.analytics import columnar
from touchpoint.analytics.reports import Sources
from touchpoint.settings import Settings

ENGINES = ("duckdb", "sqlite", "postgres")

INTERACTION_COLUMNS = (
    "seq id customer_id occurred_at channel direction type name source medium campaign keyword "
    "creative agent queue duration_s outcome revenue currency csat nps heard_about ticket_id "
    "first_contact_resolution properties"
).split()
TRANSITION_COLUMNS = [
    "seq",
    "customer_id",
    "from_stage",
    "to_stage",
    "at",
    "interaction_id",
    "reason",
]


def default_engine(settings: Settings) -> str:
    return "duckdb"


def system_engine(settings: Settings) -> str:
    return (
        make_url(settings.resolved_database_url())
        .get_backend_name()
        .replace("postgresql", "postgres")
    )


def load_stage_model() -> Any:
    from touchpoint.lifecycle.model import load_model

    return load_model()


@contextmanager
def open_sources(
    settings: Settings, engine: str = "duckdb", *, model: Any = None, refresh: bool = True
) -> Iterator[Sources]:
    """Sources on `engine`; for "duckdb" the columnar copy is refreshed first (unless told not to)."""
    model = model if model is not None else load_stage_model()
    if engine == "duckdb":
        if refresh:
            columnar.refresh(settings)
        backend = ibis.duckdb.connect(str(columnar.copy_path(settings)), read_only=True)
        try:
            yield duckdb_sources(backend, model)
        finally:
            backend.disconnect()
        return
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    if system_engine(settings) != engine:
        raise ValueError(f"the system of record is {system_engine(settings)}, not {engine}")
    backend = _connect_system(settings)
    try:
        yield system_sources(backend, model, engine)
    finally:
        backend.disconnect()


def duckdb_sources(backend: Any, model: Any) -> Sources:
    return Sources(
        backend=backend,
        interactions=backend.table("interactions").select(*INTERACTION_COLUMNS),
        transitions=backend.table("transitions").select(*TRANSITION_COLUMNS),
        customers=backend.table("customers"),
        spend=_optional(backend, "spend"),
        model=model,
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


def _json_text(column: Any, key: str, engine: str) -> ir.StringColumn:
    if engine == "postgres":
        # json -> text value via ->>; Ibis' JSON getitem + cast keeps the quotes on PostgreSQL.
        return column[key].unwrap_as("string")
    return column[key].cast("string")


def _json_number(column: Any, key: str, engine: str) -> ir.FloatingColumn:
    if engine == "postgres":
        return column[key].unwrap_as("float64")
    return column[key].cast("float64")


def _json_flag(column: Any, key: str, engine: str) -> ir.FloatingColumn:
    """A JSON boolean as 1.0 / 0.0 (SQLite's json_extract already gives 1 / 0)."""
    if engine == "postgres":
        return column[key].unwrap_as("boolean").cast("float64")
    return column[key].cast("float64")


def _survey(props: Any, key: str, engine: str) -> ir.FloatingColumn:
    """A score given flat ({"csat": 4}) or as the demo's {"survey": "csat", "score": 4}."""
    asked = _json_text(props, "survey", engine) == key
    return ibis.coalesce(
        _json_number(props, key, engine), asked.ifelse(_json_number(props, "score", engine), None)
    )


def system_sources(backend: Any, model: Any, engine: str) -> Sources:
    raw = backend.table("interactions")
    props = raw.properties
    heard = _json_text(props, "survey", engine) == "how_did_you_hear"
    interactions = raw.mutate(
        occurred_at=_utc(raw.occurred_at),
        csat=_survey(props, "csat", engine),
        nps=_survey(props, "nps", engine),
        heard_about=ibis.coalesce(
            _json_text(props, "heard_about", engine),
            heard.ifelse(_json_text(props, "answer", engine), None),
        ),
        ticket_id=_json_text(props, "ticket_id", engine),
        first_contact_resolution=_json_flag(props, "first_contact_resolution", engine),
        properties=props.cast("string"),
    ).select(*INTERACTION_COLUMNS)
    people = backend.table("customers")
    people = people.filter(people.merged_into.isnull())
    traits = people.traits
    country = _json_text(traits, "country", engine)
    customers = people.select(
        id=people.id,
        created_at=_utc(people.created_at),
        segment=ibis.coalesce(
            _json_text(traits, "segment", engine), country, ibis.literal("unknown")
        ),
        country=ibis.coalesce(country, ibis.literal("unknown")),
    )
    moves = backend.table("stage_transitions")
    transitions = moves.mutate(at=_utc(moves.at)).select(*TRANSITION_COLUMNS)
    return Sources(
        backend=backend,
        interactions=interactions,
        transitions=transitions,
        customers=customers,
        spend=_optional(backend, "campaign_spend"),
        model=model,
    )
