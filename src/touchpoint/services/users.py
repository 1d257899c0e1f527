"""Users: people who sign in with a name and a password, each with one role (domain.access).
Passwords are hashed with argon2id (argon2-cffi) and never stored or logged; a new user's
password, when none is given, is generated and returned once."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine

from touchpoint.domain.access import USER_ROLES
from touchpoint.errors import AuthError, Conflict, NotFound, ValidationError
from touchpoint.services import audit
from touchpoint.store import users as store
from touchpoint.store.engine import write_transaction

MIN_PASSWORD = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# A hash to verify against when the user does not exist, so that a wrong name costs as long as
# a wrong password and the answer's timing does not tell which names exist.
_DECOY = _hasher.hash(secrets.token_urlsafe(16))
LOGIN_RECORD_SECONDS = 60.0
VERIFIED_SECONDS = 60.0  # an API client sending Basic auth per request is verified once a minute


@dataclass(frozen=True)
class UserInfo:
    """A user as `users list` and `GET /v1/users` show them (never a password or its hash)."""

    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str | None
    password_changed_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None

    @property
    def status(self) -> str:
        return "disabled" if self.disabled_at else "active"

    @property
    def actor(self) -> str:
        """How the audit trail names what this user does."""
        return f"user:{self.name}"


def check_name(name: str) -> str:
    clean = name.strip().lower()
    if not _NAME.match(clean):
        raise ValidationError(
            f"user name {name!r} is not valid: 1–100 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return clean


def _check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise ValidationError(f"unknown role {role!r}; allowed: {', '.join(USER_ROLES)}")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValidationError("the password must have at most 1024 characters")
    return password


def create_user(
    conn: Connection,
    *,
    name: str,
    role: str,
    password: str | None = None,
    created_by: str = "system",
) -> tuple[UserInfo, str]:
    """A new user and their password (the one given, or a generated one to hand over once)."""
    clean = check_name(name)
    _check_role(role)
    password = _check_password(password) if password is not None else secrets.token_urlsafe(15)
    if store.by_name(conn, clean) is not None:
        raise Conflict(f"a user named {clean!r} already exists")
    user_id = "usr_" + secrets.token_hex(6)
    store.add(
        conn,
        user_id=user_id,
        name=clean,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=datetime.now(UTC),
        created_by=created_by,
    )
    audit.record(conn, created_by, "user.create", user_id, name=clean, role=role)
    return _existing(conn, clean), password


def list_users(conn: Connection, *, include_disabled: bool = False) -> list[UserInfo]:
    return [UserInfo(*u) for u in store.listed(conn, include_disabled=include_disabled)]


def set_role(conn: Connection, name: str, role: str, *, actor: str = "system") -> UserInfo:
    user = _active(conn, name)
    _check_role(role)
    store.change(conn, user.id, role=role)
    audit.record(conn, actor, "user.role", user.id, name=user.name, role=role, was=user.role)
    _forget(user.name)
    return _existing(conn, user.name)


def set_password(
    conn: Connection, name: str, password: str | None = None, *, actor: str = "system"
) -> tuple[UserInfo, str]:
    """A new password (given, or generated and returned once); the old one stops working."""
    user = _active(conn, name)
    password = _check_password(password) if password is not None else secrets.token_urlsafe(15)
    store.change(
        conn, user.id, password_hash=_hasher.hash(password), password_changed_at=datetime.now(UTC)
    )
    audit.record(conn, actor, "user.password", user.id, name=user.name)
    _forget(user.name)
    return _existing(conn, user.name), password


def disable_user(conn: Connection, name: str, *, actor: str = "system") -> UserInfo:
    """Refuse the user from their next request on (kept for the audit trail's sake)."""
    user = _active(conn, name)
    store.change(conn, user.id, disabled_at=datetime.now(UTC))
    audit.record(conn, actor, "user.disable", user.id, name=user.name)
    _forget(user.name)
    return _existing(conn, user.name)


def _existing(conn: Connection, name: str) -> UserInfo:
    found = store.by_name(conn, check_name(name))
    if found is None:
        raise NotFound(f"no user named {name!r}")
    return UserInfo(*found[0])


def _active(conn: Connection, name: str) -> UserInfo:
    user = _existing(conn, name)
    if user.disabled_at is not None:
        raise Conflict(f"user {user.name!r} is disabled")
    return user


# --- signing in ----------------------------------------------------------------------------

_verified: dict[str, tuple[float, UserInfo]] = {}  # digest of name+password+hash -> when, user
_logins: dict[str, float] = {}
_lock = threading.Lock()


def _forget(name: str) -> None:
    with _lock:
        for digest in [d for d, (_, u) in _verified.items() if u.name == name]:
            del _verified[digest]


def verify(conn: Connection, name: str, password: str) -> UserInfo:
    """The active user with this name and password; one refusal for every reason (unknown name,
    wrong password, disabled) so that it does not tell which names exist."""
    refused = AuthError("invalid user name or password")
    try:
        clean = check_name(name)
    except ValidationError:
        raise refused from None
    found = store.by_name(conn, clean)
    if found is None:
        _matches(_DECOY, password)
        raise refused
    stored, password_hash = found
    digest = hashlib.sha256(f"{clean}\0{password}\0{password_hash}".encode()).hexdigest()
    now = time.monotonic()
    with _lock:
        hit = _verified.get(digest)
    if hit is None or now - hit[0] > VERIFIED_SECONDS:
        if not _matches(password_hash, password):
            raise refused
        with _lock:
            _verified[digest] = (now, UserInfo(*stored))
    if stored.disabled_at is not None:
        raise refused
    return UserInfo(*stored)


def session_user(conn: Connection, user_id: str, since: datetime) -> UserInfo:
    """The active user a web session (begun at `since`) names; refused, as a wrong password is,
    when the user is gone or disabled or their password changed after the session began."""
    stored = store.get(conn, user_id)
    if stored is None or stored.disabled_at is not None:
        raise AuthError("your session has ended: sign in again")
    changed = stored.password_changed_at
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    if changed > since:
        raise AuthError("your session has ended: sign in again")
    return UserInfo(*stored)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def note_login(engine: Engine, user: UserInfo) -> None:
    """Record a sign-in, at most once a minute per user and process."""
    now = time.monotonic()
    with _lock:
        if now - _logins.get(user.id, -LOGIN_RECORD_SECONDS) < LOGIN_RECORD_SECONDS:
            return
        _logins[user.id] = now
    with write_transaction(engine) as conn:
        store.mark_login(conn, user.id, datetime.now(UTC))
