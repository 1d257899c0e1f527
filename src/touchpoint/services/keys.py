"""API keys: created with a scope (and optionally an expiry), stored as SHA-256 hashes, checked
on every request, listed, revoked and rotated. A revoked or expired key is refused on its next
request; each key's last use is recorded (at most once a minute per key and process). A browser
key (meant to be public in a web page) carries the origins it may be used from, and is refused
from any other page."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from touchpoint.domain.access import BROWSER_SCOPE
from touchpoint.domain.moments import utc_text
from touchpoint.domain.origins import normalise_origin, origin_allowed
from touchpoint.domain.vocabulary import API_KEY_SCOPES
from touchpoint.errors import AuthError, Conflict, Forbidden, NotFound, ValidationError
from touchpoint.services import audit
from touchpoint.store import keys as store
from touchpoint.store.engine import read_connection, write_transaction

SCOPES = API_KEY_SCOPES
USE_RECORD_SECONDS = 60.0  # how stale a key's last_used_at may be, to spare a write per request


@dataclass(frozen=True)
class ApiKey:
    id: str
    scope: str
    name: str | None
    origins: tuple[str, ...] = ()  # a browser key's allowed origins; empty for any other key


@dataclass(frozen=True)
class KeyInfo:
    """A key as `keys list` and `GET /v1/keys` show it (never its secret or hash)."""

    id: str
    scope: str
    name: str | None
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None
    origins: list[str] | None  # a browser key's allowed origins; None for any other key
    status: str  # active, expired or revoked


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    conn: Connection,
    *,
    scope: str,
    name: str | None = None,
    expires_at: datetime | None = None,
    created_by: str | None = None,
    origins: Sequence[str] = (),
    identity_secret: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored. A browser key needs
    the origins it may be used from; no other key takes any. A browser key also gets an
    identity secret (`identity_secret` when given: a rotation keeps the old one), with which a
    site's server signs the userIds its pages identify (services.identity_claims)."""
    if scope not in SCOPES:
        raise ValidationError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")
    allowed = allowed_origins(scope, origins)
    now = datetime.now(UTC)
    if expires_at is not None and expires_at <= now:
        raise ValidationError(f"the expiry {utc_text(expires_at)} has already passed")
    key_id = "key_" + secrets.token_hex(6)
    secret = f"tp_{scope}_{secrets.token_urlsafe(24)}"
    store.add(
        conn,
        key_id=key_id,
        key_hash=_hash(secret),
        scope=scope,
        name=name,
        created_at=now,
        created_by=created_by,
        expires_at=expires_at,
        origins=list(allowed) if scope == BROWSER_SCOPE else None,
        identity_secret=(identity_secret or _new_identity_secret())
        if scope == BROWSER_SCOPE
        else None,
    )
    extra = {"origins": list(allowed)} if allowed else {}
    audit.record(
        conn, created_by or "system", "key.create", key_id, scope=scope, name=name, **extra
    )
    return ApiKey(key_id, scope, name, allowed), secret


def _new_identity_secret() -> str:
    return "tp_idsec_" + secrets.token_urlsafe(32)


def identity_secret(conn: Connection, key_id: str) -> str:
    """A browser key's identity secret (what `keys identity-secret` shows)."""
    found = _existing(conn, key_id)
    if found.scope != BROWSER_SCOPE:
        raise ValidationError(f"key {key_id} is a {found.scope} key: only a browser key has one")
    secret = store.identity_secret(conn, key_id)
    if secret is None:  # a browser key made before identity secrets existed
        raise NotFound(f"browser key {key_id} has no identity secret yet: rotate it to make one")
    return secret


def rotate_identity_secret(conn: Connection, key_id: str, *, actor: str = "system") -> str:
    """A new identity secret for a browser key: identifies signed with the old one are unsigned
    from now on (the site's server must sign with the new one)."""
    found = _existing(conn, key_id)
    if found.scope != BROWSER_SCOPE:
        raise ValidationError(f"key {key_id} is a {found.scope} key: only a browser key has one")
    if found.revoked_at is not None:
        raise Conflict(f"key {key_id} is revoked")
    secret = _new_identity_secret()
    store.set_identity_secret(conn, key_id, secret)
    audit.record(conn, actor, "key.rotate", key_id, part="identity_secret")
    return secret


def allowed_origins(scope: str, origins: Sequence[str]) -> tuple[str, ...]:
    """The origins a key of `scope` is limited to, normalised and without repeats: at least one
    for a browser key, none for any other."""
    if scope != BROWSER_SCOPE:
        if origins:
            raise ValidationError(
                f"origins: only a browser key takes origins (this key's scope is {scope})"
            )
        return ()
    if not origins:
        raise ValidationError(
            "origins: a browser key needs the web origins it may be used from "
            "(--origin https://shop.example.com)"
        )
    normalised: list[str] = []
    for text in origins:
        try:
            origin = normalise_origin(text)
        except ValueError as exc:
            raise ValidationError(f"origins: {exc}") from None
        if origin not in normalised:
            normalised.append(origin)
    return tuple(normalised)


