"""ASGI middleware: refuse oversized bodies, cut off bodies that arrive too slowly, inflate gzip
bodies (as Segment SDKs send them), and write one access line per request."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "touchpoint.access"
_access = logging.getLogger(ACCESS_LOGGER)


class BodyLimitAndGzip:
    """Reads the whole body (at most `max_body_bytes`, within `body_timeout` seconds of the
    headers: a client that never finishes its body gets a 408 and the connection is closed),
    inflates it if gzipped, and hands the app the body read."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        gzipped = headers.get(b"content-encoding", b"").lower() == b"gzip"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, self.max_body_bytes)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await _read_body(receive, self.max_body_bytes)
        except TimeoutError:
            detail = f"request body not received within {self.body_timeout:g} s"
            await _error(send, 408, detail, close=True)
            return
        if body is None:
            await _too_large(send, self.max_body_bytes)
            return
        if gzipped:
            body = _gunzip(body, self.max_body_bytes)
            if body is None:
                await _error(send, 400, "body is not valid gzip or inflates past the size limit")
                return
            # In place, not a copy: the access line reads the route the router puts in scope.
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _gunzip(body: bytes, limit: int) -> bytes | None:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    if len(out) > limit or inflater.unconsumed_tail:
        return None
    return out


def _replay(body: bytes, upstream: Receive) -> Receive:
    """The body read (and inflated), as one message; after it, the server's own receive, which
    waits until the client really disconnects. (Answering http.disconnect at once made Starlette
    cancel every streaming or file response as soon as it started.)"""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await upstream()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _too_large(send: Send, limit: int) -> None:
    await _error(
        send, 413, f"request body larger than {limit} bytes; split it into smaller batches"
    )


async def _error(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    payload: Any = orjson.dumps({"detail": detail})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:  # uvicorn closes the connection after a response saying so
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One line per request on the `touchpoint.access` logger: method, path, status, who (the
    key id, `user:NAME`, or `-`) and duration. Never the body or personal data: the path is the
    route's template (`/v1/customers/{customer_id}`), the query only its parameter names
    (`?email`), so a lookup by email logs no email; a path no route matches is `-`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500
        state = scope.setdefault("state", {})

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            principal = state.get("principal")
            _access.info(
                "%s %s %d %s %.1fms",
                scope["method"],
                _logged_path(scope),
                status,
                getattr(principal, "actor", "-"),
                (time.perf_counter() - started) * 1000,
            )


def _logged_path(scope: Scope) -> str:
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    names = list(dict.fromkeys(name[:40] if name.isprintable() else "?" for name, _ in pairs))
    query = "?" + "&".join(names[:20]) if names else ""
    return _route_template(scope) + query


def _route_template(scope: Scope) -> str:
    """The template of the route that served the request, or, for a request answered before
    routing (408, 413), the documented path its path matches; else `-`."""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    openapi = getattr(scope.get("app"), "openapi", None)
    paths = openapi().get("paths", {}) if callable(openapi) else {}
    path = scope.get("path", "")
    return next((t for t in paths if _path_regex(t).match(path)), "-")


@functools.lru_cache(maxsize=1024)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]
