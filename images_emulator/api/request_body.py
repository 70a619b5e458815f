"""Reading request bodies: size limit, time limit, content type, and OpenAI's JSON parse errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from starlette.requests import ClientDisconnect

from images_emulator.api.offload import offload
from images_emulator.contract.errors import ApiError, invalid_json, quote_list
from images_emulator.harness.context import request_context

T = TypeVar("T")
# A legitimate body has a handful of objects; more (up to a 32000-character prompt of braces) stays far
# below this, and a body of millions of tiny containers is refused before it is parsed.
MAX_JSON_CONTAINERS = 100_000
# The same for values: every one but the first follows a `,` or a `:`. A legitimate body has a few dozen
# (a 32,000-character prompt of commas is the most), while 16 MB of `"k":0,` builds a dict of 1.4 million
# keys, holding the GIL (and /health) for seconds.
MAX_JSON_SEPARATORS = 64_000
INLINE_PARSE_BYTES = 256 * 1024  # larger JSON bodies are parsed in the threadpool


def body_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body too large: the maximum accepted size is {limit} bytes.",
        code="request_too_large",
    )


def body_timeout(seconds: float) -> ApiError:
    """408; `connection: close` so that the server drops the stalled connection once it is answered."""
    return ApiError(
        408,
        f"Request timeout: the request body was not received within {seconds:g} seconds.",
        code="request_timeout",
        headers={"connection": "close"},
    )


def incomplete_body() -> ApiError:
    """The client closed the connection mid-body (nobody reads this answer; the journal records it)."""
    return ApiError(400, "The client closed the connection before sending the whole request body.")


def body_deadline(request: Request, timeout: float | None) -> float | None:
    """The deadline for reading `request`'s body: none when the whole body had already arrived (the
    server's connection counts what came after the head), which spares most requests a timer."""
    return None if request_context(request.scope).body_arrived else timeout


async def within(seconds: float | None, reading: Awaitable[T]) -> T:
    """`await reading`, refused with 408 after `seconds` (None: no limit) and 400 if the client goes away."""
    try:
        if seconds is None:
            return await reading
        async with asyncio.timeout(seconds):
            return await reading
    except TimeoutError:
        assert seconds is not None
        raise body_timeout(seconds) from None
    except ClientDisconnect:
        raise incomplete_body() from None


async def limited_stream(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, refusing (413) as soon as they add up past `limit` (or the declared length does)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        yield chunk


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The whole body: 413 past `limit` bytes, 408 when it takes longer than `timeout` seconds.

    Reads the ASGI messages directly (no stream generators): most bodies are one message.
    """
    declared = request_context(request.scope).headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)

    async def collect() -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    return await within(body_deadline(request, timeout), collect())


def media_type(request: Request) -> str:
    return request_context(request.scope).headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(kind: str) -> bool:
    """`application/json` or a `+json` media type."""
    return kind == "application/json" or kind.endswith("+json")


UPLOAD_HINT = "Send the image files and parameters as multipart/form-data fields."
JSON_HINT = "Send the parameters as a JSON object with 'Content-Type: application/json'."


def unsupported_content_type(kind: str, accepted: Sequence[str], hint: str = UPLOAD_HINT) -> ApiError:
    """The request is none of the body types the endpoint takes."""
    return ApiError(
        400,
        f"Invalid Content-Type header ({kind or 'none'}): this endpoint expects {quote_list(accepted, 'or')}. {hint}",
        code="invalid_content_type",
    )


def too_many_json(what: str) -> ApiError:
    """A body refused before parsing for its size in JSON terms (`what`: the bound it passed)."""
    return ApiError(
        400, f"Invalid body: more than {what}. The Images API takes a flat object of parameters.", code="invalid_value"
    )


def _not_json(constant: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity`, which Python's parser takes but are not JSON (RFC 8259)."""
    raise ValueError(f"{constant} is not a JSON value")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body, or OpenAI's invalid-JSON / invalid-type error."""
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_CONTAINERS:
        raise too_many_json(f"{MAX_JSON_CONTAINERS:,} JSON objects and arrays")
    if raw.count(b",") + raw.count(b":") > MAX_JSON_SEPARATORS:
        raise too_many_json(f"{MAX_JSON_SEPARATORS:,} JSON values")
    try:
        document = json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError; nesting too deep
        raise invalid_json() from exc
    if not isinstance(document, dict):
        raise ApiError(
            400,
            "Invalid body: expected a JSON object at the top level of the request body.",
            code="invalid_type",
        )
    return document


async def json_object(request: Request, raw: bytes) -> dict[str, Any]:
    """`raw` parsed (off the event loop when it is large), and kept for the journal's summary."""
    if len(raw) > INLINE_PARSE_BYTES:
        document = await offload(parse_json_object, raw)
    else:
        document = parse_json_object(raw)
    request_context(request.scope).body = document
    return document


async def read_json_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The request's body, unparsed; non-JSON content types are refused with a 400."""
    kind = media_type(request)
    if not is_json(kind):
        raise unsupported_content_type(kind, ("application/json",), JSON_HINT)
    return await read_body(request, limit, timeout)


async def read_json_object(request: Request, limit: int, timeout: float | None = None) -> dict[str, Any]:
    """The request's JSON object; non-JSON content types are refused with a 400."""
    return await json_object(request, await read_json_body(request, limit, timeout))
