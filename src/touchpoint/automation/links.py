"""Signed links: an unsubscribe token names the customer, channel and purpose and carries an
HMAC (itsdangerous), so only a link Touchpoint sent unsubscribes, and the same link always
unsubscribes the same thing (the POST is idempotent); a survey token names the send, the survey
and the moment the link expires."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from touchpoint.errors import NotFound, TouchpointError
from touchpoint.settings import Settings

_SALT = "touchpoint.unsubscribe"
SECRET_FILE = "automation.secret"


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    customer_id: str
    channel: str
    purpose: str


def secret(settings: Settings) -> str:
    """The signing secret: the setting, else one kept (owner-only) in the data directory."""
    if settings.automation_secret:
        return settings.automation_secret
    path: Path = settings.data_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def unsubscribe_token(settings: Settings, target: Unsubscribe) -> str:
    serializer = URLSafeSerializer(secret(settings), salt=_SALT)
    return str(serializer.dumps([target.customer_id, target.channel, target.purpose]))


def read_unsubscribe_token(settings: Settings, token: str) -> Unsubscribe:
    """What a token unsubscribes; a forged or damaged one is NotFound (the link leads nowhere)."""
    try:
        customer_id, channel, purpose = URLSafeSerializer(secret(settings), salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("no such unsubscribe link") from None
    return Unsubscribe(str(customer_id), str(channel), str(purpose))


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/unsubscribe/{token}"


# --- survey links --------------------------------------------------------------------------------

_SURVEY_SALT = "touchpoint.survey.v2"


class LinkExpired(TouchpointError):
    """A survey link past the expiry its token carries (HTTP 410 Gone)."""

    status_code = 410


@dataclass(frozen=True, slots=True)
class SurveyLink:
    """What a survey email's link opens: the send it came from (its key's digest: one answer
    per question per send), the customer, the survey definition's name, when the link expires
    (Unix seconds), what the send was about (contact_id, ticket_id) and, for a one-click link,
    the score it gives the survey's first scored question."""

    send: str
    customer_id: str
    survey: str
    expires: int
    about: dict[str, str]
    score: int | None = None


def survey_token(settings: Settings, link: SurveyLink) -> str:
    serializer = URLSafeSerializer(secret(settings), salt=_SURVEY_SALT)
    fields = [link.send, link.customer_id, link.survey, link.expires, link.about, link.score]
    return str(serializer.dumps(fields))


def read_survey_token(settings: Settings, token: str) -> SurveyLink:
    """What a survey link opens; a forged or damaged one is NotFound (the expiry is the
    caller's to check against its clock: `expired`)."""
    try:
        send, customer_id, survey, expires, about, score = URLSafeSerializer(
            secret(settings), salt=_SURVEY_SALT
        ).loads(token)
        return SurveyLink(
            str(send),
            str(customer_id),
            str(survey),
            int(expires),
            {str(k): str(v) for k, v in dict(about).items()},
            None if score is None else int(score),
        )
    except (BadSignature, ValueError, TypeError):
        raise NotFound("no such survey link") from None


def expired(link: SurveyLink, now: datetime) -> bool:
    return now.timestamp() >= link.expires


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/survey/{token}"
