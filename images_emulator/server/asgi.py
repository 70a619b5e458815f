"""The emulator's ASGI entry: what every HTTP request goes through, in one layer (each layer costs time).

For each request, in order:
1. a RequestContext (request id); on the response, OpenAI's headers (`x-request-id`, ...) and the
   answering process (`x-emulator-worker`);
2. its connection learns a request is in progress, and whether its body is already in (server/connections.py:
   the head deadline, and a body read without a deadline);
3. CORS (server/cors.py): a preflight is answered here, a foreign page refused on the admin surface;
4. the session prefix `/__emulator/sessions/<id>/...` comes off the path;
   the admin surface `/__emulator/...` needs the admin key and JSON writes (server/admin_auth.py);
5. the journal entry, for every request but the admin surface and the server's pages, with a
   bounded summary of the body made as it streams in;
6. `/v1/...` needs an API key; Azure's `/openai/...` its `api-key` or a bearer token (Azure's 401);
7. the image endpoints and /health run straight from a table (no router, no dependency solving),
   Azure's paths from api/routes/azure.py; anything else goes to the FastAPI app (admin, docs, image URLs).
Then: a body the answer did not wait for (a 413, a 401) is read and discarded before the answer's
last byte, up to `--max-body-bytes` (past that the connection is closed), so a client that sends its
whole body before reading gets the answer instead of a reset (not when the client waits for a
`100 Continue` it never got, nor after a 408 for a stalled body: then the connection closes after the
answer); the journal entry is finished before the last byte goes out (with the error's code and
param; an image answer's bytes go to the dashboard's gallery by reference), the request's log line
is written (server/logs.py); the connection is told the request is done as soon as that last byte is
sent (what it receives next is the next request's). Any unexpected exception becomes OpenAI's 500
with the usual headers, logged with its traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from images_emulator.api.exhibits import drawn_again
from images_emulator.api.responses import error_response
from images_emulator.api.routes.azure import azure_endpoint
from images_emulator.api.runtime import Runtime
from images_emulator.contract.azure import check_key
from images_emulator.contract.errors import ApiError, invalid_api_key, no_api_key, server_error, store_unavailable
from images_emulator.harness.body_capture import BodyCapture
from images_emulator.harness.context import RequestContext, new_context
from images_emulator.harness.gallery import Exhibit
from images_emulator.harness.journal import Entry, model_of, public_headers
from images_emulator.harness.redact import mask_text
from images_emulator.harness.sessions import API_PREFIX, AZURE_PREFIX, header_session, split_session_path
from images_emulator.harness.shared_exhibits import share as share_exhibit
from images_emulator.harness.store import StoreUnavailable
from images_emulator.server import admin_auth, cors, logs
from images_emulator.server.connections import OPENAI_VERSION, WORKER_HEADER, GuardedProtocol, connection_of

log = logging.getLogger("images_emulator")

# The paths the journal leaves out: the admin surface and the server's own pages.
UNJOURNALED = frozenset({"/__emulator", "/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/",
                         "/favicon.ico"})  # fmt: skip
ALLOWED_METHODS = ("GET", "POST", "DELETE", "HEAD", "OPTIONS")
CUT_WAIT_SECONDS = 1.0  # a `disconnect` fault's connection is gone by then (its unsent bytes are few)
SHUTTING_DOWN = ApiError(
    503,
    "The server is shutting down: this request was ended before it finished (a `timeout` fault's hold or "
    "simulated latency outlasted --graceful-seconds). Retry it.",
    type="server_error",
    code="server_shutting_down",
)

Endpoint = Callable[[Request, Runtime], Awaitable[Response]]


def journaled(path: str) -> bool:
    """Whether a request to `path` (its session prefix removed) is recorded: every request but those to
    `/__emulator/...`, `/health`, the home page and the API docs, including paths that do not exist (a
    misrouted client is what the journal shows best)."""
    return path not in UNJOURNALED and not path.startswith(("/__emulator/", "/docs/"))


def declared_body_length(headers: Mapping[str, str]) -> int | None:
    """The length a request's headers give its body: `content-length`, 0 without it, None when chunked."""
    if "transfer-encoding" in headers:
        return None
    declared = headers.get("content-length", "0")
    return int(declared) if declared.isdigit() else None


