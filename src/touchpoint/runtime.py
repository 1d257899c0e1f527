"""One open Touchpoint: settings, the migrated database and the ingestion path, shared by API and CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from touchpoint.ingest.pipeline import Ingestor
from touchpoint.settings import Settings
from touchpoint.store.engine import make_engine
from touchpoint.store.migrate import upgrade_database


@dataclass
class Touchpoint:
    settings: Settings
    engine: Engine
    ingestor: Ingestor = field(init=False)

    def __post_init__(self) -> None:
        self.ingestor = Ingestor(self.engine, self.settings)

    def close(self) -> None:
        self.engine.dispose()


def open_touchpoint(settings: Settings) -> Touchpoint:
    engine = make_engine(settings)
    upgrade_database(engine)
    return Touchpoint(settings, engine)
