"""The dashboard: `GET /__emulator/ui` (plain HTML, JS and CSS from this package, no CDN, no build
step), the `GET /` page that links to it, and the admin calls only it needs: the settings in force and
what each image request returned (harness/gallery.py, developed on demand by api/exhibits.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.from_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from images_emulator import __version__
from images_emulator.api.exhibits import develop, redrawn
from images_emulator.api.responses import JSONBody
from images_emulator.api.routes.files import fixture_source
from images_emulator.api.runtime import Runtime, get_runtime
from images_emulator.api.urls import URL_PREFIX, blob_key
from images_emulator.contract.errors import ApiError
from images_emulator.harness.gallery import Exhibit, Picture
from images_emulator.harness.shared_exhibits import share_uploads, shared, shared_upload
from images_emulator.imaging.pictures import url_image
from images_emulator.imaging.render import RenderSpec
from images_emulator.imaging.thumbnail import SVG

STATIC = Path(__file__).parent / "static"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
UI = "/__emulator/ui"
# Settings the dashboard shows; secrets (keys, the URL secret) never leave the server.
SHOWN_SETTINGS = (
    "api_date", "latency", "latency_scale", "rate_limit_rpm", "rate_limit_ipm", "fixtures", "journal_size",
    "store", "workers", "stream_interval_ms", "fault_retry_after", "fault_hold_seconds", "gallery_bytes",
    "cors_origins", "public_url", "log_format", "access_log",
)  # fmt: skip
PICTURE_HEADERS = {"cache-control": "private, max-age=3600", "content-security-policy": "default-src 'none'"}

router = APIRouter(include_in_schema=False)

HOME = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>images-emulator</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em; }}</style></head>
<body><h1>images-emulator {__version__}</h1>
<p>A local emulator of the OpenAI Images API. Point an SDK at <code>/v1</code>.</p>
<ul><li><a href="{UI}">Dashboard</a>: the requests, their images, faults and settings</li>
<li><a href="/docs">API docs</a> (Swagger UI) and <a href="/redoc">ReDoc</a></li>
<li><a href="/health">Health</a></li></ul></body></html>
"""


@router.api_route("/", methods=["GET", "HEAD"])  # HEAD: a load balancer's probe of the root
async def home() -> HTMLResponse:
    return HTMLResponse(HOME)


@router.api_route(UI, methods=["GET", "HEAD"])
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", media_type="text/html; charset=utf-8",
                        headers={"cache-control": "no-cache"})  # fmt: skip


@router.get(UI + "/{name}")
async def dashboard_asset(request: Request) -> FileResponse:
    name = request.path_params["name"]
    path = STATIC / name
    if "/" in name or path.suffix not in ASSET_TYPES or not path.is_file():
        raise ApiError(404, f"No dashboard asset '{name}'.", code="not_found")
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers={"cache-control": "no-cache"})


def shown_settings(settings: Any) -> dict[str, Any]:
    values = {name: getattr(settings, name, None) for name in SHOWN_SETTINGS}
    values["fixtures"] = str(values["fixtures"]) if values["fixtures"] is not None else None
    values["store"] = values["store"] or "memory"
    values["api_key"] = "required" if getattr(settings, "api_key", None) else "any bearer key"
    return values


