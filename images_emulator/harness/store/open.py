"""`--store URL` → a backend: `memory`, `sqlite:///path/to/file.db`, or `redis://host:port/db` (`rediss://`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from images_emulator.harness.store.backend import Backend


class StoreError(ValueError):
    """A --store value that names no store."""


def parse_store_url(url: str) -> str:
    """The store's kind ("memory", "sqlite" or "redis") for a valid URL; StoreError otherwise."""
    text = url.strip()
    if text == "memory":
        return "memory"
    parts = urlsplit(text)
    if parts.scheme in ("redis", "rediss", "unix") and (parts.netloc or parts.path):
        return "redis"
    if parts.scheme == "sqlite" and parts.path not in ("", "/"):
        return "sqlite"
    raise StoreError(
        f"store must be 'memory', 'sqlite:///path/to/file.db' or 'redis://host:port/db', not {url!r}"
    )


def open_store(url: str, *, prefix: str, blob_bytes: int) -> Backend:
    """The backend `url` names (connecting lazily: call `ping()` to check it is reachable)."""
    kind = parse_store_url(url)
    if kind == "memory":
        from images_emulator.harness.store.memory import MemoryBackend

        return MemoryBackend(blob_bytes)
    if kind == "sqlite":
        from images_emulator.harness.store.sqlite import SqliteBackend

        # `sqlite:////tmp/x.db` has the path `//tmp/x.db`, which POSIX paths keep as written.
        return SqliteBackend(Path("/" + urlsplit(url.strip()).path.lstrip("/")), blob_bytes)
    from images_emulator.harness.store.redis import RedisBackend

    return RedisBackend(url.strip(), prefix)
