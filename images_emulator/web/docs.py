"""`/docs` (Swagger UI) and `/redoc` with their scripts and styles served from installed packages: they
render with no network (FastAPI's own pages load them from a CDN).

The assets come from `fastapi-offline` (MIT), a maintained package that ships Swagger UI's and ReDoc's
distribution files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from images_emulator.contract.errors import ApiError

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/docs/assets/"
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
REDOC_BUNDLE = "redoc.standalone.js"
# The one address on another host in ReDoc's bundle: its footer's logo, replaced by an empty picture.
REDOC_LOGO = (b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E")
TITLE = "images-emulator"
CACHED = {"cache-control": "public, max-age=86400"}

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{TITLE} - Swagger UI",
        swagger_js_url=ASSET_PREFIX + "swagger-ui-bundle.js",
        swagger_css_url=ASSET_PREFIX + "swagger-ui.css",
        swagger_favicon_url=ASSET_PREFIX + "favicon.png",
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{TITLE} - ReDoc",
        redoc_js_url=ASSET_PREFIX + REDOC_BUNDLE,
        redoc_favicon_url=ASSET_PREFIX + "favicon.png",
        with_google_fonts=False,
    )


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """What browsers ask every page for (else a 404 in the journal)."""
    return FileResponse(ASSETS / "favicon.png", media_type="image/png", headers=CACHED)


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's script with nothing to fetch from another host (read once)."""
    return (ASSETS / REDOC_BUNDLE).read_bytes().replace(*REDOC_LOGO)


@router.get(ASSET_PREFIX + "{name}")
async def asset(request: Request) -> Response:
    name = request.path_params["name"]  # not a parameter: see api/openapi.path_parameter
    path = ASSETS / name
    if "/" in name or path.suffix not in ASSET_TYPES or not path.is_file():
        raise ApiError(404, f"No docs asset '{name}'.", code="not_found")
    if name == REDOC_BUNDLE:
        return Response(redoc_bundle(), media_type=ASSET_TYPES[path.suffix], headers=CACHED)
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers=CACHED)
