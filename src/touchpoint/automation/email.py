"""Email for playbooks: a message with a plain-text part (and an HTML part if asked), a
Message-ID derived from the step's idempotency key, RFC 8058 one-click unsubscribe headers on
marketing mail, delivered through SMTP (STARTTLS, TLS or plain; with auth) or, without an SMTP
host, into a Maildir in the data directory."""

from __future__ import annotations

import hashlib
import mailbox
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from touchpoint.automation.playbooks import RenderedEmail
from touchpoint.settings import Settings

MAILDIR = "mail"  # the data directory's Maildir when no SMTP host is set
SMTP_TIMEOUT_SECONDS = 30.0


def message_id(key: str, settings: Settings) -> str:
    """The same step always makes the same Message-ID, so a resend after a crash is recognisable
    as the same message (receivers and clients collapse duplicates by it)."""
    domain = settings.smtp_from.rpartition("@")[2] or "touchpoint.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def compose(
    settings: Settings,
    *,
    key: str,
    to: str,
    rendered: RenderedEmail,
    at: datetime,
    unsubscribe_url: str | None,
    unsubscribe_mailto: str | None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id(key, settings)
    if unsubscribe_url is not None:
        links = [f"<{unsubscribe_url}>"]
        if unsubscribe_mailto:
            links.append(f"<{unsubscribe_mailto}>")
        message["List-Unsubscribe"] = ", ".join(links)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    return message


def deliver(settings: Settings, message: EmailMessage) -> str:
    """Send the message; returns where it went ("smtp:host" or "maildir:path")."""
    if not settings.smtp_host:
        return _to_maildir(settings.data_dir / MAILDIR, message)
    host, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_security == "tls":
        context = ssl.create_default_context()
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        client.send_message(message)
    return f"smtp:{host}"


def _to_maildir(path: Path, message: EmailMessage) -> str:
    box = mailbox.Maildir(path, create=True)
    box.add(message)
    return f"maildir:{path}"
