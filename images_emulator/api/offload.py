"""Blocking work off the event loop, without the worker thread keeping its arguments and result alive.

An idle anyio worker thread keeps its last job (function, arguments, and the future holding the
result) until it runs the next one, so with WORKER_THREADS threads a few large requests stayed in
memory long after they were answered (4 threads x a 60 MB body and its parsed copy; a refusal's
traceback holds them too). Here the thread only sees a closure over a box that is emptied on both
sides, and an exception crosses over in the box as well.

When the last running job ends, the idle hook the server installs (`when_idle`: giving the freed heap
back to the OS, server/memory.py) runs in a thread of its own, one run at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class _Idle:
    """Counts the jobs running in the threadpool; runs the hook when none is left (one run at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # several event loops may share the process (tests' clients)
        self.running = 0
        self.in_hook = False
        self.hook: Callable[[], None] | None = None

    def started(self) -> None:
        with self.lock:
            self.running += 1

    def finished(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running or self.in_hook or self.hook is None:
                return
            self.in_hook = True
        asyncio.get_running_loop().run_in_executor(None, self.run_hook)

    def run_hook(self) -> None:
        try:
            if self.hook is not None:
                self.hook()
        finally:
            self.in_hook = False


_idle = _Idle()


def when_idle(hook: Callable[[], None]) -> None:
    """Run `hook` (off the event loop) whenever the threadpool's last running job ends."""
    _idle.hook = hook


async def offload(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the threadpool; nothing of the call stays referenced once it returns."""
    box: dict[str, Any] = {"call": (func, args, kwargs)}
    _idle.started()

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
        _idle.finished()
