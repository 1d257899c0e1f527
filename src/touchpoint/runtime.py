"""One open Touchpoint: settings, the migrated database, the projections and the ingestion path,
shared by every face (API, CLI, web)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from touchpoint.errors import ValidationError
from touchpoint.lifecycle.projection import LifecycleProjection
from touchpoint.projections.consent import ConsentProjection
from touchpoint.projections.registry import Projections
from touchpoint.projections.scores import ScoreProjection
from touchpoint.projections.segments import SegmentsProjection
from touchpoint.settings import Settings
from touchpoint.store.engine import make_engine
from touchpoint.store.migrate import current_revision, upgrade_database

if TYPE_CHECKING:
    from touchpoint.ingest.pipeline import Ingestor


@dataclass
class Touchpoint:
    settings: Settings
    engine: Engine
    projections: Projections = field(init=False)

    def __post_init__(self) -> None:
        self.projections = Projections(
            self.engine,
            [
                LifecycleProjection(self.settings.lifecycle_model),
                ConsentProjection(),
                ScoreProjection(),
                SegmentsProjection(),  # last: it reads the stages, consent and scores above
            ],
        )

    @cached_property
    def ingestor(self) -> Ingestor:
        """The ingestion path, built when first used: a command that only reads never loads the
        validation and identity-resolution code."""
        from touchpoint.ingest.pipeline import Ingestor

        return Ingestor(self.engine, self.settings, self.projections)

    @cached_property
    def loop_engine(self) -> Engine:
        """An engine for the short indexed reads the API makes on its event loop thread (a key
        check, a decision): a pool of its own, so such a read never waits for a connection held
        by a request in the thread pool that is itself waiting for the loop (a deadlock). An
        in-memory database is one connection's: there it is the engine itself."""
        if self.settings.resolved_database_url().startswith("sqlite") and (
            self.settings.sqlite_path() is None
        ):
            return self.engine
        return make_engine(
            self.settings.model_copy(update={"pool_size": 2, "pool_max_overflow": 2})
        )

    def close(self) -> None:
        if "loop_engine" in self.__dict__ and self.loop_engine is not self.engine:
            self.loop_engine.dispose()
        self.engine.dispose()


class NoData(ValidationError):
    """The data directory (or database) holds no Touchpoint data and the command may not create it."""


CREATING_COMMANDS = "touchpoint demo, touchpoint import FILE or touchpoint init"


def open_touchpoint(settings: Settings, *, create: bool = True) -> Touchpoint:
    """Open (creating or migrating) the data directory; a projection it lacks is built now.
    With create=False a data directory or database Touchpoint never created is refused (a
    mistyped --data-dir must not answer with an empty database's zeros)."""
    if not create:
        _must_exist(settings)
    engine = make_engine(settings)
    try:
        if not create and current_revision(engine) is None:
            raise NoData(
                f"no Touchpoint data in {settings.database_name()}; {CREATING_COMMANDS} creates it"
            )
        upgrade_database(engine)
        tp = Touchpoint(settings, engine)
        tp.projections.ensure_built()
    except BaseException:
        engine.dispose()
        raise
    return tp


def _must_exist(settings: Settings) -> None:
    path = settings.sqlite_path()
    if path is not None and not path.is_file():
        where = path.parent if path.name == "touchpoint.db" else path
        raise NoData(f"no Touchpoint data in {where}; {CREATING_COMMANDS} creates it")
