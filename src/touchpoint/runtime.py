"""One open Touchpoint: settings, the migrated database and the ingestion path, shared by API and CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from touchpoint.ingest.pipeline import Ingestor
from touchpoint.lifecycle.model import load_model
from touchpoint.lifecycle.projector import LifecycleProjector
from touchpoint.settings import Settings
from touchpoint.store import lifecycle as lifecycle_store
from touchpoint.store.engine import make_engine
from touchpoint.store.migrate import upgrade_database


@dataclass
class Touchpoint:
    settings: Settings
    engine: Engine
    ingestor: Ingestor = field(init=False)

    def __post_init__(self) -> None:
        self.ingestor = Ingestor(self.engine, self.settings, projectors=[LifecycleProjector()])

    def close(self) -> None:
        self.engine.dispose()


def open_touchpoint(settings: Settings) -> Touchpoint:
    engine = make_engine(settings)
    upgrade_database(engine)
    ensure_lifecycle(engine, settings)
    return Touchpoint(settings, engine)


def ensure_lifecycle(engine: Engine, settings: Settings) -> None:
    """A data directory without a lifecycle projection gets one (replaying any existing log)."""
    with engine.connect() as conn:
        if "model" in lifecycle_store.read_meta(conn):
            return
    # Imported here: the replay brings DuckDB and Arrow, which most commands never need.
    from touchpoint.lifecycle.replay import replay

    replay(engine, load_model(settings.lifecycle_model))
