"""ASGI middleware: request ids and OpenAI's response headers, bearer-key auth for /v1, and the test
harness's sessions, request journal and rate-limit headers."""

from __future__ import annotations

import json
import os
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from images_emulator.api.runtime import Runtime
from images_emulator.contract.errors import ApiError, invalid_api_key, no_api_key
from images_emulator.harness.body_capture import BodyCapture
from images_emulator.harness.context import STATE_KEY, RequestContext, new_request_id, request_context
from images_emulator.harness.journal import Entry, public_headers
from images_emulator.harness.sessions import API_PREFIX, SESSION_HEADER, split_session_path

OPENAI_VERSION = "2020-10-01"
WORKER_HEADER = "x-emulator-worker"  # the pid of the process that answered (tells `--workers` apart)


def bearer_key(authorization: str) -> str:
    """The key of an `Authorization: Bearer <key>` header value (rate limits count per key)."""
    return authorization.partition(" ")[2].strip()


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
    """Gives every request its RequestContext (with a request id) and stamps OpenAI's headers, and
    `x-emulator-worker` (the answering process's pid)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.worker = str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})[STATE_KEY] = RequestContext(request_id)
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-request-id", request_id)
                headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
                headers["openai-version"] = OPENAI_VERSION
                headers[WORKER_HEADER] = self.worker
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


class HarnessMiddleware:
    """For `/v1/*`: the session of the request (path prefix or header), its journal entry (with the body
    as the app reads it), and `x-ratelimit-*` headers on the response when rate limits are enabled."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session, path = split_session_path(scope["path"])
        if session is not None:
            scope["path"], scope["raw_path"] = path, path.encode()
        if not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        context = request_context(scope)
        context.session = session = session or headers.get(SESSION_HEADER) or None
        context.api_key = key = bearer_key(headers.get("authorization", ""))
        journal = self.runtime.harness.journal
        limiter = self.runtime.harness.limiter
        entry = Entry(context.request_id, scope["method"], path, session, public_headers(scope["headers"]))
        capture = BodyCapture(headers.get("content-type", "")) if journal.size else None
        harness = self.runtime.harness
        await harness.best_effort(journal.add(entry), None)

        async def receive_tee() -> Message:
            message = await receive()
            if capture is not None and message["type"] == "http.request":
                capture.feed(message.get("body", b""))
            return message

        async def finish() -> None:
            if entry.duration_ms is None:
                entry.finish(capture.summary() if capture is not None else None, context.fault)
                await harness.best_effort(journal.finish(entry), None)

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                if limiter.enabled and key:
                    response_headers = MutableHeaders(scope=message)
                    for name, value in (await harness.best_effort(limiter.headers(key), {})).items():
                        response_headers.setdefault(name, value)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await finish()
            await send(message)

        try:
            await self.app(scope, receive_tee, send_recorded)
        finally:
            await finish()
