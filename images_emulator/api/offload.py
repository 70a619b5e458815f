"""Blocking work off the event loop, without the worker thread keeping its arguments and result alive.

An idle anyio worker thread keeps its last job (function, arguments, and the future holding the
result) until it runs the next one, so with WORKER_THREADS threads a few large requests stayed in
memory long after they were answered (4 threads x a 60 MB body and its parsed copy; a refusal's
traceback holds them too). Here the thread only sees a closure over a box that is emptied on both
sides, and an exception crosses over in the box as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


async def offload(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the threadpool; nothing of the call stays referenced once it returns."""
    box: dict[str, Any] = {"call": (func, args, kwargs)}

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
