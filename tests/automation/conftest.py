"""A real SMTP server on loopback (aiosmtpd) collecting what arrives, and a Touchpoint that sends
to it, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.settings import Settings


@dataclass
class Inbox:
    """What the SMTP server accepted, parsed, in arrival order."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox[1],
            "smtp_security": "none",
            "smtp_from": "shop@example.com",
            "public_url": "https://crm.example.com",
            "automation_secret": "test-secret-not-for-production",
        }
    )


@pytest.fixture
def mtp(mail_settings: Settings) -> Iterator[Touchpoint]:
    touchpoint = open_touchpoint(mail_settings)
    yield touchpoint
    touchpoint.close()


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], str]]:
    got: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"body": body, "signature": self.headers["Touchpoint-Signature"]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()
