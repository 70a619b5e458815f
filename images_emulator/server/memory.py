"""The process's memory: glibc's allocator tuned for a server that renders images in a few threads.

Left alone, glibc gives each rendering thread an arena of its own, which keeps that thread's peak,
and raises its mmap threshold as big blocks are freed, so later pixel buffers land in the heaps and
stay there. Two arenas, and blocks of 256 KiB and more mapped on their own (freeing them gives the
memory back at once), keep a worker's RSS near what it holds: measured on the soak, 328 -> 240 MiB
with the tokenizer change beside it. And what the render threads freed goes back to the OS whenever
no render runs (`trim_heap`, called by api/offload.py: about 15 MiB after a busy run). On other C
libraries nothing happens.
"""

from __future__ import annotations

import ctypes
from typing import Any

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt() options


def _libc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


LIBC = _libc()


def lean_malloc() -> None:
    """Two arenas; blocks of 256 KiB and more mapped on their own; the heap's top trimmed past 1 MiB."""
    if LIBC is not None:
        for option, value in ((M_ARENA_MAX, 2), (M_MMAP_THRESHOLD, 256 * 1024), (M_TRIM_THRESHOLD, 1024 * 1024)):
            LIBC.mallopt(option, value)


def trim_heap() -> None:
    """Give the freed heap back to the OS (glibc's malloc_trim; 0.1 ms median after the soak)."""
    if LIBC is not None and hasattr(LIBC, "malloc_trim"):
        LIBC.malloc_trim(0)