@router.get("/__emulator/settings")
async def settings_in_force(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONBody:
    """The settings in force (no secrets), the version and the gallery's use, for the dashboard."""
    fixtures = runtime.harness.fixtures
    return JSONBody(
        {
            "version": __version__,
            "settings": shown_settings(request.app.settings),
            "fixture_rules": len(fixtures.rules) if fixtures is not None else 0,
            "gallery": {"bytes": runtime.gallery.size, "max_bytes": runtime.gallery.max_bytes},
        }
    )


def url_resolver(runtime: Runtime) -> Any:
    """The image behind an image URL this server issued, from a worker thread (None when it can't tell)."""

    def resolve(url: str) -> bytes | None:
        path = urlsplit(url).path
        if URL_PREFIX not in path:
            return None
        token = path.rsplit(URL_PREFIX, 1)[1].rpartition(".")[0]
        try:
            spec = RenderSpec(**runtime.signer.verify(token))
        except (ApiError, TypeError):
            return None
        data = url_image(runtime.cache, spec, fixture_source(runtime, spec))
        if data is None:
            data = anyio.from_thread.run(runtime.harness.store.blob_get, blob_key(spec))
        return data

    return resolve


async def from_journal(request_id: str, runtime: Runtime) -> Exhibit | None:
    """A generation another worker answered, drawn again here from its journal entry."""
    harness = runtime.harness
    entry = next((e for e in await harness.journal.entries() if e["id"] == request_id), None)
    if entry is None:
        return None
    return await run_in_threadpool(redrawn, entry, runtime.catalog(), runtime.cache, harness.fixtures)


async def developed(request_id: str, runtime: Runtime) -> Exhibit:
    gallery = runtime.gallery
    exhibit = gallery.get(request_id)
    if exhibit is None and gallery.enabled:
        exhibit = await from_journal(request_id, runtime)
        if exhibit is None:
            exhibit = await runtime.harness.best_effort(shared(runtime.harness.store, request_id), None)
        if exhibit is not None:
            gallery.keep(request_id, exhibit)
    if exhibit is None:
        raise ApiError(
            404,
            f"No images kept for request '{request_id}': it returned none, was dropped from the gallery "
            "(--gallery-bytes), or was an edit or variation another worker answered more than 10 minutes ago.",
            code="exhibit_not_found",
        )
    if not exhibit.developed:
        had_uploads = bool(exhibit.uploads)
        exhibit = await run_in_threadpool(develop, exhibit, url_resolver(runtime))
        gallery.replace(request_id, exhibit)
        if had_uploads:  # before this page lists them: its thumbnails may be asked of another worker
            harness = runtime.harness
            await harness.best_effort(share_uploads(harness.store, request_id, exhibit.pictures), None)
    return exhibit


def picture_urls(request_id: str, index: int) -> dict[str, str]:
    base = f"/__emulator/requests/{request_id}"
    return {"thumbnail": f"{base}/thumbnails/{index}", "image": f"{base}/pictures/{index}"}


# Path values come from `request.path_params` (see api/openapi.path_parameter).
@router.get("/__emulator/requests/{request_id}/exhibit")
async def exhibit(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONBody:
    """What an image request returned (the response without its base64) and its images and uploads."""
    request_id = request.path_params["request_id"]
    shown = await developed(request_id, runtime)
    pictures = [{**p.meta(), **picture_urls(request_id, i)} for i, p in enumerate(shown.pictures)]
    return JSONBody({"id": request_id, "response": shown.response, "pictures": pictures})


async def picture_of(request: Request, runtime: Runtime) -> Picture:
    request_id: str = request.path_params["request_id"]
    index: int = request.path_params["index"]
    pictures = (await developed(request_id, runtime)).pictures
    if 0 <= index < len(pictures):
        return pictures[index]
    harness = runtime.harness
    upload = await harness.best_effort(shared_upload(harness.store, request_id, index), None)
    if upload is None:
        raise ApiError(404, f"Request '{request_id}' has no picture {index}.", code="picture_not_found")
    return upload


@router.get("/__emulator/requests/{request_id}/pictures/{index:int}")
async def full_picture(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    shown = await picture_of(request, runtime)
    return Response(shown.data, media_type=shown.media_type, headers=PICTURE_HEADERS)


@router.get("/__emulator/requests/{request_id}/thumbnails/{index:int}")
async def thumbnail(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    shown = await picture_of(request, runtime)
    media_type = SVG if shown.media_type == SVG else "image/webp"
    return Response(shown.thumbnail, media_type=media_type, headers=PICTURE_HEADERS)
