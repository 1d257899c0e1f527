"""Segment's HTTP Tracking API (`/v1/track`, `/v1/batch`, …): a Segment SDK whose host points at
Touchpoint works unchanged. Messages are translated by `touchpoint.ingest.segment`. For web
pages: the short paths analytics.js posts to (`/v1/t`, `/v1/p`, … `/v1/b`), bodies sent as
`text/plain`, and the settings analytics.js fetches from its CDN (`/v1/projects/{key}/settings`);
CORS for these paths is `api/cors.py`'s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi import Path as UrlPath
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from touchpoint.api.cors import note_origin
from touchpoint.api.deps import TouchpointDep, count_request, let_in, presented
from touchpoint.api.schemas import Echoed, error_responses
from touchpoint.domain.reach import ReachTable
from touchpoint.errors import Forbidden, NotFound, ValidationError
from touchpoint.ingest.reach import load_reach_table
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.ingest.segment import (
    SegmentEventMap,
    load_event_map,
    segment_to_interaction,
    with_batch_defaults,
)
from touchpoint.ingest.values import json_value_error, loads
from touchpoint.runtime import Touchpoint
from touchpoint.services import identity_claims, keys
from touchpoint.services.access import Credentials, Principal
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection

router = APIRouter(prefix="/v1", tags=["segment"], responses=error_responses(401, 403, 413))


class SegmentPayloadError(ValidationError):
    """Segment answers 400 to a payload it cannot take, so SDKs drop it instead of retrying."""

    status_code = 400


class SegmentRejectionOut(BaseModel):
    index: int = Field(description="Position of the message in `batch` (0 for single calls)")
    reason: Echoed
    messageId: Echoed | None = None


class SegmentResultOut(BaseModel):
    success: bool = True
    accepted: int
    duplicates: int = Field(description="Messages whose messageId was already stored")
    rejected: list[SegmentRejectionOut] = Field(
        description="Messages refused one by one; the rest of the batch is stored"
    )


# --- dependencies -----------------------------------------------------------------------------


async def segment_body(request: Request) -> dict[str, Any]:
    """The JSON object posted (already inflated from gzip by the middleware)."""
    cached = getattr(request.state, "segment_body", None)
    if cached is not None:
        return dict(cached)
    try:
        body = loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise SegmentPayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SegmentPayloadError("body must be a JSON object")
    request.state.segment_body = body
    return dict(body)


async def require_segment_ingest(request: Request, tp: TouchpointDep) -> Principal:
    """A key that may record interactions, from the Authorization header (Basic: write key as
    user) or, only when no header is sent, from the body's `writeKey` as some Segment SDKs send
    it. A browser key must allow the page's origin; what it decided is noted for CORS."""
    credentials = presented(request)
    if "authorization" not in request.headers:
        try:
            key = (await segment_body(request)).get("writeKey")
        except SegmentPayloadError:
            key = None
        credentials = Credentials(
            secret=key if isinstance(key, str) and key else None, origin=credentials.origin
        )
    try:
        principal = await let_in(tp, credentials, _PERMISSION)
    except Forbidden:
        note_origin(request, None)  # refused: the page may not read the answer either
        raise
    note_origin(request, principal.origin)
    request.state.principal = principal
    count_request(request, principal)
    return principal


_PERMISSION = "interactions.write"
require_segment_ingest.permission = _PERMISSION  # type: ignore[attr-defined]


SegmentKey = Annotated[Principal, Depends(require_segment_ingest)]
SegmentBody = Annotated[dict[str, Any], Depends(segment_body)]


def event_map(settings: Settings) -> SegmentEventMap:
    """The event table, re-read only when the user's file changes."""
    path = settings.segment_events_file
    return _cached_event_map(path, _stamp(path))


@lru_cache(maxsize=8)
def _cached_event_map(path: Path | None, _stamp: tuple[int, int] | None) -> SegmentEventMap:
    return load_event_map(path)


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        stat = path.stat() if path else None
    except OSError:
        return None  # load_event_map reports the missing file
    return (stat.st_mtime_ns, stat.st_size) if stat else None


# --- endpoints --------------------------------------------------------------------------------


