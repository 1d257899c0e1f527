"""The served API cuts off clients that never finish their headers or body, closes idle
keep-alive connections, and answers past its connection limit with a JSON 503 and Retry-After:
a real uvicorn with `ServedProtocol` on loopback, driven by raw sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import uvicorn

from touchpoint.api.app import create_app
from touchpoint.api.serve import ServedProtocol
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5
KEEP_ALIVE = 2
GENEROUS = 5.0  # a bound on when the server must have acted: timing is not measured here
HEALTH = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"

Serve = Callable[..., int]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Starts the API under uvicorn with ServedProtocol and the given limits; yields the port."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    opened = []

    def start(*, header_timeout: float = HEADER_TIMEOUT, max_connections: int = 50) -> int:
        settings = Settings(data_dir=tmp_path, body_timeout_seconds=BODY_TIMEOUT)
        tp = open_touchpoint(settings)
        opened.append(tp)
        protocol = ServedProtocol.with_limits(
            header_timeout=header_timeout, max_connections=max_connections
        )
        config = uvicorn.Config(
            create_app(tp),
            host="127.0.0.1",
            port=0,
            http=protocol,
            timeout_keep_alive=KEEP_ALIVE,
            log_level="error",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return int(server.servers[0].sockets[0].getsockname()[1])

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
    for tp in opened:
        tp.close()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GENEROUS)
    sock.settimeout(GENEROUS)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took
    (a socket timeout here means the server held the connection past the bound)."""
    started = time.monotonic()
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - started


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response on a kept-alive connection (Content-Length framed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def test_half_a_request_line_is_answered_408_and_closed(serve: Serve) -> None:
    port = serve()
    with connect(port) as sock:
        sock.sendall(b"GET /health HT")
        data, waited = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"request headers not received within 0.5 s" in data
    assert waited >= HEADER_TIMEOUT * 0.8  # not before the bound either


def test_headers_that_never_end_are_cut_off(serve: Serve) -> None:
    port = serve()
    with connect(port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        for _ in range(3):  # trickling bytes does not keep it open
            time.sleep(0.2)
            try:
                sock.sendall(b"a")
            except OSError:
                break
        data, _ = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed(serve: Serve) -> None:
    port = serve()
    with connect(port) as sock:
        data, waited = read_until_closed(sock)
    assert data == b""
    assert HEADER_TIMEOUT * 0.8 <= waited < GENEROUS


def test_a_body_that_never_ends_is_answered_408_and_closed(serve: Serve) -> None:
    port = serve(header_timeout=GENEROUS)
    with connect(port) as sock:
        sock.sendall(
            b"POST /v1/interactions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"id": '
        )
        data, waited = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert orjson.loads(body) == {"detail": "request body not received within 0.5 s"}
    assert waited < GENEROUS


def test_slow_but_timely_requests_on_a_kept_alive_connection_are_served(serve: Serve) -> None:
    port = serve()
    with connect(port) as sock:
        sock.sendall(HEALTH[:10])
        time.sleep(HEADER_TIMEOUT / 3)
        sock.sendall(HEALTH[10:])
        assert read_response(sock)[0] == 200
        time.sleep(HEADER_TIMEOUT * 2)  # idle between requests: the keep-alive timeout applies
        sock.sendall(HEALTH)
        status, _, body = read_response(sock)
    assert status == 200
    assert orjson.loads(body)["status"] == "ok"


def test_an_idle_kept_alive_connection_is_closed(serve: Serve) -> None:
    port = serve(header_timeout=GENEROUS * 4)
    with connect(port) as sock:
        sock.sendall(HEALTH)
        assert read_response(sock)[0] == 200
        data, waited = read_until_closed(sock)
    assert data == b""
    assert KEEP_ALIVE * 0.8 <= waited < GENEROUS


def test_past_the_connection_limit_a_request_gets_a_json_503_with_retry_after(
    serve: Serve,
) -> None:
    port = serve(header_timeout=GENEROUS * 4, max_connections=2)
    idle = [connect(port), connect(port)]
    time.sleep(0.2)  # both accepted
    with connect(port) as third:
        third.sendall(HEALTH)
        data, _ = read_until_closed(third)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in head.lower()
    assert orjson.loads(body) == {
        "detail": "the server is at its limit of 2 connections; retry shortly"
    }
    for sock in idle:
        sock.close()
    time.sleep(0.2)
    with connect(port) as again:
        again.sendall(HEALTH)
        assert read_response(again)[0] == 200
