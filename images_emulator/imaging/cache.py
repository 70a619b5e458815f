"""A small thread-safe LRU of encoded images, bounded by total bytes (keys included), with single-flight creation.

A key (a render spec) can carry a 32,000-character prompt, larger than a small image: each entry
counts its value's bytes and its key's length as text, so long prompts cannot grow the cache past
its bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import cast


class _Flight:
    """One in-progress `factory()` call that other callers with the same key wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


class ImageCache:
    """LRU cache of `bytes` values whose total size stays within `max_bytes` (0 disables storing)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self._entries: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()  # key → (value, cost)
        self._size = 0
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}

    def get_or_create(self, key: Hashable, factory: Callable[[], bytes]) -> bytes:
        """Return cached bytes for key, or call factory once (single-flight: concurrent callers with the
        same key wait for the first one instead of rendering again), store and return. Entries larger
        than max_bytes are returned but not stored. max_bytes=0 disables caching (and single-flight).
        If the factory raises, every waiting caller gets the same exception and nothing is stored."""
        if self.max_bytes == 0:
            return factory()
        with self._lock:
            value = self._lookup(key)
            if value is not None:
                return value
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return cast(bytes, flight.value)
        try:
            flight.value = factory()
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
                if flight.value is not None:
                    self._store(key, flight.value)
            flight.done.set()
        return flight.value

    def get(self, key: Hashable) -> bytes | None:
        """Cached bytes for `key` (marking it most recently used), or None."""
        with self._lock:
            return self._lookup(key)

    def put(self, key: Hashable, value: bytes) -> None:
        """Store `value` (replacing any previous one) unless it alone exceeds `max_bytes`."""
        with self._lock:
            self._store(key, value)

    @property
    def size_bytes(self) -> int:
        """Total cost of the stored entries: their values' bytes and their keys' length."""
        with self._lock:
            return self._size

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Drop every entry (in-progress creations still finish and are stored)."""
        with self._lock:
            self._entries.clear()
            self._size = 0

    def _lookup(self, key: Hashable) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def _store(self, key: Hashable, value: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old[1]
        cost = len(value) + key_bytes(key)
        if self.max_bytes == 0 or cost > self.max_bytes:
            return
        self._entries[key] = (value, cost)
        self._size += cost
        while self._size > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._size -= evicted


def key_bytes(key: Hashable) -> int:
    """What a key costs, roughly: the length of its text (a prompt's characters dominate)."""
    return len(repr(key))
