"""The request journal: the last `journal_size` requests, oldest first, in the harness's store.

An entry is added when a request arrives (`status` and `duration_ms` are null while it is in flight)
and completed just before the last byte of its response is sent, so a client that has its answer
always finds the finished entry, whichever worker or replica it asks.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

from images_emulator.harness.redact import mask_header
from images_emulator.harness.store import Backend

LOG = "journal"


def iso_now() -> str:
    """The current UTC time as `2026-11-19T12:00:00.000Z`."""
    now = time.time()
    second = int(now)
    return f"{_iso_second(second)}.{int((now - second) * 1000):03d}Z"


@functools.lru_cache(maxsize=2)
def _iso_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def public_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers by lower-case name, with every credential masked (harness/redact.py).

    A client repeating its headers gets the same dict back: journal entries share it, and never change it.
    """
    return _public_headers(tuple(raw))


@functools.lru_cache(maxsize=256)
def _public_headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = mask_header(name, value.decode("latin-1"))
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return headers


def model_of(body: Any) -> str | None:
    """The `model` a request body (its journal summary) names, if any."""
    model = body.get("model") if isinstance(body, dict) else None
    return model[:200] if isinstance(model, str) else None


@dataclass
class Entry:
    id: str
    method: str
    path: str
    session: str | None
    headers: dict[str, str]
    query: str = ""  # the query string as sent (Azure's `api-version`)
    received_at: str = field(default_factory=iso_now)
    status: int | None = None
    body: Any = None
    fault: str | None = None
    duration_ms: float | None = None
    started: float = field(default_factory=time.perf_counter, repr=False)
    model: str | None = None
    error: dict[str, str | None] | None = None  # `code` and `param` of an error answer

    def finish(self, body: Any, fault: str | None) -> None:
        if self.duration_ms is None:
            self.body, self.fault = body, fault
            self.model = model_of(body)
            self.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "body": self.body,
            "received_at": self.received_at,
            "duration_ms": self.duration_ms,
            "session": self.session,
            "fault": self.fault,
            "headers": self.headers,
            "model": self.model,
            "error": self.error,
        }


class Journal:
    """The bounded journal (size 0 disables it)."""

    def __init__(self, backend: Backend, size: int) -> None:
        self.backend = backend
        self.size = size

    async def add(self, entry: Entry) -> None:
        if self.size:
            await self.backend.log_append(LOG, entry.id, entry.to_dict(), self.size)

    async def finish(self, entry: Entry) -> None:
        if self.size:
            await self.backend.log_replace(LOG, entry.id, entry.to_dict())

    async def entries(self, session: str | None = None) -> list[dict[str, Any]]:
        items = await self.backend.log_items(LOG)
        return [item for item in items if session is None or item["session"] == session]

    async def clear(self, session: str | None = None) -> int:
        """Drop every entry (or the session's); returns how many were dropped."""
        doomed = [item["id"] for item in await self.entries(session)]
        return await self.backend.log_remove(LOG, doomed) if doomed else 0
