"""CORS for the paths a web page sends to — Segment's tracking API and the analytics.js settings
— answered by the origins of browser keys; no other path (reads, administration) ever gets a
CORS header, so no page elsewhere can read them with a visitor's browser.

A preflight carries no key (it is sent before the request that holds the key, in its body or
its Authorization header), so it is answered for an origin some live browser key allows. The
request itself is then answered for its own key's origins: its key check (api/segment.py) notes
what it decided with `note_origin`, and a page its key does not allow gets the 403 without
`Access-Control-Allow-Origin`, so it cannot read even that. An answer given before any key was
known (a bad body, an unknown key, a body too large) is readable by the pages a preflight would
let through, so the SDK can tell why.

Starlette's CORSMiddleware decides from a fixed list (or pattern) of origins before the app
runs; here the list depends on the key, known only once the body is read, so this is a small
ASGI piece of its own, following CORSMiddleware's header semantics (Vary: Origin, the preflight's
400 naming what was refused, Access-Control-Max-Age).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What SDKs send beyond the CORS-safelisted headers: analytics.js the write key in Basic auth and
# X-Retry-Count, gzip senders Content-Encoding, RudderStack's JavaScript SDK (v3) its
# AnonymousId, SentAt and, on a resend, its Rsa-* delivery headers.
ALLOWED_HEADERS = (
    "accept",
    "accept-language",
    "anonymousid",
    "authorization",
    "content-encoding",
    "content-language",
    "content-type",
    "rsa-recovered",
    "rsa-retry-attempt",
    "rsa-retry-reason",
    "rsa-since-first-attempt",
    "rsa-since-last-attempt",
    "sentat",
    "x-retry-count",
)
EXPOSED_HEADERS = "Retry-After"  # analytics.js reads it on a 429
MAX_AGE_SECONDS = 600  # how long a browser may reuse a preflight's answer
_STATE = "cors_origin"
_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def note_origin(request: Request, origin: str | None) -> None:
    """What the request's key decided about its page: `origin` allowed, or None: refused (or
    a key that is no browser key, which no page may use)."""
    request.state.cors_origin = origin


class IngestCors:
    """`method_for(path)`: the method pages may use on a path (None: no CORS there);
    `origin_known(origin)`: whether some live browser key allows it (a database read, run on
    the thread pool)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        method_for: Callable[[str], str | None],
        origin_known: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.method_for = method_for
        self.origin_known = origin_known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = self.method_for(scope["path"]) if scope["type"] == "http" else None
        headers = Headers(scope=scope) if method is not None else None
        origin = headers.get("origin") if headers is not None else None
        if headers is None or method is None or origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            response = await self.preflight(headers, origin, method)
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Vary"] = ", ".join([*out.getlist("Vary"), "Origin"])
                if await self.readable(state, origin):
                    out["Access-Control-Allow-Origin"] = origin
                    out["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            await send(message)

        await self.app(scope, receive, send_readable)

    async def preflight(self, headers: Headers, origin: str, method: str) -> PlainTextResponse:
        answer = {
            "Vary": _PREFLIGHT_VARY,
            "Access-Control-Allow-Methods": method,
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        }
        failures = []
        if await run_in_threadpool(self.origin_known, origin):
            answer["Access-Control-Allow-Origin"] = origin
        else:
            failures.append("origin")
        if headers["access-control-request-method"] != method:
            failures.append("method")
        requested = headers.get("access-control-request-headers", "")
        if any(h.strip().lower() not in ALLOWED_HEADERS for h in requested.split(",") if h.strip()):
            failures.append("headers")
        if failures:
            return PlainTextResponse(
                "Disallowed CORS " + ", ".join(failures), status_code=400, headers=answer
            )
        return PlainTextResponse("OK", headers=answer)

    async def readable(self, state: dict[str, object], origin: str) -> bool:
        """Whether the page at `origin` may read this answer."""
        if _STATE in state:
            return state[_STATE] == origin
        if state.get("principal") is not None:
            return False  # let in, but not as a browser key (e.g. a user's password)
        return await run_in_threadpool(self.origin_known, origin)
