"""The per-request facts the server, the harness and the journal share: one typed object per request."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from images_emulator.contract.azure import AzureCall

STATE_KEY = "images_emulator.context"  # where it lives in the ASGI scope's "state"


@dataclass
class RequestContext:
    """Made by the server for each HTTP request (request id), filled in as the request goes."""

    request_id: str
    headers: Mapping[str, str] = field(default_factory=dict)  # by lower-case name (header_map)
    session: str | None = None  # the harness session the request belongs to
    api_key: str = ""  # the bearer key: what rate limits count per
    fault: str | None = None  # the fault the harness applied, for the journal
    body: Any = None  # the JSON body the endpoint parsed (the journal summarizes it: no second parse)
    body_summary: Any = None  # that summary, when the endpoint already had it (a body seen before)
    azure: AzureCall | None = None  # set on Azure's paths (/openai/...)
    uploads: tuple[Any, ...] = ()  # the decoded images (PIL) an edit or variation was given, for the dashboard
    body_arrived: bool = False  # the whole body was in when the app began: reading it keeps no deadline


# `req_` + 32 hex digits like OpenAI's: 16 random per process, then a counter (cheaper than uuid4).
_PROCESS = ""
_COUNTER = itertools.count()


def _new_process() -> None:
    """A fresh prefix and counter for this process (again in each forked worker: ids never repeat)."""
    global _PROCESS, _COUNTER
    _PROCESS = os.urandom(8).hex()
    _COUNTER = itertools.count(int.from_bytes(os.urandom(4), "big"))


_new_process()
os.register_at_fork(after_in_child=_new_process)


def new_request_id() -> str:
    return f"req_{_PROCESS}{next(_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> Mapping[str, str]:
    """An ASGI scope's headers by lower-case name, the first of a repeated one winning (as Starlette's
    `Headers.get`); built once per request, so every lookup after is a dict lookup. Read-only: a
    client repeating its headers gets the same mapping back."""
    return _header_map(tuple(raw))


@functools.lru_cache(maxsize=256)
def _header_map(raw: tuple[tuple[bytes, bytes], ...]) -> Mapping[str, str]:
    return MappingProxyType({name.decode("latin-1").lower(): value.decode("latin-1") for name, value in reversed(raw)})


def new_context(scope: MutableMapping[str, Any]) -> RequestContext:
    """A new request's context, kept in its scope."""
    context = RequestContext(new_request_id(), header_map(scope.get("headers", ())))
    scope.setdefault("state", {})[STATE_KEY] = context
    return context


def request_context(scope: MutableMapping[str, Any]) -> RequestContext:
    """The context of the request `scope` belongs to (made on first use, e.g. by an in-process test)."""
    context = scope.get("state", {}).get(STATE_KEY)
    return context if context is not None else new_context(scope)