def authenticate(conn: Connection, secret: str | None, origin: str | None = None) -> ApiKey:
    """The live key behind `secret`: refused when missing, unknown, revoked or expired, and a
    browser key unless `origin` (the page's, from the `Origin` header) is on its list. What the
    key may do is `services.access`'s question."""
    if not secret:
        raise AuthError(
            "missing API key: send 'Authorization: Bearer <key>' (or Basic auth for Segment)"
        )
    stored = store.by_hash(conn, _hash(secret))
    if stored is None or stored.revoked_at is not None:
        raise AuthError("invalid or revoked API key")
    if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
        raise AuthError(f"API key {stored.id} expired at {utc_text(stored.expires_at)}")
    origins = tuple(stored.origins or ())
    if stored.scope == BROWSER_SCOPE and not origin_allowed(origin, origins):
        why = f"does not allow the origin {origin!r}" if origin else "got no Origin header"
        raise Forbidden(
            f"browser key {stored.id} {why}: it takes requests only from web pages on its origins"
        )
    return ApiKey(stored.id, stored.scope, stored.name, origins)


def browser_key(conn: Connection, secret: str, origin: str | None) -> ApiKey:
    """The live browser key behind `secret`, for the settings a page loads (api/segment.py):
    NotFound for anything else — an unknown, revoked or expired secret, or a server key, whose
    existence this public path never confirms — and Forbidden for a page at an origin the key
    does not allow. Without an Origin (not a page: curl, a server) it is answered, since the
    settings hold nothing but the key itself and the server's address."""
    stored = store.by_hash(conn, _hash(secret))
    now = datetime.now(UTC)
    if (
        stored is None
        or stored.scope != BROWSER_SCOPE
        or stored.revoked_at is not None
        or (stored.expires_at is not None and stored.expires_at <= now)
    ):
        raise NotFound("no browser key with this write key")
    origins = tuple(stored.origins or ())
    if origin is not None and not origin_allowed(origin, origins):
        raise Forbidden(f"browser key {stored.id} is not allowed from the origin {origin!r}")
    return ApiKey(stored.id, stored.scope, stored.name, origins)


def allowed_by_some_browser_key(engine: Engine, origin: str) -> bool:
    """Whether some live browser key allows pages at `origin`: the answer to a CORS preflight,
    which carries no key (api/cors.py)."""
    with read_connection(engine) as conn:
        lists = store.live_origins(conn, BROWSER_SCOPE, datetime.now(UTC))
    return any(origin_allowed(origin, origins) for origins in lists)


_recorded: dict[str, float] = {}  # key id -> monotonic time its use was last written
_recorded_lock = threading.Lock()


def note_use(engine: Engine, key: ApiKey) -> None:
    """Record that `key` was just used, unless this process did so less than a minute ago."""
    if use_due(key):
        record_use(engine, key)


def use_due(key: ApiKey) -> bool:
    """Whether this use of `key` is to be written (its first in a minute in this process); if so
    it counts as written from now, so concurrent requests write it once."""
    now = time.monotonic()
    with _recorded_lock:
        if now - _recorded.get(key.id, -USE_RECORD_SECONDS) < USE_RECORD_SECONDS:
            return False
        _recorded[key.id] = now
    return True


def record_use(engine: Engine, key: ApiKey) -> None:
    """Write `key`'s last use as now (see `use_due` for how often)."""
    with write_transaction(engine) as conn:
        store.mark_used(conn, key.id, datetime.now(UTC))


def list_keys(conn: Connection, *, include_revoked: bool = False) -> list[KeyInfo]:
    now = datetime.now(UTC)
    return [_info(k, now) for k in store.listed(conn, include_revoked=include_revoked)]


def key_info(conn: Connection, key_id: str) -> KeyInfo:
    return _info(_existing(conn, key_id), datetime.now(UTC))


def revoke_key(conn: Connection, key_id: str, *, actor: str = "system") -> KeyInfo:
    """Revoke a key: refused on its next request."""
    found = _existing(conn, key_id)
    if found.revoked_at is not None or not store.revoke(conn, key_id, datetime.now(UTC)):
        raise Conflict(f"key {key_id} is already revoked")
    audit.record(conn, actor, "key.revoke", key_id)
    return _info(_existing(conn, key_id), datetime.now(UTC))


def rotate_key(
    conn: Connection, key_id: str, *, created_by: str | None = None
) -> tuple[ApiKey, str]:
    """A new key with the old one's scope, name, origins and remaining lifetime, and the old one
    revoked (pointing at its replacement), in one transaction; the new secret is returned once."""
    old = _existing(conn, key_id)
    now = datetime.now(UTC)
    if old.revoked_at is not None:
        raise Conflict(f"key {key_id} is revoked; create a new key instead")
    expires_at = old.expires_at
    if expires_at is not None and expires_at <= now:
        raise Conflict(f"key {key_id} expired at {utc_text(expires_at)}; create a new key instead")
    new, secret = create_key(
        conn,
        scope=old.scope,
        name=old.name,
        expires_at=expires_at,
        created_by=created_by,
        origins=old.origins or (),
        identity_secret=store.identity_secret(conn, key_id),
    )
    store.revoke(conn, key_id, now, replaced_by=new.id)
    audit.record(conn, created_by or "system", "key.rotate", key_id, replaced_by=new.id)
    return new, secret


def _existing(conn: Connection, key_id: str) -> store.StoredKey:
    found = store.get(conn, key_id)
    if found is None:
        raise NotFound(f"no API key {key_id!r}")
    return found


def _info(key: store.StoredKey, now: datetime) -> KeyInfo:
    if key.revoked_at is not None:
        status = "revoked"
    elif key.expires_at is not None and key.expires_at <= now:
        status = "expired"
    else:
        status = "active"
    return KeyInfo(**key._asdict(), status=status)