def bearer_key(authorization: str) -> str:
    """The key of an `Authorization: Bearer <key>` header value."""
    return authorization.partition(" ")[2].strip()


def caller_key(headers: Mapping[str, str]) -> str:
    """What rate limits count per: the bearer key, else Azure's `api-key` header."""
    return bearer_key(headers.get("authorization", "")) or headers.get("api-key", "").strip()


def check_api_key(authorization: str, expected: str | None) -> ApiError | None:
    """OpenAI's 401 unless `Authorization: Bearer <key>` carries a key (with `--api-key`, that key)."""
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return no_api_key()
    if expected is not None and key != expected:
        return invalid_api_key(key)
    return None


class EmulatorEntry:
    """The outermost ASGI app: the steps of the module docstring around the FastAPI app."""

    def __init__(
        self,
        app: ASGIApp,
        runtime: Runtime,
        endpoints: Mapping[tuple[str, str], Endpoint],
        *,
        api_key: str | None,
        cors_policy: cors.CorsPolicy,
        admin_key: str | None = None,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.endpoints = endpoints
        self.api_key = api_key
        self.admin_key = admin_key
        self.cors = cors_policy
        self.worker = str(os.getpid()).encode()
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = new_context(scope)
        connection = connection_of(scope)
        if connection is not None:
            context.body_arrived = connection.request_started(declared_body_length(context.headers))
        exchange = Exchange(self, scope, receive, send, context, connection)
        try:
            await exchange.run()
        finally:
            if connection is not None and exchange.cut_short():
                await connection.cut(CUT_WAIT_SECONDS)
            exchange.release()  # when the response never went out whole


class Exchange:
    """One request and its response through the entry."""

    def __init__(
        self,
        entry: EmulatorEntry,
        scope: Scope,
        receive: Receive,
        send: Send,
        context: RequestContext,
        connection: GuardedProtocol | None = None,
    ) -> None:
        self.entry = entry
        self.connection = connection  # told when the response is done (None in process)
        self.scope = scope
        self.raw_receive = receive
        self.raw_send = send
        self.context = context
        self.started = time.perf_counter()
        self.headers = context.headers
        self.origin = self.headers.get("origin")
        self.cors_allowed = False
        self.body_done = scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and not self.headers.get(
            "content-length"
        )
        self.response_started = False
        self.body_asked = False  # the app read (or began to read) the body: uvicorn said `100 Continue` if asked
        self.drain_body = True  # before the last byte, read what is left of a body the answer did not wait for
        self.entry_record: Entry | None = None
        self.capture: BodyCapture | None = None
        self.status: int | None = None
        self.content_type = b""
        self.error_body = b""  # the start of an error answer: its code and param, for the journal and the log
        self.image_endpoint = False
        self.answer_chunks: list[bytes] | None = None  # an image answer, by reference, for the gallery
        self.finished = False

    async def run(self) -> None:
        try:
            await self.route()
        except Exception as exc:  # a bug: logged with its traceback, answered as OpenAI's 500 if still possible
            log.exception("unexpected error", exc_info=exc)
            if not self.response_started:
                await self.answer(server_error(self.context.request_id))
        except asyncio.CancelledError:  # the server's graceful shutdown ran out while this one was held
            if not self.response_started:  # an answer in the envelope, not uvicorn's bare text 500
                await self.answer(SHUTTING_DOWN)
            else:
                raise
        finally:
            try:
                await self.finish()
            except Exception as exc:
                log.exception("could not finish the journal entry", exc_info=exc)
            # uvicorn's connection objects form a reference cycle that holds the scope until the garbage
            # collector runs, which a quiet server may not do for long: the parsed body must not ride along.
            self.context.body = None
            self.context.uploads = ()  # the gallery keeps its own reference, counted in its bound

    async def route(self) -> None:
        scope, headers, context = self.scope, self.headers, self.context
        original_path = scope["path"]
        try:
            session, path = split_session_path(original_path, scope.get("raw_path"))
        except ApiError as refused:
            await self.answer(refused)
            return
        if session is not None:
            scope["path"], scope["raw_path"] = path, path.encode()
        if self.origin is not None:
            self.cors_allowed = self.entry.cors.allows(scope["path"], self.origin, headers.get("host"))
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await self.preflight()
                return
            if not self.cors_allowed:
                await self.answer(ApiError(403, f"Requests from {self.origin} are not allowed here (CORS).",
                                           code="origin_not_allowed"))  # fmt: skip
                return
        if admin_auth.is_admin_path(path) and not cors.SESSION_API.match(original_path):
            error = admin_auth.check_admin_key(headers, self.entry.admin_key) or admin_auth.check_admin_write(
                scope["method"], headers
            )
            if error is not None:
                await self.answer(error)
                return
        try:
            context.session = session or header_session(headers)
        except ApiError as refused:
            await self.answer(refused)
            return
        context.api_key = caller_key(headers)
        harness = self.entry.runtime.harness
        if journaled(path) and harness.journal.size:
            self.entry_record = Entry(context.request_id, scope["method"], path, context.session,
                                      public_headers(scope["headers"]),
                                      mask_text(scope.get("query_string", b"").decode("latin-1")))  # fmt: skip
            self.capture = BodyCapture(headers.get("content-type", ""))
            harness.journal.arrive(self.entry_record)
        await self.dispatch(path)

    async def dispatch(self, path: str) -> None:
        if path.startswith(API_PREFIX) and self.scope["method"] != "OPTIONS":
            error = check_api_key(self.headers.get("authorization", ""), self.entry.api_key)
            if error is not None:
                await self.answer(error)
                return
        endpoint = self.entry.endpoints.get((self.scope["method"], path))
        if path.startswith(AZURE_PREFIX):
            endpoint = azure_endpoint
            if self.scope["method"] != "OPTIONS":
                headers = self.headers
                error = check_key(headers.get("api-key", ""), headers.get("authorization", ""), self.entry.api_key)
                if error is not None:
                    await self.answer(error)
                    return
        self.image_endpoint = endpoint is not None  # /health too, but never journaled: never kept
        if endpoint is None:
            await self.entry.app(self.scope, self.receive, self.send)
            return
        try:
            response = await endpoint(Request(self.scope, self.receive), self.entry.runtime)
        except ApiError as exc:
            response = error_response(exc)
        except StoreUnavailable as exc:
            response = error_response(store_unavailable(str(exc)))
        await response(self.scope, self.receive, self.send)

    async def answer(self, error: ApiError) -> None:
        await error_response(error)(self.scope, self.receive, self.send)

    async def preflight(self) -> None:
        if not self.cors_allowed:
            await self.answer(ApiError(400, f"Disallowed CORS origin {self.origin}.", code="origin_not_allowed"))
            return
        headers = [*cors.preflight_headers(self.origin or "", self.headers, ALLOWED_METHODS), (b"content-length", b"0")]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        await self.send({"type": "http.response.body", "body": b""})

    # --- the wrapped ASGI channel -------------------------------------------------------------------

    async def receive(self) -> Message:
        self.body_asked = True
        message = await self.raw_receive()
        if message["type"] == "http.request":
            if self.capture is not None:
                self.capture.feed(message.get("body", b""))
            if not message.get("more_body", False):
                self.body_done = True
        elif message["type"] == "http.disconnect":
            self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
            own = list(message.get("headers", []))
            present = {name.lower() for name, _ in own}
            extra = await self.extra_headers(present)
            if not self.body_done:
                # Nothing to wait for: a client waiting for `100 Continue` before it sends, or a body past its deadline.
                self.drain_body = not self.client_awaits_continue() and message["status"] != 408
                closes = not self.drain_body or self.body_longer_than_drain()  # the rest is not read: nothing follows
                if closes and b"connection" not in present:
                    extra.append((b"connection", b"close"))
            message = {**message, "headers": [*own, *extra]}
            self.status = message["status"]
            if self.entry_record is not None:
                self.entry_record.status = message["status"]
                if self.status == 200 and self.image_endpoint and self.entry.runtime.gallery.enabled:
                    self.answer_chunks = []
                    self.content_type = next((v for name, v in own if name.lower() == b"content-type"), b"")
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if self.answer_chunks is not None and chunk:
                self.answer_chunks.append(chunk)
            elif self.status is not None and self.status >= 400 and len(self.error_body) < logs.ERROR_PEEK:
                self.error_body += chunk[: logs.ERROR_PEEK - len(self.error_body)]
            if not message.get("more_body", False):
                if not self.body_done and self.drain_body:
                    await self.drain()  # before the last byte: a client still sending would get a reset
                await self.finish()  # before the last byte: a client that has its answer finds the entry
                await self.raw_send(message)
                self.release()  # at once: the connection's next bytes are the next request's
                return
        await self.raw_send(message)

    def release(self) -> None:
        """Tell the connection this request's response is done (once)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.response_done()

    def cut_short(self) -> bool:
        """The `disconnect` fault left this response unfinished, as asked."""
        return self.response_started and self.connection is not None and self.context.fault == "disconnect"

    def client_awaits_continue(self) -> bool:
        """Whether the client sent `Expect: 100-continue` and waits for it before sending the body, which it
        never got: the app answered without reading the body, and none of it has come."""
        return (
            self.headers.get("expect", "").lower() == "100-continue" and not self.body_asked
            and self.connection is not None and not self.connection.body_begun()
        )  # fmt: skip

    async def extra_headers(self, present: set[bytes]) -> list[tuple[bytes, bytes]]:
        """The headers every answer carries; rate-limit ones only where the answer (a 429) has none."""
        headers = [
            (b"x-request-id", self.context.request_id.encode()),
            (b"openai-processing-ms", str(int((time.perf_counter() - self.started) * 1000)).encode()),
            (b"openai-version", OPENAI_VERSION),
            (WORKER_HEADER.encode(), self.entry.worker),
        ]
        if self.origin is not None and self.cors_allowed and b"access-control-allow-origin" not in present:
            headers += cors.response_headers(self.origin)
        harness = self.entry.runtime.harness
        limited = harness.limiter.enabled and self.context.api_key and journaled(self.scope["path"])
        if limited and b"x-ratelimit-limit-requests" not in present:
            limits = await harness.best_effort(harness.limiter.headers(self.context.api_key), {})
            headers += [(name.encode(), value.encode()) for name, value in limits.items()]
        return headers

    async def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        code, param = logs.error_fields(self.error_body) if self.error_body else (None, None)
        record = self.entry_record
        model = model_of(self.context.body)
        if record is not None:
            summary = self.context.body_summary
            if summary is None and self.capture is not None:
                summary = self.capture.summary(self.context.body)
            if code is not None or param is not None:
                record.error = {"code": code, "param": param}
            record.finish(summary, self.context.fault)
            model = record.model
            harness = self.entry.runtime.harness
            if harness.journal.waits_to_finish:
                await harness.best_effort(harness.journal.finish(record), None)
            else:
                harness.journal.finished(record)
            if self.answer_chunks is not None:
                exhibit = Exhibit(self.content_type.decode("latin-1"), tuple(self.answer_chunks), self.context.uploads)
                gallery = self.entry.runtime.gallery
                gallery.keep(record.id, exhibit)
                if not drawn_again(record.path) and gallery.fits(exhibit):
                    await harness.best_effort(share_exhibit(harness.store, record.id, exhibit), None)
        if self.entry.access_log:
            self.log(model, code, param)

    def log(self, model: str | None, code: str | None, param: str | None) -> None:
        """The request's line in the server log (the admin surface and the server's pages: debug only)."""
        level = logging.INFO if self.entry_record is not None or journaled(self.scope["path"]) else logging.DEBUG
        if not logs.ACCESS.isEnabledFor(level):
            return
        fields = logs.request_fields(
            self.context.request_id, self.scope["method"], self.scope["path"], model=model, status=self.status,
            duration_ms=(time.perf_counter() - self.started) * 1000, code=code, param=param,
            fault=self.context.fault, session=self.context.session,
        )  # fmt: skip
        logs.log_request(fields, level)

    def body_longer_than_drain(self) -> bool:
        declared = self.headers.get("content-length", "")
        limit = self.entry.runtime.config.max_body_bytes
        return not declared.isdigit() or int(declared) > limit

    async def drain(self) -> None:
        """Read and discard what is left of a body the answer did not wait for (at most `--max-body-bytes`,
        within `--body-timeout-seconds`)."""
        budget = self.entry.runtime.config.max_body_bytes
        try:
            async with asyncio.timeout(self.entry.runtime.config.body_timeout_seconds):
                while not self.body_done and budget > 0:
                    message = await self.raw_receive()
                    if message["type"] == "http.disconnect":
                        break
                    budget -= len(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            pass
