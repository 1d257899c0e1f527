"""The FastAPI application: routers, error translation (in one place) and middleware."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from touchpoint import __version__
from touchpoint.api import (
    analytics,
    audit,
    contact_center,
    customers,
    decide,
    docs,
    identity,
    interactions,
    keys,
    lifecycle,
    models,
    outbound,
    playbooks,
    privacy,
    projections,
    scores,
    segment,
    segments,
    simulation,
    surveys,
    tickets,
    users,
    workforce,
)
from touchpoint.api.cors import IngestCors
from touchpoint.api.deps import api_key_bearer, describe_permissions, segment_basic
from touchpoint.api.limits import buckets_for
from touchpoint.api.middleware import AccessLog, BodyLimitAndGzip
from touchpoint.errors import AuthError, RateLimited, TouchpointError
from touchpoint.ingest.values import printable
from touchpoint.runtime import Touchpoint
from touchpoint.services import scheduler
from touchpoint.services.keys import allowed_by_some_browser_key
from touchpoint.store.engine import is_busy
from touchpoint.web.app import PREFIX as WEB_PREFIX
from touchpoint.web.app import create_web_app

RETRY_AFTER_DATABASE = 1  # seconds: a pool wait or a lock timed out; the next try may not

TAGS = [
    {"name": "interactions", "description": "Record interactions on any channel (ingest key)."},
    {"name": "customers", "description": "Find customers; one customer's 360 view (read key)."},
    {
        "name": "segment",
        "description": "The Segment HTTP tracking API, so Segment SDKs work unchanged: the write "
        "key is the Basic-auth user name (or send `Authorization: Bearer <ingest key>`); bodies "
        "may be gzipped; `messageId` is the idempotency key.",
    },
    {"name": "lifecycle", "description": "Customers per lifecycle stage (read key)."},
    {
        "name": "scores",
        "description": "Rule-based scores (lead, engagement…): models, a customer's breakdown.",
    },
    {
        "name": "contact center",
        "description": "Routing for a telephony or chat front end: offer contacts, agents' "
        "states, accept / decline / complete / abandon, the live picture.",
    },
    {
        "name": "tickets",
        "description": "Tickets (cases) with SLA clocks in business time: open, reply, status, "
        "assign, first-contact resolution.",
    },
    {
        "name": "segments",
        "description": "Saved segments (rules over traits, stage, consent, scores and behaviour) "
        "with live members; preview a rule's count; members over time.",
    },
    {"name": "keys", "description": "API keys: list, create, revoke, rotate (admin)."},
    {
        "name": "users",
        "description": "Users and their roles: list, create, change a role, set a password, "
        "disable (admin).",
    },
    {"name": "audit", "description": "Who read or changed what, and when (admin key)."},
    {"name": "privacy", "description": "One person's data: export it all, or erase it (admin)."},
    {
        "name": "identity",
        "description": "Merge protection's conflicts and merge records (read key); merging and "
        "unmerging customers by hand (admin key).",
    },
    {
        "name": "playbooks",
        "description": "Automation: playbooks, their runs, dry runs, pause and resume; the "
        "one-click unsubscribe their emails link to, surveys sent and the survey form (public: the "
        "signed link is the credential).",
    },
    {"name": "analytics", "description": "Funnel, cohorts, churn, CLV, attribution… (read key)."},
    {
        "name": "meta",
        "description": "Server health, and how far each projection has applied the log.",
    },
]


ROUTERS = (
    interactions.router,
    customers.router,
    decide.router,
    segment.router,
    lifecycle.router,
    analytics.router,
    projections.router,
    identity.router,
    keys.router,
    audit.router,
    users.router,
    privacy.router,
    contact_center.router,
    outbound.router,
    tickets.router,
    scores.router,
    segments.router,
    workforce.router,
    models.router,
    simulation.router,
    playbooks.router,
    playbooks.unsubscribe_router,
    surveys.router,
    surveys.link_router,
)
for _router in ROUTERS:  # once, at import: each operation's description names who may call it
    describe_permissions(_router.routes)


def create_app(tp: Touchpoint, *, background_jobs: bool = False) -> FastAPI:
    """The API over an open Touchpoint; `background_jobs` runs the scheduler (for `serve`): the
    projections catch up and tick in the background."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with scheduler.running(tp):
            yield

    app = FastAPI(
        lifespan=lifespan if background_jobs else None,
        title="Touchpoint",
        version=__version__,
        description="Customer lifecycle management for omnichannel contact centers. "
        "Ingest with an ingest key, read with a read key: `Authorization: Bearer <key>`.",
        openapi_tags=TAGS,
        docs_url=None,  # served by touchpoint.api.docs from an installed package, not a CDN
        redoc_url=None,
    )
    app.state.touchpoint = tp
    app.include_router(interactions.router)
    app.include_router(customers.router)
    app.include_router(decide.router)
    # Segment's key check is its own (it also takes the body's writeKey): declare its schemes here.
    app.include_router(
        segment.router, dependencies=[Security(api_key_bearer), Security(segment_basic)]
    )
    app.include_router(lifecycle.router)
    app.include_router(analytics.router)
    app.include_router(projections.router)
    app.include_router(identity.router)
    app.include_router(keys.router)
    app.include_router(audit.router)
    app.include_router(users.router)
    app.include_router(contact_center.router)
    app.include_router(outbound.router)
    app.include_router(tickets.router)
    app.include_router(models.router)
    app.include_router(scores.router)
    app.include_router(segments.router)
    app.include_router(workforce.router)
    app.include_router(simulation.router)
    app.include_router(privacy.router)
    app.include_router(playbooks.router)
    app.include_router(playbooks.unsubscribe_router)  # public: the signed link is the credential
    app.include_router(surveys.router)
    app.include_router(surveys.link_router)  # public: the signed link is the credential
    app.mount(WEB_PREFIX, create_web_app(tp))  # the web app's pages, on the same services
    app.add_exception_handler(TouchpointError, _touchpoint_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(SQLAlchemyError, _database_error)  # type: ignore[arg-type]
    app.state.rate_limits = buckets_for(tp.settings)
    app.add_middleware(
        BodyLimitAndGzip,
        max_body_bytes=tp.settings.max_body_bytes,
        body_timeout=tp.settings.body_timeout_seconds,
    )
    # Outside the body limit, so a page can read its 413 too; only Segment's paths get CORS.
    app.add_middleware(
        IngestCors,
        method_for=decide.cors_method,
        origin_known=partial(allowed_by_some_browser_key, tp.engine),
    )
    app.add_middleware(AccessLog)  # added last, so outermost: it sees every answer
    docs.add_docs(app)

    @app.get("/health", tags=["meta"], summary="Liveness check")
    def health() -> dict[str, str]:
        """Answers 200 with the version while the server runs; needs no key."""
        return {"status": "ok", "version": __version__}

    return app


async def _touchpoint_error(_request: Request, exc: TouchpointError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if type(exc) is AuthError else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    detail = printable(str(exc))
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


async def _database_error(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
    """The database was busy (the pool's wait ran out, SQLite stayed locked past its busy
    timeout): 503 with Retry-After, never a 500; any other database error is a fault and stays
    one."""
    if not is_busy(exc):
        raise exc
    return JSONResponse(
        {"detail": "the database is busy; retry shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_DATABASE)},
    )


async def _request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """The request's shape is wrong: each error's place, message and type (RequestErrorOut).
    Rendered so that it cannot fail: the input is not echoed (it may be text that is not UTF-8,
    a NaN JSON cannot carry, or nested too deep to encode, and it is the client's own data), and
    every text is made printable."""
    detail = [
        {
            "loc": [p if isinstance(p, int) else printable(str(p)) for p in error.get("loc", ())],
            "msg": printable(str(error.get("msg", ""))),
            "type": printable(str(error.get("type", ""))),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own errors (404, 405) as JSON. A 405's Allow lists every method the path
    takes, as the OpenAPI document has them: Starlette names only the first route matching the
    path, so GET and POST /v1/keys (two routes) answered an OPTIONS with `Allow: GET`."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        path = request.url.path
        methods = {
            method.upper()
            for template, operations in request.app.openapi().get("paths", {}).items()
            if compile_path(template)[0].match(path)
            for method in operations
        }
        if methods:
            headers["Allow"] = ", ".join(sorted(methods))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
