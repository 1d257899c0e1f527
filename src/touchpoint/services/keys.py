"""API keys: created with a scope, stored as SHA-256 hashes, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from touchpoint.domain.vocabulary import API_KEY_SCOPES
from touchpoint.errors import AuthError, Forbidden, ValidationError
from touchpoint.store import keys as store

SCOPES = API_KEY_SCOPES


@dataclass(frozen=True)
class ApiKey:
    id: str
    scope: str
    name: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, *, scope: str, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored."""
    if scope not in SCOPES:
        raise ValidationError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")
    key_id = "key_" + secrets.token_hex(6)
    secret = f"tp_{scope}_{secrets.token_urlsafe(24)}"
    store.add(
        conn,
        key_id=key_id,
        key_hash=_hash(secret),
        scope=scope,
        name=name,
        created_at=datetime.now(UTC),
    )
    return ApiKey(key_id, scope, name), secret


def authenticate(conn: Connection, secret: str | None, *, needs: str) -> ApiKey:
    """The key behind `secret`, if it may do `needs` ("ingest" or "read"); admin may do both."""
    if not secret:
        raise AuthError(
            "missing API key: send 'Authorization: Bearer <key>' (or Basic auth for Segment)"
        )
    stored = store.active_by_hash(conn, _hash(secret))
    if stored is None:
        raise AuthError("invalid or revoked API key")
    key = ApiKey(stored.id, stored.scope, stored.name)
    if key.scope not in (needs, "admin"):
        if needs == "admin":
            raise Forbidden("this needs an admin key; ingest and read keys cannot do it")
        raise Forbidden(f"this {key.scope} key cannot {needs}; use a {needs} or admin key")
    return key
