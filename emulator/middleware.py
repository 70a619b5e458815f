"""ASGI middleware: request ids and OpenAI's response headers, and bearer-key auth for /v1."""

from __future__ import annotations

import json
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, invalid_api_key, no_api_key

OPENAI_VERSION = "2020-10-01"
API_PREFIX = "/v1/"


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


async def send_api_error(send: Send, error: ApiError, extra_headers: dict[str, str] | None = None) -> None:
    """Answer `error` directly from ASGI (before routing)."""
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode(), v.encode()) for k, v in {**error.headers, **(extra_headers or {})}.items()
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class OpenAIHeadersMiddleware:
    """Gives every request an id (`scope["state"]["request_id"]`) and stamps OpenAI's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-request-id", request_id)
                headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
                headers["openai-version"] = OPENAI_VERSION
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AuthMiddleware:
    """`/v1/*` needs `Authorization: Bearer <key>`; with a configured key, that exact key."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX) and scope["method"] != "OPTIONS":
            error = self.check(Headers(scope=scope).get("authorization", ""))
            if error is not None:
                await send_api_error(send, error)
                return
        await self.app(scope, receive, send)

    def check(self, authorization: str) -> ApiError | None:
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return no_api_key()
        if self.api_key is not None and key != self.api_key:
            return invalid_api_key(key)
        return None
