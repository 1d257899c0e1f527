"""The reach channel table (shipped `reach_channels.toml`, with the user's file over it) and its
application to one raw interaction at ingest. The rules themselves are `domain/reach.py`."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from touchpoint.domain.reach import ReachTable, ReachTableError, parse_reach_table, reach_of
from touchpoint.errors import ConfigError

SHIPPED_TABLE = "reach_channels.toml"


def load_reach_table(path: Path | None = None) -> ReachTable:
    """The shipped table, with the entries of the user's file (if given) added or overriding."""
    return _cached(path, _stamp(path))


@lru_cache(maxsize=8)
def _cached(path: Path | None, _stamp: tuple[int, int] | None) -> ReachTable:
    shipped = resources.files("touchpoint.ingest").joinpath(SHIPPED_TABLE)
    try:
        table = parse_reach_table(shipped.read_text(encoding="utf-8"), f"shipped {SHIPPED_TABLE}")
        if path is None:
            return table
        return table.merged(parse_reach_table(_read(path), str(path)))
    except ReachTableError as exc:
        raise ConfigError(str(exc)) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (settings reach_channels_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the reach channels file: {exc}") from None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        stat = path.stat() if path else None
    except OSError:
        return None  # _read reports the missing file
    return (stat.st_mtime_ns, stat.st_size) if stat else None


def reach_attribution(referrer: Any, url: Any, table: ReachTable) -> dict[str, str]:
    """Attribution for an untagged visit ({} for direct); values that are not text are ignored."""
    found = reach_of(
        referrer if isinstance(referrer, str) else None,
        url if isinstance(url, str) else None,
        table,
    )
    return found.attribution() if found else {}
