"""The request journal: the last `journal_size` requests in arrival order, in the harness's store.

An entry is recorded when its request arrives (`status` null while in flight) and completed before the
last byte of its response is sent, so a client that has its answer always finds the finished entry,
whichever worker or replica it asks. With the memory store the journal is the process's own; with a
shared store (SQLite, Redis) each process keeps its entries and stores them when some process reads the
journal (harness/shared_journal.py).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from images_emulator.harness.redact import mask_header
from images_emulator.harness.shared_journal import SharedJournalWriter
from images_emulator.harness.store import Backend

LOG = "journal"


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
    published: bool = field(default=False, repr=False)  # written to a shared store once: later writes replace it

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

    def arrive(self, entry: Entry) -> None:
        """`entry`'s request arrived."""
        if not self.size:
            return
        if self._local is None:
            self._shared.changed(entry)
            return
        self._local[entry.id] = entry
        if len(self._local) > self.size:
            self._local.popitem(last=False)

    @property
    def _sharing(self) -> bool:
        """Entries go to a shared store (not the memory store's local journal, not a disabled one)."""
        return self._local is None and self.size > 0

    @property
    def waits_to_finish(self) -> bool:
        """Whether `finish` must be awaited (a shared store's first entries), else `finished` will do."""
        return self._sharing and not self._shared.ready

    def finished(self, entry: Entry) -> None:
        """`entry` is complete (when `waits_to_finish` is false): found by any process's read from now on."""
        if self._sharing:
            self._shared.changed(entry)

    async def finish(self, entry: Entry) -> None:
        """`entry` is complete: sure to be found by a read on any process once this returns."""
        self.finished(entry)
        if self._sharing:
            await self._shared.registered()

    async def flush(self) -> None:
        """Store what this process holds (at shutdown)."""
        if self._local is None:
            await self._shared.close()

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
