"""Sign-in for the pages: a person signs in with the login form and gets a signed session cookie
(web.session); a script may still send a user's name and password in HTTP Basic auth on every
request. Either way `services` checks the user and `domain.access` decides what their role
sees. A change (a form sent with POST) is taken only from a session, with the session's CSRF
token in the form. API keys are for programs, not people: the pages take users only."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from touchpoint.domain.access import PERMISSIONS
from touchpoint.errors import AuthError, Forbidden
from touchpoint.runtime import Touchpoint
from touchpoint.services import users
from touchpoint.services.access import Credentials, Principal, authenticate, demand
from touchpoint.store.engine import read_connection
from touchpoint.web import session as sessions

REALM = "Touchpoint"


class SignInNeeded(AuthError):
    """No session and no Basic credentials (or a session that ended): a browser is sent to the
    login form, htmx told to go there."""


class FormRefused(Forbidden):
    """A change without this session's CSRF token: a stale page or another site's form."""


def asks_for_basic(exc: Exception) -> bool:
    """Whether an error is answered with a Basic challenge: Basic credentials that were refused
    (a script's), not a missing sign-in (the login form) nor a role's refusal."""
    return type(exc) is AuthError


def touchpoint_of(request: Request) -> Touchpoint:
    tp: Touchpoint = request.app.state.touchpoint
    return tp


def _user_and_password(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if user and password else None


def from_session(request: Request, tp: Touchpoint) -> Principal | None:
    found = sessions.read(request)
    request.state.session = found
    if found is None or found.user_id is None or found.since is None:
        return None
    try:
        with read_connection(tp.engine) as conn:
            user = users.session_user(conn, found.user_id, found.since)
    except AuthError as exc:
        raise SignInNeeded(str(exc)) from None
    return Principal("user", user.id, user.role, user.name)


def _principal(request: Request, permission: str) -> Principal:
    tp = touchpoint_of(request)
    principal = from_session(request, tp)
    if principal is not None:
        demand(principal, permission)  # Forbidden: 403 naming the roles that may
    else:
        given = _user_and_password(request)
        if given is None:
            raise SignInNeeded("sign in with a Touchpoint user's name and password")
        credentials = Credentials(user=given[0], password=given[1])
        principal = authenticate(tp.engine, credentials, permission)  # 401, or 403
    request.state.principal = principal  # the access line and the error page name who asked
    return principal


def signed_in(permission: str) -> Any:
    """The dependency a page declares: the signed-in user, if their role holds `permission`
    (a browser without a session goes to the login form; 403 names the roles that may)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error

    def check(request: Request) -> Principal:
        return _principal(request, permission)

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


@dataclass(frozen=True)
class Change:
    """A form that changes something: who sent it and its fields (the CSRF token checked)."""

    who: Principal
    form: dict[str, str]


def changes(permission: str) -> Any:
    """The dependency of a POST: a session's user holding `permission`, and a form carrying the
    session's CSRF token (Basic auth does not change anything: a browser would send it for
    another site's form too)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(request: Request) -> Change:
        fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        who = from_session(request, touchpoint_of(request))
        if who is None:
            raise SignInNeeded("sign in with the form to change anything")
        if not sessions.token_matches(request.state.session, fields.get("csrf")):
            raise FormRefused(
                "this form did not come from this session's page (it may be older than your "
                "sign-in): reload the page and send it again"
            )
        demand(who, permission)
        request.state.principal = who
        return Change(who, fields)

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)
