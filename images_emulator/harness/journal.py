"""The request journal: the last `journal_size` requests in arrival order, in the harness's store.

An entry is written when its request is finished, just before the last byte of the response is sent,
so a client that has its answer always finds the finished entry, whichever worker or replica it asks.
While a request is in flight its entry shows `status` and `duration_ms` null: in the memory store at
once; in a shared store (SQLite, Redis) once it has been in flight for IN_FLIGHT_AFTER. A process
buffers its writes to a shared store and stores them in batches (harness/shared_journal.py).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from images_emulator.harness.redact import mask_header
from images_emulator.harness.shared_journal import SharedJournalWriter
from images_emulator.harness.store import Backend, LogWrite

LOG = "journal"
IN_FLIGHT_AFTER = 0.05  # seconds in flight after which a shared store shows the entry as in flight


def iso_of(now: float) -> str:
    """Epoch seconds as `2026-11-19T12:00:00.000Z`."""
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
    at: float = field(default_factory=time.time, repr=False)  # arrival, epoch seconds: the journal's order
    status: int | None = None
    body: Any = None
    fault: str | None = None
    duration_ms: float | None = None
    started: float = field(default_factory=time.perf_counter, repr=False)
    model: str | None = None
    error: dict[str, str | None] | None = None  # `code` and `param` of an error answer
    published: bool = field(default=False, repr=False)  # written to the store while in flight

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
            "received_at": iso_of(self.at),
            "duration_ms": self.duration_ms,
            "session": self.session,
            "fault": self.fault,
            "headers": self.headers,
            "model": self.model,
            "error": self.error,
        }


class Journal:
    """The bounded journal (size 0 disables it).

    With the memory store the journal is this process's own: it keeps the Entry objects themselves,
    complete as soon as their requests are, and serializes them only when read. With a shared store,
    entries go through the process's SharedJournalWriter.
    """

    def __init__(self, backend: Backend, size: int) -> None:
        self.backend = backend
        self.size = size
        self._local: OrderedDict[str, Entry] | None = OrderedDict() if backend.kind == "memory" else None
        self._shared = SharedJournalWriter(backend, LOG, size)
        self._in_flight: dict[str, Entry] = {}  # shared stores: requests in flight in this process
        self._sweeper: asyncio.Task[None] | None = None

    async def arrive(self, entry: Entry) -> None:
        """`entry`'s request arrived."""
        if not self.size:
            return
        if self._local is not None:
            self._local[entry.id] = entry
            while len(self._local) > self.size:
                self._local.popitem(last=False)
            return
        self._in_flight[entry.id] = entry
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._publish_in_flight())

    async def _publish_in_flight(self) -> None:
        """While requests are in flight: buffer the entries of those in flight for IN_FLIGHT_AFTER (one
        task for them all, not a timer per request)."""
        try:
            while self._in_flight:
                await asyncio.sleep(IN_FLIGHT_AFTER / 2)
                since = time.time() - IN_FLIGHT_AFTER
                for entry in list(self._in_flight.values()):
                    if entry.at <= since and not entry.published:
                        entry.published = True
                        self._shared.buffer(LogWrite(entry.id, entry.at, entry.to_dict()))
        finally:
            self._sweeper = None

    async def finish(self, entry: Entry) -> None:
        """`entry` is complete: stored (or, in a shared store, sure to be found) before this returns."""
        if not self.size or self._local is not None:
            return  # the local journal holds the entry itself
        self._in_flight.pop(entry.id, None)
        await self._shared.put(LogWrite(entry.id, entry.at, entry.to_dict(), insert=not entry.published))

    async def flush(self) -> None:
        """Store what this process has buffered (at shutdown)."""
        if self._local is None:
            await self._shared.flush()

    async def entries(self, session: str | None = None) -> list[dict[str, Any]]:
        if self._local is not None:
            return [e.to_dict() for e in list(self._local.values()) if session is None or e.session == session]
        await self._shared.settle()  # every process's entries so far, first
        items = await self.backend.log_items(LOG, self.size)
        return [item for item in items if session is None or item["session"] == session]

    async def clear(self, session: str | None = None) -> int:
        """Drop every entry (or the session's); returns how many were dropped."""
        doomed = [item["id"] for item in await self.entries(session)]
        if self._local is not None:
            return sum(self._local.pop(entry_id, None) is not None for entry_id in doomed)
        return await self.backend.log_remove(LOG, doomed) if doomed else 0