def _doc(example: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a body read by `segment_body` (so a bad one is a 400, as Segment answers):
    JSON, also when sent as `text/plain` (as analytics.js does, so a page needs no preflight)."""
    body = {"schema": {"type": "object"}, "example": example}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": body, "text/plain": body},
        },
        "responses": {"400": {"description": "Invalid payload: fix it, do not retry"}},
    }


_WHO = {"userId": "u-1", "messageId": "m-1", "timestamp": "2026-01-01T12:00:00Z"}


@router.post("/i", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/identify",
    response_model=SegmentResultOut,
    summary="Segment identify: who the user is, and their traits",
    openapi_extra=_doc({**_WHO, "traits": {"email": "ann@example.com", "firstName": "Ann"}}),
)
def identify(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """Who the user is: `userId`/`anonymousId` and identity traits (email, phone) resolve to one customer profile, and the other traits update it (the newest value of each trait wins). Stored as an `identify` interaction."""
    return _ingest_one(tp, key, "identify", body)


@router.post("/t", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/track",
    response_model=SegmentResultOut,
    summary="Segment track: an action the user took",
    openapi_extra=_doc(
        {**_WHO, "event": "Order Completed", "properties": {"revenue": 42.5, "currency": "EUR"}}
    ),
)
def track(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """An action the user took. Semantic events map to interaction types through the editable table (`Order Completed` → purchase with revenue, `Signed Up` → signup, …); other events are stored as custom interactions with their name. `context.campaign` (UTM) fills the attribution fields."""
    return _ingest_one(tp, key, "track", body)


@router.post("/p", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/page",
    response_model=SegmentResultOut,
    summary="Segment page: a web page view",
    openapi_extra=_doc({**_WHO, "name": "Pricing", "properties": {"path": "/pricing"}}),
)
def page(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """A web page view, stored as a page_view interaction (`context.campaign` fills attribution)."""
    return _ingest_one(tp, key, "page", body)


@router.post("/s", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/screen",
    response_model=SegmentResultOut,
    summary="Segment screen: a mobile app screen view",
    openapi_extra=_doc({**_WHO, "name": "Home"}),
)
def screen(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """A mobile app screen view, stored as a page_view interaction on the mobile_app channel."""
    return _ingest_one(tp, key, "screen", body)


@router.post("/a", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/alias",
    response_model=SegmentResultOut,
    summary="Segment alias: previousId and userId are the same person",
    openapi_extra=_doc({**_WHO, "previousId": "anon-7"}),
)
def alias(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """`previousId` and `userId` are the same person: their profiles merge (the older survives)."""
    return _ingest_one(tp, key, "alias", body)


@router.post("/g", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/group",
    response_model=SegmentResultOut,
    summary="Segment group: the user belongs to an account (stored as a custom interaction)",
    openapi_extra=_doc({**_WHO, "groupId": "acct-1", "traits": {"name": "Initech"}}),
)
def group(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """The user belongs to an account; stored as a custom interaction with the group's traits."""
    return _ingest_one(tp, key, "group", body)


@router.post("/b", response_model=SegmentResultOut, include_in_schema=False)
@router.post(
    "/batch",
    response_model=SegmentResultOut,
    summary="Segment batch: many calls at once (what server-side SDKs send)",
    openapi_extra=_doc(
        {
            "batch": [{**_WHO, "type": "track", "event": "Signed Up"}],
            "sentAt": "2026-01-01T12:00:01Z",
            "context": {"library": {"name": "analytics-python"}},
        }
    ),
)
def batch(tp: TouchpointDep, key: SegmentKey, body: SegmentBody) -> SegmentResultOut:
    """Many Segment calls at once, as server-side SDKs send them; each message is stored or rejected on its own (`messageId` is the idempotency key)."""
    messages = body.get("batch")
    if not isinstance(messages, list):
        raise SegmentPayloadError("batch: must be a list of messages")
    limit = tp.settings.max_batch_items
    if len(messages) > limit:
        raise SegmentPayloadError(f"batch: has {len(messages)} messages; at most {limit} allowed")
    shared = body.get("context")
    # Checked once here, so merging it under each message's own context stays shallow.
    why = json_value_error(shared) if isinstance(shared, dict) else None
    if why:
        raise SegmentPayloadError(f"context: {why}")
    reach = load_reach_table(tp.settings.reach_channels_file)
    signatures: dict[int, str | None] = {}
    rows = _translated(messages, body, event_map(tp.settings), datetime.now(UTC), reach, signatures)
    return _result(
        identity_claims.record_messages(tp, key, list(rows), signatures, keep_results=False)
    )


def _ingest_one(
    tp: Touchpoint, key: Principal, kind: str, body: dict[str, Any]
) -> SegmentResultOut:
    message = {**body, "type": kind}  # the endpoint names the call; Segment ignores `type` here
    try:
        raw = segment_to_interaction(
            message,
            event_map(tp.settings),
            received_at=datetime.now(UTC),
            reach=load_reach_table(tp.settings.reach_channels_file),
        )
    except ValidationError as exc:
        raise SegmentPayloadError(f"{kind}: {exc}") from None
    signature = {0: identity_claims.signature_of(message)}
    report = identity_claims.record_messages(tp, key, [(0, raw)], signature, keep_results=False)
    refused = report.rejected or report.conflicts  # a conflict: its messageId has other content
    if refused:
        raise SegmentPayloadError(f"{kind}: {refused[0].reason}")
    return _result(report)


def _translated(
    messages: list[Any],
    body: dict[str, Any],
    events: SegmentEventMap,
    received_at: datetime,
    reach: ReachTable | None = None,
    signatures: dict[int, str | None] | None = None,
) -> Iterator[tuple[int, dict[str, Any] | ItemResult]]:
    """Each message in the interaction shape, or its rejection in its place; each message's
    `context.user_hash` into `signatures`."""
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            yield index, ItemResult(index, "rejected", reason="each message must be a JSON object")
            continue
        message = with_batch_defaults(
            message, context=body.get("context"), sent_at=body.get("sentAt")
        )
        if signatures is not None:
            signatures[index] = identity_claims.signature_of(message)
        try:
            yield (
                index,
                segment_to_interaction(message, events, received_at=received_at, reach=reach),
            )
        except ValidationError as exc:
            message_id = message.get("messageId")
            message_id = message_id if isinstance(message_id, str) else None
            yield index, ItemResult(index, "rejected", message_id, reason=str(exc))


def _result(report: IngestReport) -> SegmentResultOut:
    """Segment's answer has no conflicts: a messageId stored with other content is listed with
    the rejected messages (its reason names the fields), since nothing of it was stored."""
    refused = sorted(report.rejected + report.conflicts, key=lambda r: r.position)
    return SegmentResultOut(
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=[
            SegmentRejectionOut(index=r.position, reason=r.reason or "rejected", messageId=r.id)
            for r in refused
        ],
    )


# --- analytics.js settings --------------------------------------------------------------------

WriteKey = Annotated[str, UrlPath(max_length=200, description="The browser key (write key)")]


@router.get(
    "/projects/{write_key}/settings",
    summary="analytics.js settings for a browser key (what Segment's CDN serves)",
    responses=error_responses(404),
)
def project_settings(request: Request, tp: TouchpointDep, write_key: WriteKey) -> dict[str, Any]:
    """The settings analytics.js (Segment's analytics-next) loads from `{cdnURL}/v1/projects/{writeKey}/settings`, so the standard snippet works with its CDN URL set to Touchpoint: send events to this server (`apiHost`, `protocol`), with no device-mode destinations, no middleware and no metrics. It holds nothing the page does not already hold (the write key, this server's address). Only a live browser key has settings; any other key, or none, is 404, and a page from an origin the key does not allow is 403."""
    with read_connection(tp.engine) as conn:
        try:
            keys.browser_key(conn, write_key, request.headers.get("origin"))
        except Forbidden:
            note_origin(request, None)
            raise
    note_origin(request, request.headers.get("origin"))
    return analytics_js_settings(write_key, host=request.url.netloc, scheme=request.url.scheme)


def analytics_js_settings(write_key: str, *, host: str, scheme: str) -> dict[str, Any]:
    """analytics-next's CDNSettings (its browser/settings.d.ts), sending everything to Touchpoint."""
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{host}/v1",
                "protocol": scheme,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
                "versionSettings": {"componentTypes": ["browser"]},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        # analytics.js would post its own usage counters to Segment (api.segment.io/v1/m).
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


# --- RudderStack's JavaScript SDK (v3) --------------------------------------------------------


@router.get("/sourceConfig/", include_in_schema=False, responses=error_responses(404))
@router.get(
    "/sourceConfig",
    responses=error_responses(404),
    summary="RudderStack JS SDK source config for a browser key (its configUrl)",
)
def rudder_source_config(
    request: Request, tp: TouchpointDep, writeKey: str | None = None
) -> dict[str, Any]:
    """What RudderStack's JavaScript SDK (`@rudderstack/analytics-js` v3) loads from `{configUrl}/sourceConfig/?writeKey=…` (also sent as Basic auth): a source with no device-mode destinations and the SDK's own error and metrics reporting off, so it sends only events, to its `dataPlaneUrl` (this server's `/v1/page`, `/v1/identify`, … which take its messages as Segment's). Only a live browser key has one (else 404); a page at an origin the key does not allow gets 403."""
    credentials = presented(request)
    key = writeKey or credentials.secret
    if not key or len(key) > 200:
        raise NotFound("no browser key with this write key")
    with read_connection(tp.engine) as conn:
        try:
            found = keys.browser_key(conn, key, request.headers.get("origin"))
        except Forbidden:
            note_origin(request, None)
            raise
    note_origin(request, request.headers.get("origin"))
    return rudder_source(found.id, found.name, key)


def rudder_source(key_id: str, name: str | None, write_key: str) -> dict[str, Any]:
    """The SDK's source config (its `SourceConfigResponse`): `source.id`, a `config` object
    and a `destinations` list are what it checks."""
    return {
        "isHosted": False,
        "source": {
            "id": key_id,
            "name": name or key_id,
            "writeKey": write_key,
            "enabled": True,
            "workspaceId": "touchpoint",
            "config": {
                "statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}
            },
            "destinations": [],
        },
    }


_INGEST_PATHS = frozenset(
    route.path for route in router.routes if isinstance(route, APIRoute) and "POST" in route.methods
)
_SETTINGS_PATH = re.compile(r"^/v1/projects/[^/]+/settings$")


def cors_method(path: str) -> str | None:
    """The method a web page may use on `path` across origins (api/cors.py), or None: Segment's
    ingest paths take POST, the settings GET; nothing else gets CORS."""
    if path in _INGEST_PATHS:
        return "POST"
    if path in ("/v1/sourceConfig", "/v1/sourceConfig/"):
        return "GET"
    return "GET" if _SETTINGS_PATH.match(path) else None
