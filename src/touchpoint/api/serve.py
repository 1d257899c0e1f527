"""The API as `touchpoint serve` runs it: uvicorn imports this factory by name (faces do not
import each other), and it opens the Touchpoint the environment names (TOUCHPOINT_DATA_DIR or
TOUCHPOINT_DATABASE_URL, which the CLI's --data-dir sets), with the scheduler running."""

from __future__ import annotations

from fastapi import FastAPI

from touchpoint.api.app import create_app
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import load_settings


def served_app() -> FastAPI:
    return create_app(open_touchpoint(load_settings()), background_jobs=True)
