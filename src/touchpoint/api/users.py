"""Users over the API (admin): list, create, change a role, reset a password, disable. A password
made by the server is in the answer that sets it, once; only its argon2id hash is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from touchpoint.api.deps import ReadConn, TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.domain.access import USER_ROLES
from touchpoint.services import users as service
from touchpoint.services.access import Principal
from touchpoint.store.engine import write_transaction

Admin = Annotated[Principal, allowed("users.admin")]

router = APIRouter(
    prefix="/v1/users", tags=["users"], responses=error_responses(400, 401, 403, 422)
)

UserName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$", description="The user's name")
]
Role = Field(description=f"One of: {', '.join(USER_ROLES)}", pattern="^[a-z]{1,10}$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str | None = Field(description="cli:<user>, or the admin who made the user")
    password_changed_at: datetime
    last_login_at: datetime | None = Field(description="Updated at most once a minute")
    disabled_at: datetime | None
    status: str = Field(description="active or disabled")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100, description="Letters, digits and . _ @ -")
    role: str = Role
    password: str | None = Field(
        default=None,
        min_length=service.MIN_PASSWORD,
        max_length=1024,
        description="Omit it to have one generated (in the answer, once)",
    )


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Role


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(
        default=None,
        min_length=service.MIN_PASSWORD,
        max_length=1024,
        description="Omit it to have one generated (in the answer, once)",
    )


class UserWithPasswordOut(BaseModel):
    user: UserOut
    password: str = Field(description="Shown this once; stored only as an argon2id hash")


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(conn: ReadConn, _who: Admin, include_disabled: bool = False) -> list[UserOut]:
    """Users by name, with their role, who made them, last sign-in and status; never a
    password."""
    return [
        UserOut.model_validate(u)
        for u in service.list_users(conn, include_disabled=include_disabled)
    ]


@router.post(
    "",
    response_model=UserWithPasswordOut,
    status_code=201,
    summary="Create a user",
    responses=error_responses(409),
)
def create_user(
    tp: TouchpointDep, admin: Admin, body: Annotated[UserCreate, Body()]
) -> UserWithPasswordOut:
    """A new user with a role and a password (the one sent, or a generated one)."""
    with write_transaction(tp.engine) as conn:
        user, password = service.create_user(
            conn, name=body.name, role=body.role, password=body.password, created_by=admin.actor
        )
    return UserWithPasswordOut(user=UserOut.model_validate(user), password=password)


@router.post(
    "/{name}/role",
    response_model=UserOut,
    summary="Change a user's role",
    responses=error_responses(404, 409),
)
def set_role(
    tp: TouchpointDep, admin: Admin, name: UserName, body: Annotated[RoleChange, Body()]
) -> UserOut:
    """The user's role from their next request on."""
    with write_transaction(tp.engine) as conn:
        return UserOut.model_validate(service.set_role(conn, name, body.role, actor=admin.actor))


@router.post(
    "/{name}/password",
    response_model=UserWithPasswordOut,
    summary="Set a user's password",
    responses=error_responses(404, 409),
)
def set_password(
    tp: TouchpointDep, admin: Admin, name: UserName, body: Annotated[PasswordChange, Body()]
) -> UserWithPasswordOut:
    """A new password (the one sent, or a generated one); the old one stops working."""
    with write_transaction(tp.engine) as conn:
        user, password = service.set_password(conn, name, body.password, actor=admin.actor)
    return UserWithPasswordOut(user=UserOut.model_validate(user), password=password)


@router.post(
    "/{name}/disable",
    response_model=UserOut,
    summary="Disable a user",
    responses=error_responses(404, 409),
)
def disable_user(tp: TouchpointDep, admin: Admin, name: UserName) -> UserOut:
    """Refuse the user from their next request on; they stay listed (--include_disabled) and
    in the audit trail."""
    with write_transaction(tp.engine) as conn:
        return UserOut.model_validate(service.disable_user(conn, name, actor=admin.actor))
