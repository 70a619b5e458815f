"""The storage primitives every store backend offers; values are JSON documents (dicts, lists, numbers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

R = TypeVar("R")

# `update`'s change function: the current value (None when missing) → (the new value, None to delete; a result).
Change = Callable[[Any], tuple[Any, R]]


class StoreUnavailable(Exception):
    """The store cannot be reached (Redis down): admin calls answer 503, image requests go on without it."""


class Backend(Protocol):
    """One store's storage. Every method may raise StoreUnavailable (only the Redis backend does)."""

    kind: str  # "memory" | "sqlite" | "redis"
    url: str  # as configured, without a password

    async def ping(self) -> None:
        """Reach the store now (raises StoreUnavailable)."""

    async def close(self) -> None: ...

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        """Atomically, across every process sharing the store: read `key`, write `change`'s new value (kept
        `ttl` seconds when given), return its result. `change` is pure and may be called more than once
        (optimistic backends retry on a conflict)."""
        ...

    async def read(self, key: str) -> Any:
        """The value at `key`, or None."""

    async def delete_prefix(self, prefix: str) -> None:
        """Drop every value whose key starts with `prefix` (rate-limit windows on reset)."""

    # An ordered, bounded log of JSON items (the journal): oldest first, the oldest dropped past `limit`.
    async def log_append(self, log: str, item_id: str, item: dict[str, Any], limit: int) -> None: ...

    async def log_replace(self, log: str, item_id: str, item: dict[str, Any]) -> None:
        """Replace the item if it is still in the log (a finished journal entry)."""

    async def log_items(self, log: str) -> list[dict[str, Any]]: ...

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        """Remove these items; returns how many were there."""

    # Bytes with a lifetime (the images behind URLs of edits and variations).
    async def blob_put(self, key: str, data: bytes, ttl: float) -> None: ...

    async def blob_get(self, key: str) -> bytes | None: ...
