"""create_app(settings): routers, middleware and error handlers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .errors import ApiError, invalid_url, method_not_allowed, server_error
from .middleware import AuthMiddleware, HarnessMiddleware, OpenAIHeadersMiddleware
from .routes import admin, edits, files, generations, health, variations
from .runtime import Runtime
from .schemas import add_components
from .settings import Settings

log = logging.getLogger("emulator")

EXPOSED_HEADERS = [
    "x-request-id",
    "openai-processing-ms",
    "openai-version",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    *(f"x-ratelimit-{what}-{unit}" for what in ("limit", "remaining", "reset") for unit in ("requests", "images")),
]


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response(method_not_allowed(request.method, request.url.path))
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


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(server_error(request.scope.get("state", {}).get("request_id", "")))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app. Without `settings`, they are read from EMULATOR_* env vars.

    Raises FixturesError when the fixtures directory is unusable.
    """
    settings = settings or Settings()
    app = FastAPI(
        title="images-emulator",
        version=__version__,
        description="Local emulator of the OpenAI Images API.",
    )
    app.state.runtime = runtime = Runtime.from_settings(settings)
    for router in (health.router, generations.router, edits.router, variations.router, files.router, admin.router):
        app.include_router(router)

    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)

    app.add_middleware(AuthMiddleware, api_key=settings.api_key)
    app.add_middleware(HarnessMiddleware, runtime=runtime)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    app.add_middleware(OpenAIHeadersMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = add_components(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
