"""The per-request facts the server, the harness and the journal share: one typed object per request."""

from __future__ import annotations

import itertools
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

STATE_KEY = "images_emulator.context"  # where it lives in the ASGI scope's "state"


@dataclass
class RequestContext:
    """Made by the server for each HTTP request (request id), filled in as the request goes."""

    request_id: str
    session: str | None = None  # the harness session the request belongs to
    api_key: str = ""  # the bearer key: what rate limits count per
    fault: str | None = None  # the fault the harness applied, for the journal
    body: Any = None  # the JSON body the endpoint parsed (the journal summarizes it: no second parse)


# `req_` + 32 hex digits like OpenAI's: 16 random per process, then a counter (cheaper than uuid4).
_PROCESS = os.urandom(8).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(4), "big"))


def new_request_id() -> str:
    return f"req_{_PROCESS}{next(_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


def request_context(scope: MutableMapping[str, Any]) -> RequestContext:
    """The context of the request `scope` belongs to (made on first use, e.g. by an in-process test)."""
    state = scope.setdefault("state", {})
    context = state.get(STATE_KEY)
    if context is None:
        context = state[STATE_KEY] = RequestContext(new_request_id())
    return context  # type: ignore[no-any-return]
