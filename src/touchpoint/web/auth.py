"""Sign-in for the pages: a user's name and password in HTTP Basic auth (the browser asks once
and sends them with every request, htmx's too), checked by the same `services.access` as the
API's, so `domain.access` decides what each role sees. API keys are for programs, not people:
the pages take users only."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Depends, Request

from touchpoint.domain.access import PERMISSIONS
from touchpoint.errors import AuthError
from touchpoint.runtime import Touchpoint
from touchpoint.services.access import Credentials, Principal, authenticate

REALM = "Touchpoint"


class SignInNeeded(AuthError):
    """No user name and password: the browser is asked for them (401 with a Basic challenge, as
    for wrong ones)."""


def asks_to_sign_in(exc: Exception) -> bool:
    """Whether an error is answered with a Basic challenge: a missing or refused sign-in, not a
    role's refusal (Forbidden is an AuthError too)."""
    return type(exc) in (AuthError, SignInNeeded)


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


def signed_in(permission: str) -> Any:
    """The dependency a page declares: the signed-in user, if their role holds `permission`
    (401 asks for a user name and password, 403 names the roles that may)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error

    def check(request: Request) -> Principal:
        given = _user_and_password(request)
        if given is None:
            raise SignInNeeded("sign in with a Touchpoint user's name and password")
        tp = touchpoint_of(request)
        credentials = Credentials(user=given[0], password=given[1])
        principal = authenticate(
            tp.engine, credentials, permission
        )  # AuthError: 401, Forbidden: 403
        request.state.principal = principal  # the access line names who asked
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)
