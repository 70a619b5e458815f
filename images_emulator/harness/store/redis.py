"""The store the replicas of a deployment share: a Redis server (the maintained `redis` client, asyncio).

Every key is namespaced by a prefix (`--store-prefix`), so several emulators can share one Redis.
Read-modify-writes are WATCH/MULTI transactions retried on a conflict; the bounded journal log is a
list of ids (arrival order) beside a hash of items, kept in step by two small Lua scripts.

When Redis cannot be reached, calls raise StoreUnavailable; after a timeout (an unreachable host, not a
refused connection, which fails at once anyway) they fail fast for a moment (`PAUSE_SECONDS`) instead of
waiting on the timeout each time. The client reconnects by itself when Redis is back.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from images_emulator.harness.store.backend import Change, R, StoreUnavailable

PAUSE_SECONDS = 1.0  # after a timeout, calls fail at once for this long
APPEND = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local excess = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[3])
while excess > 0 do
  redis.call('HDEL', KEYS[2], redis.call('LPOP', KEYS[1]))
  excess = excess - 1
end
"""
REPLACE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""


def redacted(url: str) -> str:
    """The URL without its password, for messages and /health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisBackend:
    kind = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        self.url = redacted(url)
        self.prefix = prefix
        # One retry on a dropped connection: after Redis restarts, every pooled connection of every
        # worker is stale once, and a call should reconnect rather than fail.
        self._client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=0.5,
            socket_timeout=2.0,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        self._append = self._client.register_script(APPEND)
        self._replace = self._client.register_script(REPLACE)
        self._paused_until = 0.0

    def _key(self, key: str) -> str:
        return self.prefix + key

    @contextlib.contextmanager
    def _reaching(self, *, probe: bool = False) -> Iterator[None]:
        """Redis errors as StoreUnavailable; while paused after a failure, fail at once (a probe tries)."""
        if not probe and time.monotonic() < self._paused_until:
            raise StoreUnavailable(f"the store {self.url} is unreachable")
        try:
            yield
        except (RedisError, OSError) as exc:
            if isinstance(exc, TimeoutError | RedisTimeoutError):
                self._paused_until = time.monotonic() + PAUSE_SECONDS
            raise StoreUnavailable(f"the store {self.url} is unreachable ({exc.__class__.__name__}: {exc})") from exc
        self._paused_until = 0.0

    async def ping(self) -> None:
        with self._reaching(probe=True):
            await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        name = self._key(key)
        with self._reaching():
            async with self._client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(name)
                        raw = await pipe.get(name)
                        new, result = change(json.loads(raw) if raw is not None else None)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if new is None:
                            pipe.delete(name)
                        else:
                            pipe.set(name, json.dumps(new), px=int(ttl * 1000) if ttl is not None else None)
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue  # another process changed it between our read and write: again

    async def read(self, key: str) -> Any:
        with self._reaching():
            raw = await self._client.get(self._key(key))
        return json.loads(raw) if raw is not None else None

    async def delete_prefix(self, prefix: str) -> None:
        with self._reaching():
            names = [name async for name in self._client.scan_iter(match=self._key(prefix) + "*", count=500)]
            if names:
                await self._client.delete(*names)

    def _log_keys(self, log: str) -> tuple[str, str]:
        return self._key(f"log:{log}:ids"), self._key(f"log:{log}:items")

    async def log_append(self, log: str, item_id: str, item: dict[str, Any], limit: int) -> None:
        with self._reaching():
            await self._append(keys=self._log_keys(log), args=[item_id, json.dumps(item), limit])

    async def log_replace(self, log: str, item_id: str, item: dict[str, Any]) -> None:
        with self._reaching():
            await self._replace(keys=[self._log_keys(log)[1]], args=[item_id, json.dumps(item)])

    async def log_items(self, log: str) -> list[dict[str, Any]]:
        ids_key, items_key = self._log_keys(log)
        with self._reaching():
            ids = await self._client.lrange(ids_key, 0, -1)
            raws = await self._client.hmget(items_key, ids) if ids else []
        return [json.loads(raw) for raw in raws if raw is not None]

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        ids_key, items_key = self._log_keys(log)
        with self._reaching():
            async with self._client.pipeline(transaction=True) as pipe:
                for item_id in item_ids:
                    pipe.lrem(ids_key, 0, item_id)
                    pipe.hdel(items_key, item_id)
                counts = await pipe.execute()
        return sum(1 for count in counts[::2] if count)

    async def blob_put(self, key: str, data: bytes, ttl: float) -> None:
        with self._reaching():
            await self._client.set(self._key(f"blob:{key}"), data, px=max(1, int(ttl * 1000)))

    async def blob_get(self, key: str) -> bytes | None:
        with self._reaching():
            data = await self._client.get(self._key(f"blob:{key}"))
        return data if isinstance(data, bytes) else None
