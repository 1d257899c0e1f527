"""One settings object for the whole app: env vars `TOUCHPOINT_*`, never read at import time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from touchpoint.domain.identity import (
    DEFAULT_JUNK_IDENTIFIERS,
    DEFAULT_MERGE_LIMITS,
    IdentityError,
    JunkIdentifiers,
    check_junk_entries,
    check_merge_limits,
)
from touchpoint.domain.moments import (
    DEFAULT_EVENT_EARLIEST,
    DEFAULT_FUTURE_TOLERANCE,
    EventWindow,
    MomentError,
    parse_moment,
    parse_span,
    window_setting_error,
)
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
    reach_channels_file: Path | None = Field(
        default=None,
        description="TOML table of referrers and click ids over the shipped reach_channels.toml",
    )
    decision_rules_file: Path | None = Field(
        default=None, description="TOML rules for GET /v1/decide (replaces the shipped ones)"
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
    server_scheduler: bool = Field(
        default=True,
        description="Whether `touchpoint serve` runs the scheduler (projections, playbooks, SLA "
        "clocks) in a worker process it supervises; off when a `touchpoint worker` you start "
        "runs it beside",
    )
    worker_poll_seconds: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description="How often `touchpoint worker` looks at the log's end for new interactions",
    )
    merge_limits: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MERGE_LIMITS),
        description="Merge protection: identity kind -> the most keys of that kind an implicit "
        'merge may unite in one customer (JSON, e.g. {"external_id": 1, "email": 2}); '
        "aliases and merges by hand are not limited",
    )
    # The server's limits (issue 9 §5); README "Limits" explains each.
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request's headers must arrive within this, or 408"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A request's body must arrive within this, or 408"
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this"
    )
    max_connections: int = Field(
        default=512, ge=1, description="Open connections beyond this are answered 503"
    )
    rate_limit_per_second: float = Field(
        default=200.0, ge=0, description="Requests per second per API key (0: no limit)"
    )
    rate_limit_burst: int = Field(
        default=400, ge=1, description="Requests a key may make at once above its rate"
    )
    pool_size: int = Field(default=8, ge=1, description="Database connections kept open")
    pool_max_overflow: int = Field(
        default=8, ge=0, description="Database connections opened beyond pool_size under load"
    )
    pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for a database connection, then 503"
    )

    # Automation's email (automation/email.py): without a host, messages go to a Maildir in the
    # data directory. README "Playbooks" explains each.
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: a local Maildir")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    smtp_security: str = Field(
        default="starttls", pattern="^(starttls|tls|none)$", description="starttls, tls or none"
    )
    smtp_user: str | None = Field(default=None, description="SMTP user name (with a password)")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(default="touchpoint@localhost", description="The From address")
    public_url: str = Field(
        default="https://localhost:8000",
        description="The server's address as customers reach it (unsubscribe links)",
    )
    automation_secret: str | None = Field(
        default=None,
        description="Signs unsubscribe links; unset: a random one kept in the data directory",
    )
    automation_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long a claimed playbook step is a worker's"
    )

    event_earliest: datetime = Field(
        default=DEFAULT_EVENT_EARLIEST,
        description="Plausibility window: the earliest moment an interaction may have occurred "
        "(a date, its midnight UTC, or a date-time; 1900 or later)",
    )
    event_future_tolerance: timedelta = Field(
        default=DEFAULT_FUTURE_TOLERANCE,
        description="Plausibility window: how far past the server's clock an interaction may be "
        "dated (clocks differ): 1d, 12h, 30m, seconds or ISO 8601 (P1D); 0 to 365 days",
    )

    @field_validator("event_earliest", mode="before")
    @classmethod
    def _a_moment(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_moment(value, "event_earliest")
            except MomentError as exc:
                raise ValueError(str(exc)) from None
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("event_future_tolerance", mode="before")
    @classmethod
    def _a_span(cls, value: Any) -> Any:
        return (parse_span(value) or value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _a_window(self) -> Settings:
        why = window_setting_error(self.event_earliest, self.event_future_tolerance)
        if why:
            raise ValueError(why)
        return self

    def event_window(self) -> EventWindow:
        """When an ingested interaction may have occurred (domain.moments.EventWindow)."""
        return EventWindow(self.event_earliest, self.event_future_tolerance)

    junk_identifiers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_JUNK_IDENTIFIERS),
        description="Placeholders that are never an identity (never link or merge customers), "
        'replacing the default list (JSON, e.g. ["undefined", "email:test@test.com", '
        '"noemail@*"]; any case; kind: limits an entry to one kind; [] turns the guard off)',
    )
    extend_junk_identifiers: list[str] = Field(
        default_factory=list,
        description="More placeholders, added to junk_identifiers (JSON list, same entries)",
    )

    @field_validator("junk_identifiers", "extend_junk_identifiers")
    @classmethod
    def _junk_entries(cls, value: list[str]) -> list[str]:
        try:
            return check_junk_entries(value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from None

    def junk(self) -> JunkIdentifiers:
        """The placeholders ingest leaves out of identity (domain.identity.JunkIdentifiers)."""
        return JunkIdentifiers((*self.junk_identifiers, *self.extend_junk_identifiers))

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
