"""Reading request bodies: size limit, content type, and OpenAI's JSON parse errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from .errors import ApiError, invalid_json


def body_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body too large: the maximum accepted size is {limit} bytes.",
        code="request_too_large",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it grows past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body, or OpenAI's invalid-JSON / invalid-type error."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_json() from exc
    if not isinstance(document, dict):
        raise ApiError(
            400,
            "Invalid body: expected a JSON object at the top level of the request body.",
            code="invalid_type",
        )
    return document


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object; non-JSON content types are refused with a 400."""
    kind = media_type(request)
    if kind != "application/json" and not kind.endswith("+json"):
        shown = kind or "none"
        raise ApiError(
            400,
            f"Invalid Content-Type header ({shown}): this endpoint expects 'application/json'. "
            "Send the parameters as a JSON object with 'Content-Type: application/json'.",
            code="invalid_content_type",
        )
    return parse_json_object(await read_body(request, limit))
