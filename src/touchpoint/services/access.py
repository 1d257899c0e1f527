"""Who is asking, and may they: the one check every API operation makes. A caller presents an
API key (Bearer, or Segment's write key as the Basic-auth user with no password) or a user's
name and password (Basic auth); either way they get a role, and `domain.access` says whether
that role holds the operation's permission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from sqlalchemy import Engine

from touchpoint.domain.access import CONTACT_DETAILS, allows, refusal
from touchpoint.errors import AuthError, Forbidden
from touchpoint.services import keys, users
from touchpoint.store.engine import read_connection


@dataclass(frozen=True)
class Credentials:
    """What a request presented: an API key's secret, or a user name and password, and the web
    origin of the page that sent it (the `Origin` header), which a browser key must allow."""

    secret: str | None = None
    user: str | None = None
    password: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Principal:
    kind: Literal["key", "user"]
    id: str  # key_… or usr_…
    role: str  # a domain.access role or key scope
    name: str | None
    origin: str | None = None  # a browser key's: the page origin it was let in from

    @property
    def actor(self) -> str:
        """How the audit trail and the access log name who acted: a key by its id, a user by
        name."""
        return self.id if self.kind == "key" else f"user:{self.name}"

    @property
    def sees_contact_details(self) -> bool:
        """May see names, emails, phones and traits, and learn which customer an identity
        belongs to (an ingest key and an analyst may not)."""
        return allows(self.role, CONTACT_DETAILS)

    def may(self, permission: str) -> bool:
        return allows(self.role, permission)


def demand(principal: Principal, permission: str) -> None:
    """Refuse (403) a caller whose role lacks `permission`, for a part of an operation that
    needs more than the operation itself (a customer list is open to analysts; a lookup of a
    person by email is not)."""
    if not allows(principal.role, permission):
        raise Forbidden(refusal(principal.role, permission, kind=principal.kind))


def authenticate(engine: Engine, presented: Credentials, permission: str) -> Principal:
    """The caller, if they may do `permission`: 401 for no or bad credentials, 403 when their
    role lacks it. A use is recorded (a key's last use, a user's last sign-in) only when let in."""
    principal, record_use = admit(engine, engine, presented, permission)
    if record_use is not None:
        record_use()
    return principal


def admit(
    reader: Engine, writer: Engine, presented: Credentials, permission: str
) -> tuple[Principal, Callable[[], None] | None]:
    """`authenticate` without its write: the caller (read through `reader`), and the write that
    records their use through `writer` if one is due (a key's use is written once a minute per
    process), for the caller to run where a write may wait for its turn. The API checks a key
    on its event loop this way (api/deps.py), so a request needs no thread-pool hop for it."""
    with read_connection(reader) as conn:
        if presented.user is not None and presented.password:
            user = users.verify(conn, presented.user, presented.password)
            principal = Principal("user", user.id, user.role, user.name)
            demand(principal, permission)
            return principal, partial(users.note_login, writer, user)
        if not presented.secret:
            raise AuthError(
                "missing API key: send 'Authorization: Bearer <key>' (Segment: the write key as "
                "the Basic-auth user name), or a user's name and password in Basic auth"
            )
        key = keys.authenticate(conn, presented.secret, presented.origin)
    origin = presented.origin if key.origins else None
    principal = Principal("key", key.id, key.scope, key.name, origin)
    demand(principal, permission)
    return principal, partial(keys.record_use, writer, key) if keys.use_due(key) else None
