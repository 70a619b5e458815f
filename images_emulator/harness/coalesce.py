"""Reads of one key of a shared store (SQLite, Redis), coalesced: the requests that arrive together
share one read (every request reads the scheduled faults)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a failed read nobody waits for any more is not an unhandled error


R = TypeVar("R")


class CoalescedRead(Generic[R]):
    """One `read()` shared by every caller that asked before it started: each caller gets a value read
    after it asked (never an older one), and a burst of requests costs the store one read."""

    def __init__(self, read: Callable[[], Awaitable[R]]) -> None:
        self._read = read
        self._next: asyncio.Future[R] | None = None  # the read that has not started yet
        self._task: asyncio.Task[None] | None = None  # the latest read (referenced: tasks are weakly held)

    async def __call__(self) -> R:
        if self._next is None:
            loop = asyncio.get_running_loop()
            self._next = loop.create_future()
            self._next.add_done_callback(_consume)
            self._task = loop.create_task(self._start(self._next))
        return await asyncio.shield(self._next)

    async def _start(self, future: asyncio.Future[R]) -> None:
        self._next = None  # callers from now on wait for a later read
        try:
            value = await self._read()
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(value)
