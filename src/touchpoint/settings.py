"""One settings object for the whole app: env vars `TOUCHPOINT_*`, never read at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from touchpoint.domain.identity import DEFAULT_MERGE_LIMITS, IdentityError, check_merge_limits
from touchpoint.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUCHPOINT_", extra="ignore")

    data_dir: Path = Field(default=Path("touchpoint-data"), description="Embedded data directory")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to a SQLite file in data_dir"
    )
    default_region: str = Field(default="US", description="Region for phone numbers without +")
    segment_events_file: Path | None = Field(
        default=None, description="TOML table mapping Segment event names to interaction types"
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="Largest request body")
    max_batch_items: int = Field(default=10_000, description="Most interactions in one batch")
    lifecycle_model: str = Field(
        default="default",
        description="Stage model for a new data directory: a shipped name or a TOML file path",
    )
    lifecycle_tick_seconds: float = Field(
        default=300.0, description="How often the server lets time pass for inactivity stages"
    )
    merge_limits: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MERGE_LIMITS),
        description="Merge protection: identity kind -> the most keys of that kind an implicit "
        'merge may unite in one customer (JSON, e.g. {"external_id": 1, "email": 2}); '
        "aliases and merges by hand are not limited",
    )

    @field_validator("merge_limits")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        try:
            return check_merge_limits(value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'touchpoint.db').resolve()}"

    def sqlite_path(self) -> Path | None:
        """The SQLite file of the system of record; None for a server database."""
        from sqlalchemy.engine import make_url

        url = make_url(self.resolved_database_url())
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def database_name(self) -> str:
        """Where the data is, for a message: the data directory, or the URL without password."""
        from sqlalchemy.engine import make_url

        if not self.database_url:
            return str(self.data_dir)
        return make_url(self.database_url).render_as_string(hide_password=True)


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment and `overrides`; a bad value is a ConfigError naming the
    variable, in one line."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"TOUCHPOINT_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ConfigError(problems) from None
    except SettingsError as exc:  # an environment variable that is not valid JSON
        raise ConfigError(f"{exc}: {exc.__cause__}" if exc.__cause__ else str(exc)) from None
