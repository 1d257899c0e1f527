"""The API's documentation pages, working offline: Swagger UI (`/docs`) and ReDoc (`/redoc`) load
their JavaScript and CSS from the installed `fastapi-offline` package, not from a CDN."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from touchpoint.errors import NotFound

ASSETS_URL = "/docs/assets"
ASSETS = {  # the files fastapi-offline ships in its `static` folder
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# ReDoc's sidebar always shows Redocly's logo from their CDN; images from elsewhere are refused
# (the logo hides itself when it fails), so the pages ask for nothing outside this server.
IMAGES_FROM_HERE_ONLY = {"Content-Security-Policy": "img-src 'self' data:"}


def add_docs(app: FastAPI) -> None:
    """Serve `/docs`, `/redoc` and their assets; the app must be made with `docs_url=None,
    redoc_url=None` (FastAPI's own pages point at a CDN)."""

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    def docs_asset(name: str, request: Request) -> Response:
        return _asset_response(name, request.headers.get("if-none-match"))

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # No validator badge: it would send the document's URL to a third-party server.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        page.headers.update(IMAGES_FROM_HERE_ONLY)
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(IMAGES_FROM_HERE_ONLY)
        return page


def _asset_response(name: str, if_none_match: str | None) -> Response:
    """A plain response, not Starlette's FileResponse: the body-limit middleware replays the
    request and then reports a disconnect, which cancels a streamed file mid-way (empty body)."""
    if name not in ASSETS:
        raise NotFound(f"no docs asset {name!r}")
    content, etag = _asset(name)
    headers = {"ETag": etag}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=ASSETS[name], headers=headers)


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> tuple[bytes, str]:
    """The file's bytes (read once: about 2.8 MB in all) and an ETag from their hash."""
    content = (files("fastapi_offline") / "static" / name).read_bytes()
    return content, f'"{hashlib.sha256(content).hexdigest()[:32]}"'


def _root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")
