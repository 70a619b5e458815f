"""Harness sessions: how a request, and an admin call, say which test they belong to.

A request carries its session in the `X-Emulator-Session` header or in its path:
`/__emulator/sessions/<id>/v1/...` is `/v1/...` tagged with session <id>, a base URL for clients that
cannot add headers (`/__emulator/sessions/<id>/openai/...` likewise for Azure's paths). Admin calls take
`?session=<id>` or the same header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SESSION_HEADER = "x-emulator-session"
SESSION_PREFIX = "/__emulator/sessions/"
SESSION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_PREFIX = "/v1/"
AZURE_PREFIX = "/openai/"  # Azure OpenAI's paths (api/routes/azure.py)


def split_session_path(path: str) -> tuple[str | None, str]:
    """(`id`, `/v1/rest`) for `/__emulator/sessions/<id>/v1/rest` (or `/openai/rest`); (None, path) otherwise."""
    if path.startswith(SESSION_PREFIX):
        session, _, rest = path[len(SESSION_PREFIX) :].partition("/")
        if SESSION_ID.fullmatch(session) and ("/" + rest).startswith((API_PREFIX, AZURE_PREFIX)):
            return session, "/" + rest
    return None, path


def session_of(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The session an admin call is scoped to (`?session=` or the header), or None for the whole server."""
    return query.get("session") or headers.get(SESSION_HEADER) or None
