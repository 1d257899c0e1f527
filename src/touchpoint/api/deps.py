"""FastAPI dependencies: the open Touchpoint, database connections and API-key checks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from touchpoint.runtime import Touchpoint
from touchpoint.services.keys import ApiKey, authenticate
from touchpoint.store.engine import read_connection


def get_touchpoint(request: Request) -> Touchpoint:
    tp: Touchpoint = request.app.state.touchpoint
    return tp


TouchpointDep = Annotated[Touchpoint, Depends(get_touchpoint)]


def get_read_conn(tp: TouchpointDep) -> Iterator[Connection]:
    with read_connection(tp.engine) as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(get_read_conn)]


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
        return authenticate(conn, secret, needs=needs)


def require_ingest(request: Request, tp: TouchpointDep) -> ApiKey:
    return _check(tp, presented_key(request), "ingest")


def require_read(request: Request, tp: TouchpointDep) -> ApiKey:
    return _check(tp, presented_key(request), "read")


def require_admin(request: Request, tp: TouchpointDep) -> ApiKey:
    """An admin key (changes by hand, such as merging or unmerging customers)."""
    return _check(tp, presented_key(request), "admin")


IngestKey = Annotated[ApiKey, Depends(require_ingest)]
ReadKey = Annotated[ApiKey, Depends(require_read)]
AdminKey = Annotated[ApiKey, Depends(require_admin)]
