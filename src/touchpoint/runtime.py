"""One open Touchpoint: settings, the migrated database, the projections and the ingestion path,
shared by every face (API, CLI, web)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from touchpoint.ingest.pipeline import Ingestor
from touchpoint.lifecycle.projection import LifecycleProjection
from touchpoint.projections.registry import Projections
from touchpoint.settings import Settings
from touchpoint.store.engine import make_engine
from touchpoint.store.migrate import upgrade_database


@dataclass
class Touchpoint:
    settings: Settings
    engine: Engine
    projections: Projections = field(init=False)
    ingestor: Ingestor = field(init=False)

    def __post_init__(self) -> None:
        self.projections = Projections(
            self.engine, [LifecycleProjection(self.settings.lifecycle_model)]
        )
        self.ingestor = Ingestor(self.engine, self.settings, self.projections)

    def close(self) -> None:
        self.engine.dispose()


def open_touchpoint(settings: Settings) -> Touchpoint:
    """Open (creating or migrating) the data directory; a projection it lacks is built now."""
    engine = make_engine(settings)
    upgrade_database(engine)
    tp = Touchpoint(settings, engine)
    tp.projections.ensure_built()
    return tp
