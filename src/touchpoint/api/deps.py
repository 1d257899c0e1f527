"""FastAPI dependencies: the open Touchpoint, database connections, API-key checks and the
OpenAPI security schemes they declare (so Swagger UI's "Authorize" sends a key)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from touchpoint.api.limits import check_rate
from touchpoint.domain.access import PERMISSIONS, roles_with
from touchpoint.runtime import Touchpoint
from touchpoint.services.access import Credentials, Principal, admit, authenticate
from touchpoint.store.engine import read_connection


async def get_touchpoint(request: Request) -> Touchpoint:
    """The app's Touchpoint. Async because it does no I/O: FastAPI runs a plain `def` dependency
    in its thread pool, a hop (and a turn at the GIL among the busy threads) per request."""
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
    description="An API key: `Authorization: Bearer <key>`. Each operation says which roles may "
    "call it; an admin may do everything.",
)


class _DocumentedBasic(HTTPBasic):
    """HTTP Basic in the OpenAPI document only: `presented` reads the header, so a malformed
    one gets the credential check's 401, not the one `HTTPBasic` would answer with."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


segment_basic = _DocumentedBasic(
    auto_error=False,
    scheme_name="SegmentWriteKey",
    description="As Segment SDKs send it: the write key (an ingest key) as the user name, the "
    "password empty.",
)

user_basic = _DocumentedBasic(
    auto_error=False,
    scheme_name="UserPassword",
    description="A user's name and password (touchpoint users create).",
)

BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Security(api_key_bearer)]
BasicScheme = Annotated[None, Security(user_basic)]


def presented(request: Request) -> Credentials:
    """What the request presents: `Authorization: Bearer KEY`, or Basic auth — a user's name and
    password, or (the password empty, as Segment SDKs send it) a write key as the user name —
    and the page's `Origin`, which a browser key must allow."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    origin = request.headers.get("origin")
    if scheme.lower() == "bearer":
        return Credentials(secret=value.strip() or None, origin=origin)
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Credentials(origin=origin)
        if password:
            return Credentials(user=user, password=password, origin=origin)
        return Credentials(secret=user or None, origin=origin)
    return Credentials(origin=origin)


async def let_in(tp: Touchpoint, credentials: Credentials, permission: str) -> Principal:
    """`services.access.authenticate`, made where it costs least: a key's check is one indexed
    read, made on the event loop (through the loop's own engine; a hop to the thread pool and
    back cost more than the read), and its once-a-minute last-use write, which may wait for
    its turn to write, goes to a thread; a password's check (argon2, ~50 ms of CPU) runs in a
    thread whole."""
    if credentials.password:
        return await run_in_threadpool(authenticate, tp.engine, credentials, permission)
    principal, record_use = admit(tp.loop_engine, tp.engine, credentials, permission)
    if record_use is not None:
        await run_in_threadpool(record_use)
    return principal


def count_request(request: Request, principal: Principal) -> None:
    """Count a request against its caller's rate (429 past it, api/limits.py). A browser key is
    public, so every visitor's address has its own bucket: one busy (or hostile) client cannot
    spend the whole site's allowance."""
    caller = principal.id
    if principal.origin is not None:
        caller += "@" + (request.client.host if request.client else "-")
    check_rate(request, caller)


def allowed(permission: str) -> Any:
    """The dependency an operation declares to say what it needs: it answers 401 without valid
    credentials and 403 when the caller's role lacks `permission` (domain.access), and gives the
    operation the Principal. The permission is kept on the dependency, so the route table says
    what each operation needs (a test walks it)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error
    found = _checks.get(permission)
    if found is None:

        async def check(
            request: Request, tp: TouchpointDep, _bearer: BearerScheme, _basic: BasicScheme
        ) -> Principal:
            principal = await let_in(tp, presented(request), permission)
            request.state.principal = principal  # the access line names who asked
            count_request(request, principal)  # 429 past the caller's rate
            return principal

        check.permission = permission  # type: ignore[attr-defined]
        found = _checks[permission] = check
    return Depends(found)


_checks: dict[str, Callable[..., Awaitable[Principal]]] = {}

IngestKey = Annotated[Principal, allowed("interactions.write")]


def permission_of(route: Any) -> str | None:
    """The permission an operation (an APIRoute, or a route context of an included router)
    declares — through `allowed`, or Segment's own check — or None if it declares none."""
    root = getattr(route, "dependant", None)
    pending = list(root.dependencies) if root is not None else []
    while pending:
        dependant = pending.pop()
        found = getattr(dependant.call, "permission", None)
        if isinstance(found, str):
            return found
        pending.extend(dependant.dependencies)
    return None


def operations(app: FastAPI) -> list[tuple[str, str, str | None]]:
    """Every (method, path, permission) the app serves, included routers' routes too."""
    return sorted(
        (method, context.path, permission_of(context))
        for context in iter_route_contexts(app.routes)
        for method in (context.methods or ())
        if context.path is not None
    )


def describe_permissions(routes: list[BaseRoute]) -> None:
    """Say in each operation's OpenAPI description who may call it, from the one policy table
    (call it on a router's routes before the router is included)."""
    for route in routes:
        if isinstance(route, APIRoute) and (permission := permission_of(route)):
            who = ", ".join(roles_with(permission))
            route.description = (
                f"{route.description.rstrip()}\n\n**Who may call it**: {who} "
                f"(permission `{permission}`)."
            )
