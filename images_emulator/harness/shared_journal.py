"""One process's part of a journal kept in a shared store (SQLite, Redis): stored when someone reads it.

A process keeps the entries of the requests it serves in memory, as with the memory store, and writes
them to the store only when some process reads the journal: a request costs the store nothing. A read
bumps a counter in the store (READS) that every active process polls every POLL_SECONDS; each stores
what changed since its last write (finished entries, and those still in flight) and moves its mark to
that count; the reader waits until every live process's mark has reached its read. So a client that
has its answer finds its entry, whichever process it asks, and sees requests in flight at once.

Each active process has a mark in the store (LogMark.flushed: the last read it answered), registered
before the answer to its first request is sent and refreshed every HEARTBEAT_SECONDS. A mark older than
STALE_SECONDS is a dead process's (what it had not stored is lost) and no read waits more than
SETTLE_TIMEOUT. A process idle for IDLE_SECONDS stores everything and retires (a retired mark answers
every read), so an idle server does not poll; its next request registers it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import OrderedDict
from typing import Any, Protocol

from images_emulator.harness.store import Backend, LogWrite
from images_emulator.harness.store.backend import RETIRED

log = logging.getLogger("images_emulator")
POLL_SECONDS = 0.005
HEARTBEAT_SECONDS = 0.5
STALE_SECONDS = 2.0
IDLE_SECONDS = 5.0
SETTLE_TIMEOUT = 2.0
READS = "reads"  # the key of a log's read counter is "<log>:reads"


class Loggable(Protocol):
    """A journal entry as this module needs it."""

    id: str
    at: float
    published: bool  # stored once already: a later write replaces it (if still there)

    def to_dict(self) -> dict[str, Any]: ...


class SharedJournalWriter:
    """The unstored entries, the mark and the polling of one process for one log of a shared store."""

    def __init__(self, backend: Backend, log_name: str, limit: int) -> None:
        self.backend = backend
        self.log_name = log_name
        self.limit = limit
        self.reads_key = f"{log_name}:{READS}"
        backend.watch(self.reads_key)  # polled: each process keeps it between changes (Redis)
        # Entries changed since last stored, in that order. An OrderedDict: dropping a plain dict's first key
        # again and again makes each `next(iter(...))` walk the holes left before it (2 us a request here).
        self._changed: OrderedDict[str, Loggable] = OrderedDict()
        self._name: str | None = None  # this process's mark, while registered
        self._registering: asyncio.Task[None] | None = None
        self._register_error: Exception | None = None
        self._poller: asyncio.Task[None] | None = None
        self._answered = 0  # the last read this process answered
        self._idle_since = 0.0
        self._store_lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        """Registered: a read waits for this process."""
        return self._name is not None

    def changed(self, entry: Loggable) -> None:
        """`entry` arrived or finished: stored at the next read (this process registers if it is not)."""
        changed = self._changed
        changed.pop(entry.id, None)
        changed[entry.id] = entry
        if len(changed) > self.limit:
            changed.popitem(last=False)
        self._idle_since = time.monotonic()
        if self._name is None:
            self._start_registering()

    async def registered(self) -> None:
        """Until this process's mark is in the store (before a request's answer: a read then waits for it);
        raises what kept it from the store."""
        if self._name is None:
            await asyncio.shield(self._start_registering())
            if self._name is None and self._register_error is not None:
                raise self._register_error

    def _start_registering(self) -> asyncio.Task[None]:
        """The registration on its way (started now if there is none)."""
        if self._registering is None:
            self._registering = asyncio.get_running_loop().create_task(self._register())
        return self._registering

    async def _register(self) -> None:
        name = f"{socket.gethostname()}:{secrets.token_hex(3)}:{os.getpid()}"
        try:
            await self.backend.log_announce(self.log_name, name, 0)
        except Exception as exc:  # the store is away: again in a moment, while entries wait to be stored
            self._register_error = exc
            asyncio.get_running_loop().call_later(HEARTBEAT_SECONDS, self._register_again)
            return
        finally:
            self._registering = None
        self._name, self._answered, self._register_error = name, 0, None
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def _register_again(self) -> None:
        if self._name is None and self._changed:
            self._start_registering()

    async def _poll(self) -> None:
        """While registered: answer reads, beat, and retire once idle."""
        beat = time.monotonic()
        try:
            while self._name is not None:
                await asyncio.sleep(POLL_SECONDS)
                try:
                    wanted = int(await self.backend.read(self.reads_key) or 0)
                    if wanted > self._answered:
                        await self.store(answering=wanted)
                    now = time.monotonic()
                    if now - self._idle_since > IDLE_SECONDS:
                        await self._retire()
                    elif now - beat > HEARTBEAT_SECONDS and self._name is not None:
                        beat = now
                        await self.backend.log_announce(self.log_name, self._name, 0)
                except Exception as exc:  # the store is away: try again at the next poll
                    log.debug("journal poll failed: %s", exc)
                    await asyncio.sleep(HEARTBEAT_SECONDS)
        finally:
            self._poller = None

    async def _retire(self) -> None:
        """Store everything under the mark that answers every read; the next request registers anew."""
        name, self._name = self._name, None
        if name is not None:
            try:
                await self.store(answering=RETIRED, name=name)
            except BaseException:
                if self._name is None:  # still registered, under the same mark: the next poll tries again
                    self._name = name
                raise

    async def store(self, answering: int = 0, name: str | None = None) -> None:
        """Write the changed entries (and this process's mark, moved to the read `answering`)."""
        async with self._store_lock:
            entries = list(self._changed.values())
            self._changed.clear()
            writes = [LogWrite(e.id, e.at, e.to_dict(), insert=not e.published) for e in entries]
            name = name or self._name
            mark = (name, answering) if name is not None and answering else None
            if not writes and mark is None:
                return
            try:
                await self.backend.log_put(self.log_name, writes, self.limit, mark=mark)
            except BaseException:  # not written: written at the next read (unless newer entries crowd them out)
                kept = {e.id: e for e in entries[-self.limit :] if e.id not in self._changed}
                self._changed = OrderedDict(list({**kept, **self._changed}.items())[-self.limit :])
                raise
            for entry in entries:
                entry.published = True
            if mark is not None and name == self._name:
                self._answered = max(self._answered, answering)

    async def settle(self) -> None:
        """Until every process has stored what it had when this was called (bounded: see above)."""
        read = int(await self.backend.update(self.reads_key, _next_read))
        await self.store(answering=read)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while True:
            marks = await self.backend.log_marks(self.log_name)
            owing = [m for m in marks if m.process != self._name and m.flushed < read and m.age < STALE_SECONDS]
            if not owing or loop.time() > deadline:
                return
            await asyncio.sleep(POLL_SECONDS)

    async def close(self) -> None:
        """At shutdown: store everything and retire."""
        if self._poller is not None:
            self._poller.cancel()
        if self._name is not None:
            await self._retire()
        else:
            await self.store()


def _next_read(count: Any) -> tuple[int, int]:
    value = int(count or 0) + 1
    return value, value
