"""create_app(settings): routers, middleware and error handlers."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from images_emulator import __version__
from images_emulator.api.offload import when_idle
from images_emulator.api.openapi import complete_document
from images_emulator.api.responses import error_response
from images_emulator.api.routes import admin, edits, files, generations, health, variations
from images_emulator.api.runtime import ApiConfig, Runtime
from images_emulator.api.urls import UrlSigner
from images_emulator.contract.azure import parse_deployments
from images_emulator.contract.endpoints import EDITS, GENERATIONS, VARIATIONS
from images_emulator.contract.errors import ApiError, invalid_url, method_not_allowed, server_error, store_unavailable
from images_emulator.contract.tokenizer import get_encoding
from images_emulator.harness.context import request_context
from images_emulator.harness.fixtures import load_fixtures
from images_emulator.harness.gallery import Gallery
from images_emulator.harness.latency import parse_latency
from images_emulator.harness.state import Harness, HarnessConfig
from images_emulator.harness.store import StoreUnavailable, open_store
from images_emulator.imaging.cache import ImageCache
from images_emulator.server.asgi import EmulatorEntry, Endpoint
from images_emulator.server.collector import freeze_and_resume
from images_emulator.server.cors import CorsPolicy
from images_emulator.server.memory import trim_heap
from images_emulator.server.settings import Settings
from images_emulator.web import dashboard, docs

log = logging.getLogger("images_emulator")

# The endpoints the entry calls straight from this table, the image endpoints and the liveness probe (the
# FastAPI routes document them).
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("POST", GENERATIONS.path): generations.create_image,
    ("POST", EDITS.path): edits.create_image_edit,
    ("POST", VARIATIONS.path): variations.create_image_variation,
    ("GET", "/health"): health.health_state,
    ("HEAD", "/health"): health.health_state,  # the server leaves out the body of an answer to HEAD
}


class EmulatorApp(FastAPI):
    """FastAPI behind the emulator's entry (server/asgi.py: headers, CORS, journal, auth, the image
    endpoints). The entry comes first, before FastAPI's own call, so the image endpoints pay for
    no router, middleware stack or telemetry check; every other path goes on to FastAPI."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.entry: EmulatorEntry | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self.entry is None:
            self.entry = EmulatorEntry(
                super().__call__,
                self.state.runtime,
                ENDPOINTS,
                api_key=self.settings.api_key,
                cors_policy=CorsPolicy.from_setting(self.settings.cors_origins),
                admin_key=self.settings.admin_key_in_effect,
                access_log=self.settings.access_log,
            )
        scope["app"] = self
        await self.entry(scope, receive, send)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def allowed_methods(request: Request) -> str:
    """The `Allow` header of a 405: the methods of every route of the path (the router's own 405 lists
    only the first route's, and `/__emulator/faults` has one route per method)."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in request.app.state.flat_routes:
        if route.methods and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:  # with `Allow` (RFC 9110)
        error = method_not_allowed(request.method, request.url.path)
        return error_response(error, {"allow": allowed_methods(request)})
    if exc.status_code == 404:
        return error_response(invalid_url(request.method, request.url.path))
    return error_response(ApiError(exc.status_code, str(exc.detail)))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 never reaches a client: the first problem, as a 400 in OpenAI's envelope."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "Invalid request."}
    param = ".".join(str(p) for p in first["loc"][1:]) or None
    return error_response(
        ApiError(400, f"Invalid request: {first['msg']}", param=param, code="invalid_value")
    )


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """A harness call while the store is down: 503 in the envelope (image requests never get here)."""
    return error_response(store_unavailable(str(exc)))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug in a FastAPI route: OpenAI's 500 (starlette re-raises it after; the entry logs it, once)."""
    return error_response(server_error(request_context(request.scope).request_id))


# Threads that render, encode and decode (starlette's threadpool, anyio's default limiter): that work is
# CPU-bound, so more threads than about twice the cores add no throughput, only memory (each thread's
# malloc arena keeps its own peak: the 16-way soak ran 200 MiB higher with anyio's default of 40).
WORKER_THREADS = max(4, 2 * (os.cpu_count() or 1))
WARM_AFTER_SECONDS = 0.3  # after a worker's start, its tokenizer's tables are built (see lifespan)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    harness = app.state.runtime.harness
    store = harness.store
    await store.ping()  # an unreachable store stops the app at start (the CLI checks it before that)
    # The app's ~90k startup objects leave the collector (a full collection drops from ~30 ms to ~0), and
    # the command's paused collector restarts (server/collector.py).
    freeze_and_resume()
    when_idle(trim_heap)
    # The tokenizer's tables, built in the background (0.3-0.5 s of CPU) once the worker serves: not in
    # the way of its start (nor of its sibling's), and not on the first request that counts tokens (one
    # arriving meanwhile waits for them).
    loop = asyncio.get_running_loop()
    loop.call_later(WARM_AFTER_SECONDS, loop.run_in_executor, None, get_encoding)
    try:
        yield
    finally:
        await harness.best_effort(harness.journal.flush(), None)  # entries still buffered for a shared store
        await store.close()


def build_runtime(settings: Settings) -> Runtime:
    """The Runtime the flags describe. Raises FixturesError when --fixtures names a bad directory or file."""
    config = HarnessConfig(
        latency=parse_latency(settings.latency),
        latency_scale=settings.latency_scale,
        rate_limit_rpm=settings.rate_limit_rpm,
        rate_limit_ipm=settings.rate_limit_ipm,
        fault_retry_after=settings.fault_retry_after,
        fault_hold_seconds=settings.fault_hold_seconds,
    )
    store = open_store(settings.store or "memory", prefix=settings.store_prefix, blob_bytes=settings.cache_bytes)
    fixtures = load_fixtures(settings.fixtures) if settings.fixtures else None
    harness = Harness.over(store, config, journal_size=settings.journal_size, fixtures=fixtures)
    return Runtime(
        config=ApiConfig(
            max_body_bytes=settings.max_body_bytes,
            body_timeout_seconds=settings.body_timeout_seconds,
            public_url=settings.public_url,
            stream_interval_ms=settings.stream_interval_ms,
            azure_deployments=parse_deployments(settings.azure_deployments),
        ),
        cache=ImageCache(settings.cache_bytes),
        signer=UrlSigner(settings.url_secret or secrets.token_hex(32), settings.url_ttl_seconds),
        harness=harness,
        api_date=settings.fixed_api_date,
        gallery=Gallery(settings.gallery_bytes),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app. Without `settings`, they are read from EMULATOR_* env vars.

    Raises FixturesError when the fixtures directory is unusable.
    """
    settings = settings or Settings()
    app = EmulatorApp(
        settings,
        lifespan=lifespan,
        title="images-emulator",
        version=__version__,
        description="Local emulator of the OpenAI Images API.",
        docs_url=None,  # web/docs.py serves /docs and /redoc with their assets from the package (offline)
        redoc_url=None,
    )
    app.state.runtime = runtime = build_runtime(settings)
    routers = (health.router, generations.router, edits.router, variations.router, files.router, admin.router,
               dashboard.router, docs.router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    app.state.flat_routes = [
        route
        for route in [*app.router.routes, *(route for router in routers for route in router.routes)]
        if isinstance(route, Route)
    ]

    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = complete_document(document, runtime.catalog())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
