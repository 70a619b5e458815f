"""Blocking work off the event loop, without the worker thread keeping its arguments and result alive.

An idle anyio worker thread keeps its last job (function, arguments, and the future holding the
result) until it runs the next one, so with WORKER_THREADS threads a few large requests stayed in
memory long after they were answered (4 threads x a 60 MB body and its parsed copy; a refusal's
traceback holds them too). Here the thread only sees a closure over a box that is emptied on both
sides, and an exception crosses over in the box as well.

When the last running job ends, the freed heap goes back to the OS (glibc's `malloc_trim`, in a thread
of its own): glibc keeps what the render threads freed in their arenas, about 15 MiB after a busy run.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class _Heap:
    """Counts the jobs running in the threadpool; trims the heap when none is left (one trim at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # several event loops may share the process (tests' clients)
        self.running = 0
        self.trimming = False
        self.malloc_trim: Callable[[int], int] | None = None
        self.found = sys.platform != "linux"  # elsewhere there is nothing to find

    def started(self) -> None:
        with self.lock:
            self.running += 1

    def finished(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running or self.trimming:
                return
            self.trimming = True
        asyncio.get_running_loop().run_in_executor(None, self.trim)

    def trim(self) -> None:
        try:
            if not self.found:
                self.found = True
                import ctypes

                self.malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only (not musl)
            if self.malloc_trim is not None:
                self.malloc_trim(0)
        finally:
            self.trimming = False


_heap = _Heap()


async def offload(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the threadpool; nothing of the call stays referenced once it returns."""
    box: dict[str, Any] = {"call": (func, args, kwargs)}
    _heap.started()

    def job() -> None:
        call, call_args, call_kwargs = box.pop("call")
        try:
            box["result"] = call(*call_args, **call_kwargs)
        except Exception as exc:  # not through the thread's future: its traceback holds the arguments
            box["error"] = exc

    try:
        await run_in_threadpool(job)
        if "error" in box:
            raise box.pop("error")
        result: T = box.pop("result")
        return result
    finally:
        box.clear()
        _heap.finished()
