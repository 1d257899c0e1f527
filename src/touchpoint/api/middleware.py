"""ASGI middleware: refuse oversized bodies and inflate gzip bodies (as Segment SDKs send them)."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitAndGzip:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        if not gzipped and length is not None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _too_large(send, self.max_body_bytes)
            return
        if gzipped:
            body = _gunzip(body, self.max_body_bytes)
            if body is None:
                await _error(send, 400, "body is not valid gzip or inflates past the size limit")
                return
            scope = dict(scope)
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


async def _error(send: Send, status: int, detail: str) -> None:
    payload: Any = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
