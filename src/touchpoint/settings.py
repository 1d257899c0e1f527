"""One settings object for the whole app: env vars `TOUCHPOINT_*`, never read at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'touchpoint.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
