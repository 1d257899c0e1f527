"""The body-limit middleware hands a streaming response the whole stream: after replaying the
request body it waits for the client's real disconnect instead of announcing one at once."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from touchpoint.api.middleware import BodyLimitAndGzip


async def _chunks() -> Any:
    for n in range(3):
        await anyio.sleep(0.01)
        yield f"chunk {n}\n".encode()


async def _stream(_request: Any) -> StreamingResponse:
    return StreamingResponse(_chunks(), media_type="text/plain")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_streamed_answer_arrives_whole(anyio_backend: str) -> None:
    app = BodyLimitAndGzip(Starlette(routes=[Route("/s", _stream)]), max_body_bytes=1000)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/s",
        "raw_path": b"/s",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 5000),
    }  # a GET with no Content-Length: the middleware reads (and replays) its empty body
    delivered = anyio.Event()
    first = True

    async def receive() -> dict[str, Any]:  # as a server does: the body, then wait
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await delivered.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            delivered.set()

    with anyio.fail_after(5):
        await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert body == b"chunk 0\nchunk 1\nchunk 2\n"
