"""Harness sessions: how a request, and an admin call, say which test they belong to.

A request carries its session in the `X-Emulator-Session` header or in its path:
`/__emulator/sessions/<id>/v1/...` is `/v1/...` tagged with session <id>, a base URL for clients that
cannot add headers (`/__emulator/sessions/<id>/openai/...` likewise for Azure's paths). Admin calls take
`?session=<id>` or the same header.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from urllib.parse import unquote

from images_emulator.contract.errors import ApiError

SESSION_HEADER = "x-emulator-session"
SESSION_PREFIX = "/__emulator/sessions/"
# The one rule for a session id, wherever it is given (in a path, percent-encoded: `/` too): 1 to 128
# characters, none a control character (C0, DEL, C1) or a line/paragraph separator, and not `.` or `..`
# (a URL parser takes those for the current and parent path segments, even percent-encoded).
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_ANY, _NOT_DOT = f"[^{_CONTROL}]", f"[^.{_CONTROL}]"
SESSION_MAX = 128
SESSION_FORM = f"{_NOT_DOT}|{_NOT_DOT}{_ANY}|{_ANY}{_NOT_DOT}|{_ANY}{{3,}}"  # the length bound apart
SESSION_ID = re.compile(f"(?=.{{1,{SESSION_MAX}}}$)(?:{SESSION_FORM})", re.S)
API_PREFIX = "/v1/"
AZURE_PREFIX = "/openai/"  # Azure OpenAI's paths (api/routes/azure.py)


def checked_session(value: str) -> str:
    """`value` when it is a session id (SESSION_ID), else the 400 `invalid_session`."""
    if SESSION_ID.fullmatch(value):
        return value
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ApiError(
        400,
        f"Invalid session id {shown!r}: a session id is 1 to 128 characters, none of them a control character, "
        "and not '.' or '..' (in a path, percent-encoded).",
        param="session",
        code="invalid_session",
    )


def split_session_path(path: str, raw_path: bytes | None = None) -> tuple[str | None, str]:
    """(`id`, `/v1/rest`) for `/__emulator/sessions/<id>/v1/rest` (or `/openai/rest`); (None, path) otherwise;
    400 for such a path with an invalid id. The id is cut from `raw_path` when given (so a `%2F` in it is not a
    separator), then percent-decoded."""
    raw = raw_path.decode("latin-1") if raw_path is not None else path
    if raw.startswith(SESSION_PREFIX):
        segment, _, rest = raw[len(SESSION_PREFIX) :].partition("/")
        session, rest = unquote(segment), "/" + unquote(rest)
        if rest.startswith((API_PREFIX, AZURE_PREFIX)):
            return checked_session(session), rest
    return None, path


def header_session(headers: Mapping[str, str]) -> str | None:
    """The session of the `X-Emulator-Session` header (None when absent or empty); 400 when invalid."""
    value = headers.get(SESSION_HEADER) or None
    if value is not None and not value.isascii():  # ASGI gives header bytes as latin-1; clients send UTF-8
        with contextlib.suppress(UnicodeError):
            value = value.encode("latin-1").decode("utf-8")
    return checked_session(value) if value is not None else None


def session_of(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The session an admin call is scoped to (`?session=` or the header), or None for the whole server;
    400 for an invalid one (an empty `?session=` too: it would not scope the call)."""
    value = query.get("session")
    return header_session(headers) if value is None else checked_session(value)
