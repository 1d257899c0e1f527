"""The web app as a sub-application the API's app mounts at /app: its pages, its static files
(htmx vendored in the package, Plotly's JavaScript from the installed `plotly` package) and its
errors as pages — a browser with no session goes to the login form, a script's refused Basic
credentials get a Basic challenge."""

from __future__ import annotations

import functools
import gzip
import hashlib
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from touchpoint.errors import TouchpointError
from touchpoint.runtime import Touchpoint
from touchpoint.web import (
    admin,
    audit,
    automation,
    campaigns,
    center,
    customers,
    login,
    loyalty,
    overview,
    pages,
    reports,
    scores,
    surveys,
    tickets,
    workforce,
)
from touchpoint.web import session as sessions
from touchpoint.web.auth import REALM, SignInNeeded, asks_for_basic
from touchpoint.web.render import STATIC, page

PREFIX = "/app"
CACHE = "public, max-age=86400"


def create_web_app(tp: Touchpoint) -> FastAPI:
    """The pages over an open Touchpoint, to mount at PREFIX (no OpenAPI: they are not an API)."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    web.state.touchpoint = tp
    web.state.sessions = sessions.serializer(tp.settings)
    web.state.failed_sign_ins = sessions.FailedSignIns()
    web.include_router(login.router)
    web.include_router(pages.router)
    web.include_router(customers.router)
    web.include_router(overview.router)
    web.include_router(tickets.router)
    web.include_router(reports.router)
    web.include_router(center.router)
    web.include_router(automation.router)
    web.include_router(scores.router)
    web.include_router(surveys.router)
    web.include_router(loyalty.router)
    web.include_router(campaigns.router)
    web.include_router(workforce.router)
    web.include_router(audit.router)
    web.include_router(admin.router)
    web.add_api_route("/static/plotly.min.js", plotly_js, methods=["GET"])
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    web.add_exception_handler(TouchpointError, _error_page)  # type: ignore[arg-type]
    return web


@functools.cache
def _plotly() -> tuple[bytes, bytes, str]:
    from plotly.offline import get_plotlyjs

    body = get_plotlyjs().encode()
    # Compressed once (4.8 MB to about 1.4): every page with a chart loads it.
    return body, gzip.compress(body, 6), '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def plotly_js(request: Request) -> Response:
    """Plotly's bundle as the installed package ships it (gzipped for a browser that takes
    it); a browser that has it is told so."""
    body, packed, etag = _plotly()
    headers = {"ETag": etag, "Cache-Control": CACHE, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        body = packed
    return Response(body, media_type="text/javascript", headers=headers)


async def _error_page(request: Request, exc: TouchpointError) -> Response:
    if isinstance(exc, SignInNeeded):
        return _to_login(request)
    headers = None
    if asks_for_basic(exc):
        headers = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
    who = getattr(request.state, "principal", None)
    return page(
        request,
        "error.html",
        who,
        status_code=exc.status_code,
        headers=headers,
        status=exc.status_code,
        message=str(exc),
    )


def _to_login(request: Request) -> Response:
    """The login form, then back to the page asked for (htmx is told to load it whole)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or request.headers.get("hx-request"):
        target = request.headers.get("hx-current-url", "") or PREFIX + "/"
        target = "/" + target.split("/", 3)[-1] if "://" in target else target
    where = f"{PREFIX}/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": where})
    return RedirectResponse(where, status_code=303)
