"""The server's lifecycle clock: tick every few minutes so inactivity stages happen on time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from touchpoint.lifecycle.projector import EngineCache
from touchpoint.lifecycle.tick import tick
from touchpoint.runtime import Touchpoint

log = logging.getLogger("touchpoint.lifecycle")


def lifecycle_clock(tp: Touchpoint) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that ticks at start-up and then every `lifecycle_tick_seconds`."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        engines = EngineCache()
        await _tick_once(tp, engines)  # catch up before serving
        task = asyncio.create_task(_run(tp, engines))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _run(tp: Touchpoint, engines: EngineCache) -> None:
    while True:
        await asyncio.sleep(tp.settings.lifecycle_tick_seconds)
        await _tick_once(tp, engines)


async def _tick_once(tp: Touchpoint, engines: EngineCache) -> None:
    try:
        report = await run_in_threadpool(tick, tp.engine, datetime.now(UTC), engines)
        if report.moved:
            log.info("lifecycle tick moved %s", report.moved)
    except Exception:  # a failed tick must not stop the clock or the server; the next retries
        log.exception("lifecycle tick failed")
