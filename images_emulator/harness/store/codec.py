"""JSON text of the values a shared store keeps (journal entries: one per request, so it is worth orjson)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumpb(value: Any) -> bytes:
    """`value` as UTF-8 JSON; what orjson refuses (integers past 64 bits, from a client's body) goes through json."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value).encode()


def dumps(value: Any) -> str:
    """`value` as JSON text (see `dumpb`)."""
    return dumpb(value).decode()


def loads(text: str | bytes) -> Any:
    """JSON text as written by `dumps` (or by json: NaN and big integers parse too)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
