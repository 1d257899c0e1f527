"""FastAPI dependencies: the open Touchpoint, database connections, API-key checks and the
OpenAPI security schemes they declare (so Swagger UI's "Authorize" sends a key)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from sqlalchemy import Connection

from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import ApiKey, authenticate, note_use
from touchpoint.store.engine import read_connection


def get_touchpoint(request: Request) -> Touchpoint:
    tp: Touchpoint = request.app.state.touchpoint
    return tp


TouchpointDep = Annotated[Touchpoint, Depends(get_touchpoint)]


def get_read_conn(tp: TouchpointDep) -> Iterator[Connection]:
    with read_connection(tp.engine) as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(get_read_conn)]


api_key_bearer = HTTPBearer(
    auto_error=False,  # declares the scheme only; the key checks below answer a missing key
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer <key>`. Each operation says which scope it "
    "needs (ingest, read or admin); an admin key may do everything.",
)


class _DocumentedBasic(HTTPBasic):
    """HTTP Basic in the OpenAPI document only: `presented_key` reads the header, so a malformed
    one gets the key check's 401, not the one `HTTPBasic` would answer with."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


segment_basic = _DocumentedBasic(
    auto_error=False,
    scheme_name="SegmentWriteKey",
    description="As Segment SDKs send it: the write key (an ingest key) as the user name, the "
    "password empty.",
)

BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Security(api_key_bearer)]


def presented_key(request: Request) -> str | None:
    """The API key from `Authorization: Bearer KEY` or Basic auth (Segment: write key as user)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user, _, _password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def _check(tp: Touchpoint, secret: str | None, needs: str) -> ApiKey:
    with read_connection(tp.engine) as conn:
        key = authenticate(conn, secret, needs=needs)
    note_use(tp.engine, key)
    return key


def require_ingest(request: Request, tp: TouchpointDep, _scheme: BearerScheme) -> ApiKey:
    return _check(tp, presented_key(request), "ingest")


def require_read(request: Request, tp: TouchpointDep, _scheme: BearerScheme) -> ApiKey:
    return _check(tp, presented_key(request), "read")


def require_admin(request: Request, tp: TouchpointDep, _scheme: BearerScheme) -> ApiKey:
    """An admin key (changes by hand, such as merging or unmerging customers)."""
    return _check(tp, presented_key(request), "admin")


IngestKey = Annotated[ApiKey, Depends(require_ingest)]
ReadKey = Annotated[ApiKey, Depends(require_read)]
AdminKey = Annotated[ApiKey, Depends(require_admin)]
