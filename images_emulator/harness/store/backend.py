"""The storage primitives every store backend offers; values are JSON documents (dicts, lists, numbers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

R = TypeVar("R")
RETIRED = 2**53  # a mark's `flushed` once its process has stored everything and stopped writing
FORGET_RETIRED_AFTER = 60.0  # seconds a retired mark is kept (a process retires whenever it goes idle)
FORGET_MARKS_AFTER = 86_400.0  # seconds any other mark is kept after its process's last write

# `update`'s change function: the current value (None when missing) → (the new value, None to delete; a result).
Change = Callable[[Any], tuple[Any, R]]


@dataclass(frozen=True)
class LogWrite:
    """One item written to a log: inserted when `insert` (a new id: the first write of an entry, by the one
    process that handles its request), else replaced if still there (a finished journal entry must not
    come back after the journal was cleared)."""

    id: str
    at: float  # its place in the log: the log is ordered by `at` (arrival time, epoch seconds)
    item: dict[str, Any]
    insert: bool = True


@dataclass(frozen=True)
class LogMark:
    """How far one process's writes to a log have got (harness/shared_journal.py): `flushed` is the last
    read it answered (RETIRED: every read), `announced` is unused by the journal; `age` is the seconds
    since it last wrote."""

    process: str
    announced: int
    flushed: int
    age: float

    @property
    def forgotten(self) -> bool:
        """Old enough to be dropped from the store."""
        return self.age > (FORGET_RETIRED_AFTER if self.flushed >= RETIRED else FORGET_MARKS_AFTER)


class StoreUnavailable(Exception):
    """The store cannot be reached (Redis down): admin calls answer 503, image requests go on without it."""


class Backend(Protocol):
    """One store's storage. Every method may raise StoreUnavailable (only the Redis backend does)."""

    kind: str  # "memory" | "sqlite" | "redis"
    url: str  # as configured, without a password

    async def ping(self) -> None:
        """Reach the store now (raises StoreUnavailable)."""

    async def close(self) -> None: ...

    def watch(self, key: str) -> None:
        """Reads of `key` may come from this process's copy: every process's change of it drops the copies
        of all of them before that change returns (Redis; SQLite copies every value this way anyway)."""

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        """Atomically, across every process sharing the store: read `key`, write `change`'s new value (kept
        `ttl` seconds when given), return its result. `change` is pure and may be called more than once
        (optimistic backends retry on a conflict)."""
        ...

    async def read(self, key: str) -> Any:
        """The value at `key`, or None."""

    async def delete_prefix(self, prefix: str) -> None:
        """Drop every value whose key starts with `prefix` (rate-limit windows on reset)."""

    # A bounded log of JSON items (the journal), ordered by `at`: the oldest are dropped past `limit`.
    async def log_put(
        self, log: str, writes: Sequence[LogWrite], limit: int, mark: tuple[str, int] | None = None
    ) -> None:
        """Apply `writes` in order, in one step (a batch of journal entries); with `mark` (process, n),
        in the same step, that process's `flushed` and `announced` become at least n."""

    async def log_announce(self, log: str, process: str, announced: int) -> None:
        """That process's `announced` becomes at least `announced`."""

    async def log_marks(self, log: str) -> list[LogMark]:
        """Every process's mark (dropping the `forgotten` ones)."""

    async def log_items(self, log: str, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` items, oldest first (a backend may trim lazily: it keeps at least these)."""

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        """Remove these items; returns how many were there."""

    # Bytes with a lifetime (the images behind URLs of edits and variations).
    async def blob_put(self, key: str, data: bytes, ttl: float) -> None: ...

    async def blob_get(self, key: str) -> bytes | None: ...
