"""API keys over the API (admin key): list, create, revoke, rotate. A secret is in the answer
that creates it, once; only its hash is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from touchpoint.api.deps import ReadConn, TouchpointDep, allowed
from touchpoint.api.schemas import error_responses
from touchpoint.domain.vocabulary import API_KEY_SCOPES
from touchpoint.services import keys as service
from touchpoint.services.access import Principal
from touchpoint.store.engine import write_transaction

Admin = Annotated[Principal, allowed("keys.admin")]

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=error_responses(400, 401, 403, 422))

KeyId = Annotated[str, Path(pattern=r"^key_[0-9a-f]{12}$", description="A key's id, key_…")]


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    scope: str
    name: str | None
    created_at: datetime
    created_by: str | None = Field(description="cli:<user>, or the admin key that made it")
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None
    replaced_by: str | None = Field(description="The key a rotation put in its place")
    origins: list[str] | None = Field(
        default=None, description="A browser key's web origins; null for any other key"
    )
    status: str = Field(description="active, expired or revoked")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = Field(description=f"One of: {', '.join(API_KEY_SCOPES)}")
    name: str | None = Field(default=None, max_length=200)
    expires_at: AwareDatetime | None = Field(default=None, description="Refused from then on")
    origins: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list,
        max_length=100,
        description="A browser key's web origins (required for one, refused for any other): "
        "scheme://host[:port], or https://*.example.com for every subdomain",
    )


class NewKeyOut(BaseModel):
    key: KeyOut
    secret: str = Field(description="The key itself: shown this once, stored only as a hash")


@router.get("", response_model=list[KeyOut], summary="List API keys")
def list_keys(conn: ReadConn, _who: Admin, include_revoked: bool = False) -> list[KeyOut]:
    """Keys, newest first, with who made them, last use, expiry and status; never a secret."""
    return [
        KeyOut.model_validate(k) for k in service.list_keys(conn, include_revoked=include_revoked)
    ]


@router.post(
    "",
    response_model=NewKeyOut,
    status_code=201,
    summary="Create an API key",
    responses=error_responses(409),
)
def create_key(tp: TouchpointDep, admin: Admin, body: Annotated[KeyCreate, Body()]) -> NewKeyOut:
    """A new key with a scope (and optionally an expiry); its secret is in this answer only."""
    with write_transaction(tp.engine) as conn:
        key, secret = service.create_key(
            conn,
            scope=body.scope,
            name=body.name,
            expires_at=body.expires_at,
            created_by=admin.actor,
            origins=body.origins,
        )
        return NewKeyOut(key=KeyOut.model_validate(service.key_info(conn, key.id)), secret=secret)


@router.post(
    "/{key_id}/revoke",
    response_model=KeyOut,
    summary="Revoke an API key",
    responses=error_responses(404, 409),
)
def revoke_key(tp: TouchpointDep, admin: Admin, key_id: KeyId) -> KeyOut:
    """Revoke a key: refused from its next request on."""
    with write_transaction(tp.engine) as conn:
        return KeyOut.model_validate(service.revoke_key(conn, key_id, actor=admin.actor))


@router.post(
    "/{key_id}/rotate",
    response_model=NewKeyOut,
    status_code=201,
    summary="Rotate an API key",
    responses=error_responses(404, 409),
)
def rotate_key(tp: TouchpointDep, admin: Admin, key_id: KeyId) -> NewKeyOut:
    """A new secret with the key's scope, name and expiry; the old key is revoked in the same
    transaction."""
    with write_transaction(tp.engine) as conn:
        key, secret = service.rotate_key(conn, key_id, created_by=admin.actor)
        return NewKeyOut(key=KeyOut.model_validate(service.key_info(conn, key.id)), secret=secret)
