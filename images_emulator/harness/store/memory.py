"""The store of one process: plain Python objects under a lock (the default, and as fast as no store)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from images_emulator.harness.store.backend import Change, LogMark, LogWrite, R

MAX_EXPIRING_KEYS = 50_000  # values with a lifetime (rate-limit windows, one per API key) kept at most


class MemoryBackend:
    kind = "memory"
    url = "memory"

    def __init__(self, blob_bytes: int = 16 * 1024 * 1024) -> None:
        self._values: dict[str, tuple[Any, float | None]] = {}  # key → (value, expires at)
        # Keys of values with a lifetime, least recently written first: expired ones are swept from the
        # front, and past MAX_EXPIRING_KEYS the oldest goes (a client inventing keys cannot grow the store).
        self._expiring: OrderedDict[str, None] = OrderedDict()
        self._logs: dict[str, OrderedDict[str, tuple[float, dict[str, Any]]]] = {}  # id → (at, item), by `at`
        self._marks: dict[tuple[str, str], tuple[int, int, float]] = {}  # (log, process) → announced, flushed, at
        self._blobs: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # least recently stored first
        self._blob_bytes = 0
        self._blob_limit = blob_bytes
        self._lock = threading.Lock()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _live(self, key: str, now: float) -> Any:
        value, expires = self._values.get(key, (None, None))
        if expires is not None and expires <= now:
            del self._values[key]
            return None
        return value

    def watch(self, key: str) -> None:
        return None

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        with self._lock:
            now = time.monotonic()
            new, result = change(self._live(key, now))
            self._expiring.pop(key, None)
            if new is None:
                self._values.pop(key, None)
            else:
                self._values[key] = (new, now + ttl if ttl is not None else None)
                if ttl is not None:
                    self._expiring[key] = None
                    self._sweep(now)
            return result

    def _sweep(self, now: float) -> None:
        while self._expiring:
            oldest = next(iter(self._expiring))
            expires = self._values.get(oldest, (None, now))[1]
            if len(self._expiring) <= MAX_EXPIRING_KEYS and expires is not None and expires > now:
                return
            del self._expiring[oldest]
            self._values.pop(oldest, None)

    @property
    def expiring_keys(self) -> int:
        """How many values with a lifetime are held (rate-limit windows)."""
        return len(self._expiring)

    async def read(self, key: str) -> Any:
        with self._lock:
            return self._live(key, time.monotonic())

    async def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._values if k.startswith(prefix)]:
                del self._values[key]
                self._expiring.pop(key, None)

    async def log_put(
        self, log: str, writes: Sequence[LogWrite], limit: int, mark: tuple[str, int] | None = None
    ) -> None:
        with self._lock:
            if mark is not None:
                announced, flushed, _ = self._marks.get((log, mark[0]), (0, 0, 0.0))
                self._marks[log, mark[0]] = (max(announced, mark[1]), max(flushed, mark[1]), time.monotonic())
            items = self._logs.setdefault(log, OrderedDict())
            for write in writes:
                if write.id in items:
                    items[write.id] = (items[write.id][0], write.item)
                elif write.insert:
                    last = next(reversed(items.values()), None)
                    items[write.id] = (write.at, write.item)
                    if last is not None and write.at < last[0]:  # arrived before the newest: put in its place
                        ordered = sorted(items.items(), key=lambda pair: pair[1][0])
                        items.clear()
                        items.update(ordered)
            while len(items) > limit:
                items.popitem(last=False)

    async def log_announce(self, log: str, process: str, announced: int) -> None:
        with self._lock:
            old, flushed, _ = self._marks.get((log, process), (0, 0, 0.0))
            self._marks[log, process] = (max(old, announced), flushed, time.monotonic())

    async def log_marks(self, log: str) -> list[LogMark]:
        with self._lock:
            now = time.monotonic()
            return [LogMark(p, a, f, now - at) for (name, p), (a, f, at) in self._marks.items() if name == log]

    async def log_items(self, log: str, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            return [item for _, item in self._logs.get(log, {}).values()][-limit:]

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        with self._lock:
            items = self._logs.get(log, OrderedDict())
            return sum(items.pop(item_id, None) is not None for item_id in item_ids)

    async def blob_put(self, key: str, data: bytes, ttl: float) -> None:
        with self._lock:
            old = self._blobs.pop(key, None)
            if old is not None:
                self._blob_bytes -= len(old[0])
            if len(data) > self._blob_limit:
                return
            self._blobs[key] = (data, time.monotonic() + ttl)
            self._blob_bytes += len(data)
            while self._blob_bytes > self._blob_limit:
                _, (evicted, _) = self._blobs.popitem(last=False)
                self._blob_bytes -= len(evicted)

    async def blob_get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._blobs.get(key)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._blobs[key]
                self._blob_bytes -= len(found[0])
                return None
            return found[0]
