"""Signed unsubscribe links: a token names the customer, channel and purpose and carries an
HMAC (itsdangerous), so only a link Touchpoint sent unsubscribes, and the same link always
unsubscribes the same thing (the POST is idempotent)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from touchpoint.errors import NotFound
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

_SURVEY_SALT = "touchpoint.survey"


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """What one score's link in a survey email records: the run step it came from (its key's
    digest: one answer per step), the customer, the survey (csat, nps), the score, and what the
    run's trigger named (contact_id, ticket_id)."""

    step: str
    customer_id: str
    survey: str
    score: int
    about: dict[str, str]


def survey_token(settings: Settings, answer: SurveyAnswer) -> str:
    serializer = URLSafeSerializer(secret(settings), salt=_SURVEY_SALT)
    fields = [answer.step, answer.customer_id, answer.survey, answer.score, answer.about]
    return str(serializer.dumps(fields))


def read_survey_token(settings: Settings, token: str) -> SurveyAnswer:
    """What a survey link answers; a forged or damaged one is NotFound."""
    try:
        step, customer_id, survey, score, about = URLSafeSerializer(
            secret(settings), salt=_SURVEY_SALT
        ).loads(token)
        return SurveyAnswer(
            str(step),
            str(customer_id),
            str(survey),
            int(score),
            {str(k): str(v) for k, v in dict(about).items()},
        )
    except (BadSignature, ValueError, TypeError):
        raise NotFound("no such survey link") from None


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/survey/{token}"
