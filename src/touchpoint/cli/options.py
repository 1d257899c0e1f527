"""What every command group shares, declared once: the data directory (and opening the
Touchpoint it holds), where to serve, and the moment options (`--at`, `--from`, `--to`, `--now`),
read by the one rule in `domain.moments`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from touchpoint.domain.moments import MomentError, parse_moment
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="TOUCHPOINT_DATA_DIR",
        help="Data directory of the embedded database (default ./touchpoint-data). "
        "Ignored when TOUCHPOINT_DATABASE_URL is set.",
        show_default=False,
    ),
]
Host = Annotated[str, typer.Option(help="Interface to serve on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")]

MOMENT_RULE = (
    "YYYY-MM-DD (midnight UTC) or an ISO date-time such as 2026-03-01T12:00Z; no zone means UTC"
)


def moment_parser(option: str) -> Callable[[str], datetime | None]:
    """Typer's parser for a moment option: the domain's rule, its error naming `option`."""

    def parse(text: str) -> datetime | None:
        try:
            return parse_moment(text, option)
        except MomentError as exc:  # a ValidationError reaches main(): one line, not a usage box
            raise ValidationError(str(exc)) from None

    return parse


def _moment_option(option: str, help: str) -> Any:
    return typer.Option(
        option, parser=moment_parser(option), metavar="WHEN", help=f"{help}: {MOMENT_RULE}"
    )


At = Annotated[
    datetime | None,
    _moment_option("--at", "Take this moment as now, everything as it stood then (default: now)"),
]
From = Annotated[datetime | None, _moment_option("--from", "Period start (inclusive)")]
To = Annotated[datetime | None, _moment_option("--to", "Period end (exclusive)")]
Clock = Annotated[
    datetime | None,
    typer.Option(
        "--clock",
        parser=lambda text: datetime.now(UTC) if text == "now" else moment_parser("--clock")(text),
        metavar="WHEN",
        help="Set the lifecycle clock (how far time has passed for inactivity stages) to this "
        f"moment, e.g. now to undo a clock set in the future: now or {MOMENT_RULE}",
    ),
]
Now = Annotated[
    datetime | None, _moment_option("--now", "Let time pass up to this moment (default: now)")
]


@contextmanager
def opened(data_dir: Path | None, *, create: bool = False) -> Iterator[Touchpoint]:
    """The Touchpoint in `data_dir` (migrated if need be), closed afterwards. Only commands that
    bring data (demo, import, init) pass create=True: anything else refuses a data directory
    Touchpoint never created, in one line, instead of answering with an empty database's zeros."""
    from touchpoint.runtime import open_touchpoint  # the CLI's --help stays fast
    from touchpoint.settings import load_settings

    tp = open_touchpoint(load_settings(data_dir=data_dir), create=create)
    try:
        yield tp
    finally:
        tp.close()


def cli_actor() -> str:
    """Who a command runs as, for the audit trail and a key's creator: cli:<os user>."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return "cli"
