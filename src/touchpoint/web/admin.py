"""Users and keys for an admin: every user (role, status, last sign-in) with a new user's form,
a role change and disabling, and every API key (scope, status, last use, expiry) with revoking;
each change a POST form with the session's CSRF token, recorded in the audit trail as the
signed-in user (`services.users`, `services.keys`, as `touchpoint users|keys` and the admin
API). A key is created where its secret can be shown once and kept: `touchpoint keys create`
or `POST /v1/keys`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from touchpoint.domain.access import USER_ROLES
from touchpoint.errors import TouchpointError
from touchpoint.services import keys as key_service
from touchpoint.services import users as user_service
from touchpoint.services.access import Principal
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.web.auth import Change, changes, signed_in, touchpoint_of
from touchpoint.web.render import page

router = APIRouter()


def _admin_page(
    request: Request,
    who: Principal,
    *,
    created: tuple[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with read_connection(touchpoint_of(request).engine) as conn:
        users = user_service.list_users(conn, include_disabled=True)
        keys = key_service.list_keys(conn, include_revoked=True)
    return page(
        request,
        "admin.html",
        who,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},  # a generated password is shown once
        users=users,
        keys=keys,
        roles=USER_ROLES,
        created=created,
        problem=problem,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, who: Annotated[Principal, signed_in("users.admin")]) -> HTMLResponse:
    """The users and the keys, with their forms."""
    return _admin_page(request, who)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request, change: Annotated[Change, changes("users.admin")]
) -> HTMLResponse:
    """A new user with the role given; without a password, one is generated and shown once."""
    form = change.form
    try:
        with write_transaction(touchpoint_of(request).engine) as conn:
            user, password = user_service.create_user(
                conn,
                name=form.get("name", ""),
                role=form.get("role", ""),
                password=form.get("password") or None,
                created_by=change.who.actor,
            )
    except TouchpointError as exc:  # shown on the form again, what was wrong named
        if exc.status_code >= 500:
            raise
        return _admin_page(request, change.who, problem=str(exc), status_code=exc.status_code)
    shown = password if not form.get("password") else ""
    return _admin_page(request, change.who, created=(user.name, shown))


@router.post("/admin/users/{name}/role", response_model=None)
def set_role(
    request: Request, name: str, change: Annotated[Change, changes("users.admin")]
) -> RedirectResponse:
    with write_transaction(touchpoint_of(request).engine) as conn:
        user_service.set_role(conn, name, change.form.get("role", ""), actor=change.who.actor)
    return RedirectResponse("/app/admin", status_code=303)


@router.post("/admin/users/{name}/disable", response_model=None)
def disable_user(
    request: Request, name: str, change: Annotated[Change, changes("users.admin")]
) -> RedirectResponse:
    with write_transaction(touchpoint_of(request).engine) as conn:
        user_service.disable_user(conn, name, actor=change.who.actor)
    return RedirectResponse("/app/admin", status_code=303)


@router.post("/admin/keys/{key_id}/revoke", response_model=None)
def revoke_key(
    request: Request, key_id: str, change: Annotated[Change, changes("keys.admin")]
) -> RedirectResponse:
    with write_transaction(touchpoint_of(request).engine) as conn:
        key_service.revoke_key(conn, key_id, actor=change.who.actor)
    return RedirectResponse("/app/admin", status_code=303)
