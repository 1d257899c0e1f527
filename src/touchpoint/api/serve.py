"""The API as `touchpoint serve` runs it: uvicorn imports this factory by name (faces do not
import each other), and it opens the Touchpoint the environment names (TOUCHPOINT_DATA_DIR or
TOUCHPOINT_DATABASE_URL, which the CLI's --data-dir sets). The scheduler is not in this process:
`touchpoint serve` supervises a worker process that runs it (or, with --no-scheduler, a
`touchpoint worker` runs beside); this one ingests, so it runs the SQLite checkpoints.

`ServedProtocol` is the HTTP protocol uvicorn is told to use (also by name): uvicorn's h11
protocol plus the two limits uvicorn lacks. uvicorn times out an idle keep-alive connection but
has no timer while a request's headers arrive, so a client that connects and sends half a
request line held its connection for ever; and its connection limit (`limit_concurrency`)
answers a plain-text 503 without Retry-After. The body's own timeout is ASGI middleware
(`api/middleware.py`), since the app is what reads a body.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from typing import Any

import h11
import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from touchpoint.api.app import create_app
from touchpoint.api.middleware import ACCESS_LOGGER
from touchpoint.runtime import open_touchpoint
from touchpoint.services import scheduler
from touchpoint.settings import load_settings

YOUNG_COLLECTION_AFTER = 20_000  # allocations (Python's default: 700)
RETRY_AFTER_BUSY = 1  # seconds a client refused at the connection limit should wait


def served_app() -> FastAPI:
    _print_access_lines()
    tp = open_touchpoint(load_settings())
    app = create_app(tp)  # the scheduler is the worker process's (services.scheduler.work)
    app.router.lifespan_context = lambda _app: scheduler.serving(tp)  # checkpoints, write-behind
    settle_heap()
    return app


def settle_heap() -> None:
    """Load what the pages and reports import lazily (Plotly, Ibis, DuckDB, every report), then
    move the heap into the collector's permanent generation. Otherwise each full collection
    walks those libraries' hundreds of thousands of long-lived objects: about 250 ms, landing on
    a request every few dozen (the p99 of the analytics pages was twice their p50). Objects made
    after this are collected as usual."""
    import gc

    import ibis
    import plotly.graph_objects as go

    from touchpoint.analytics.clv import quiet_lifetimes
    from touchpoint.analytics.reports import load_reports

    load_reports()
    # What a first request would load lazily, loaded here so that it is frozen too: Plotly's
    # default template (its every trace type's defaults, read when a figure is made), the
    # Ibis-to-DuckDB compiler (sqlglot's generator) and lifetimes with autograd (the CLV fit).
    # Left to the first requests they were 110,000 objects walked by every full collection.
    go.Figure(go.Bar(x=[1], y=[1]), layout={"template": "plotly_white"}).to_json()
    table = ibis.table({"key": "string", "value": "float64"}, name="settle")
    ibis.to_sql(table.group_by("key").agg(total=table.value.sum()), dialect="duckdb")
    with quiet_lifetimes():
        import lifetimes  # noqa: F401 - imported for its objects, frozen below
    gc.collect()
    gc.freeze()
    # A young collection every 20,000 allocations, not 700: a report's objects (Ibis
    # expressions, frames) live for its request and die by reference count before a collection
    # sees them, instead of being promoted and walked by a full collection every few requests.
    gc.set_threshold(YOUNG_COLLECTION_AFTER, 10, 10)


def _print_access_lines() -> None:
    """`touchpoint serve` prints one access line per request on stderr (uvicorn's own access
    log is off: it writes the query string, which may hold an email)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@functools.cache
def _server_limits() -> tuple[float, int]:
    settings = load_settings()
    return settings.header_timeout_seconds, settings.max_connections


class ServedProtocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a JSON 503 at the connection limit.

    The header timer runs from the connection's start, and again from the first byte of each
    next request on a kept-alive connection (between requests uvicorn's keep-alive timeout
    applies); when it fires before the headers are complete the client gets a 408 (if it sent
    anything) and the connection is closed. Past `max_connections` open connections, or as many
    requests in flight, a request is answered 503 with Retry-After and the connection closed.
    """

    header_timeout: float | None = None  # None: from the settings (TOUCHPOINT_*)
    max_connections: int | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        unset = self.header_timeout is None or self.max_connections is None
        timeout, most = _server_limits() if unset else (0.0, 0)
        self.header_seconds = self.header_timeout or timeout
        self.most_connections = self.max_connections or most
        self.limit_concurrency = None  # uvicorn's own check would answer plain text first
        self.app = _at_most(self.app, self)
        self._header_timer: asyncio.TimerHandle | None = None
        self._received = False  # a byte of the request whose headers are awaited

    @classmethod
    def with_limits(cls, *, header_timeout: float, max_connections: int) -> type[ServedProtocol]:
        """A protocol class with these limits instead of the settings' (for tests)."""
        limits = {"header_timeout": header_timeout, "max_connections": max_connections}
        return type("LimitedServedProtocol", (cls,), limits)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers():
            self._received = True
            if self._header_timer is None:
                self._arm_header_timer()
        super().data_received(data)
        if not self._awaiting_headers():
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        self._received = False
        super().on_response_complete()
        if not self._awaiting_headers():  # a pipelined request was waiting whole
            self._disarm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers() or self.transport.is_closing():
            return
        if self._received and self.conn.their_state is h11.IDLE:  # not a body left unread
            detail = f"request headers not received within {self.header_seconds:g} s"
            self.transport.write(_raw_response(408, "Request Timeout", detail))
        self.transport.close()


def _at_most(app: ASGIApp, protocol: ServedProtocol) -> ASGIApp:
    """The app, or a 503 when the server holds more connections or requests than allowed (this
    request's own task is already counted)."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        most = protocol.most_connections
        if len(protocol.connections) > most or len(protocol.tasks) > most:
            detail = f"the server is at its limit of {most} connections; retry shortly"
            body = orjson.dumps({"detail": detail})
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(RETRY_AFTER_BUSY).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return limited


def _raw_response(status: int, reason: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response with a JSON detail, written past h11 (the request that would
    have framed it never arrived); the connection closes after it."""
    body = orjson.dumps({"detail": detail})
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body
