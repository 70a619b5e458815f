"""One process's journal writes to a shared store (SQLite, Redis): buffered, and stored in batches.

A finished entry joins this process's buffer, which is stored every FLUSH_SECONDS in one store call
(one transaction, one round trip) however many requests finished meanwhile: that is what lets several
workers or replicas share a journal at the speed of one. What keeps it exact is a mark per process in
the store, two counters over the entries it finished (numbered in order):
- `announced`: entries up to this number exist, stored or not yet. Before a request's last byte is
  sent its entry's number must be announced (or flushed); one announcement covers ANNOUNCE_AHEAD
  numbers, so it costs one write per flush, not one per request;
- `flushed`: entries up to this number are stored. A flush stores the buffer and moves both counters
  to the highest number announced, skipping unused numbers, so that nothing announced is left owing.

A journal read (`settle`) first stores this process's buffer, then waits until every other process has
flushed what it had announced when the read began: so a client that has its answer finds its entry,
whichever process it asks. A process silent for STALE_SECONDS with entries owing has died: its mark
is not waited for; nor is any after SETTLE_TIMEOUT (a read then answers with what is stored).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from images_emulator.harness.store import Backend, LogWrite

log = logging.getLogger("images_emulator")
FLUSH_SECONDS = 0.01
ANNOUNCE_AHEAD = 1024  # entry numbers one announcement covers
SETTLE_TIMEOUT = 2.0
STALE_SECONDS = 1.0  # a live process with entries owing flushes within FLUSH_SECONDS


class SharedJournalWriter:
    """The buffer, flusher and announcements of one process for one log of a shared store."""

    def __init__(self, backend: Backend, log_name: str, limit: int) -> None:
        self.backend = backend
        self.log_name = log_name
        self.limit = limit
        self._process = ""  # named on first use: workers fork after the app is built
        self._buffer: list[LogWrite] = []
        self._number = 0  # of the last entry finished in this process
        self._covered = 0  # entries up to this number are announced or flushed, as far as the store has confirmed
        self._announcing: tuple[int, asyncio.Task[None]] | None = None  # the announcement on its way
        self._announced = 0  # the highest number ever announced (sent)
        self._flusher: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._flush_lock = asyncio.Lock()

    @property
    def process(self) -> str:
        if not self._process or not self._process.endswith(f":{os.getpid()}"):
            self._process = f"{socket.gethostname()}:{secrets.token_hex(3)}:{os.getpid()}"
        return self._process

    def buffer(self, write: LogWrite) -> int:
        """Buffer `write` (stored within FLUSH_SECONDS); its entry number."""
        self._buffer.append(write)
        self._number += 1
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())
        return self._number

    async def put(self, write: LogWrite) -> None:
        """Buffer `write`; return once a reader is sure to find it (announced or stored)."""
        number = self.buffer(write)
        if number > self._covered:
            await self._announce(number)

    async def _announce(self, number: int) -> None:
        if self._announcing is None or self._announcing[0] < number:
            value = self._number + ANNOUNCE_AHEAD
            self._announced = max(self._announced, value)
            task = asyncio.get_running_loop().create_task(self._send_announcement(value))
            self._announcing = (value, task)
        await asyncio.shield(self._announcing[1])

    async def _send_announcement(self, value: int) -> None:
        await self.backend.log_announce(self.log_name, self.process, value)
        self._covered = max(self._covered, value)

    async def _flush_soon(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._buffer:
                self._wake = loop.create_future()
                timer = loop.call_later(FLUSH_SECONDS, _wake_up, self._wake)
                await self._wake
                timer.cancel()
                await self.flush()
        finally:
            self._flusher = None

    async def flush(self) -> None:
        """Store the buffer now (batches are stored one at a time, in order)."""
        async with self._flush_lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            mark = max(self._number, self._announced)
            self._number = mark  # numbers up to the mark are flushed: the next entry's comes after
            try:
                await self.backend.log_put(self.log_name, batch, self.limit, mark=(self.process, mark))
            except Exception as exc:  # the store is unreachable: these entries are lost, not retried forever
                log.warning("could not store %d journal entries: %s", len(batch), exc)
                return
            self._covered = max(self._covered, mark)

    async def settle(self) -> None:
        """Until every entry any process had finished when this was called is stored (bounded: see above)."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        await self.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        owing: dict[str, int] | None = None
        while True:
            marks = {mark.process: mark for mark in await self.backend.log_marks(self.log_name)}
            if owing is None:  # what each live process owed when the read began
                owing = {
                    p: m.announced for p, m in marks.items() if m.announced > m.flushed and m.age < STALE_SECONDS
                }
            owing = {
                p: n for p, n in owing.items() if p in marks and marks[p].flushed < n and marks[p].age < STALE_SECONDS
            }
            if not owing or loop.time() > deadline:
                return
            await asyncio.sleep(FLUSH_SECONDS / 2)


def _wake_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
