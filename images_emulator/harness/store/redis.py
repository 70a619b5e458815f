"""The store the replicas of a deployment share: a Redis server (the maintained `redis` client, asyncio).

Every key is namespaced by a prefix (`--store-prefix`), so several emulators can share one Redis.
Read-modify-writes are WATCH/MULTI transactions retried on a conflict; the bounded journal log is a
sorted set of ids (scored by arrival time) beside a hash of items, kept in step by a small Lua script
that applies a whole batch of writes in one call.

When Redis cannot be reached, calls raise StoreUnavailable; after a timeout (an unreachable host, not a
refused connection, which fails at once anyway) they fail fast for a moment (`PAUSE_SECONDS`) instead of
waiting on the timeout each time. The client reconnects by itself when Redis is back.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from images_emulator.harness.store import codec
from images_emulator.harness.store.backend import Change, LogMark, LogWrite, R, StoreUnavailable
from images_emulator.harness.store.redis_watch import WatchedKeys

PAUSE_SECONDS = 1.0  # after a timeout, calls fail at once for this long
# Sets a process's mark (KEYS[3], a hash: process → "announced flushed time") to at least the values given.
MARK = """
local function mark(key, process, announced, flushed)
  local t = redis.call('TIME')
  local old = redis.call('HGET', key, process)
  if old then
    local fields = string.gmatch(old, '%S+')
    announced = math.max(announced, tonumber(fields()))
    flushed = math.max(flushed, tonumber(fields()))
  end
  redis.call('HSET', key, process, string.format('%d %d %d.%06d', announced, flushed, t[1], t[2]))
end
"""
# KEYS: order (sorted set), items (hash), marks (hash). ARGV: limit, process ('' for no mark), mark, the
# writes as a JSON array of [insert, id, at, length], and their items' JSON texts end to end (5 arguments
# for any batch: the client's cost is per argument).
PUT = MARK + """
local writes = cjson.decode(ARGV[4])
local texts = ARGV[5]
local start = 1
for _, write in ipairs(writes) do
  local id = write[2]
  local item = string.sub(texts, start, start + write[4] - 1)
  start = start + write[4]
  if write[1] == 1 then
    if redis.call('ZADD', KEYS[1], 'NX', write[3], id) == 1 or redis.call('HEXISTS', KEYS[2], id) == 1 then
      redis.call('HSET', KEYS[2], id, item)
    end
  elseif redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('HSET', KEYS[2], id, item)
  end
end
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  for _, old_id in ipairs(old) do redis.call('HDEL', KEYS[2], old_id) end
end
if ARGV[2] ~= '' then mark(KEYS[3], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[3])) end
"""
ANNOUNCE = MARK + "mark(KEYS[1], ARGV[1], tonumber(ARGV[2]), 0)"


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
        self._put = self._client.register_script(PUT)
        self._announce = self._client.register_script(ANNOUNCE)
        self._paused_until = 0.0
        self._watched = WatchedKeys(self._client, self._key("watch"), self._key("watch:ack:"))

    def watch(self, key: str) -> None:
        self._watched.keys.add(key)

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
        await self._watched.close()
        await self._client.aclose()

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        name = self._key(key)
        with self._reaching():
            async with self._client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(name)
                        raw = await pipe.get(name)
                        old = json.loads(raw) if raw is not None else None
                        new, result = change(old)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if new is None:
                            pipe.delete(name)
                        else:
                            pipe.set(name, json.dumps(new), px=int(ttl * 1000) if ttl is not None else None)
                        await pipe.execute()
                        break
                    except WatchError:
                        continue  # another process changed it between our read and write: again
            if key in self._watched.keys and new != old:
                await self._watched.changed()
        return result

    async def read(self, key: str) -> Any:
        watched = key in self._watched.keys
        if watched:
            held, value, generation = self._watched.cached(key)
            if held:
                return value
        with self._reaching():
            raw = await self._client.get(self._key(key))
        value = json.loads(raw) if raw is not None else None
        if watched:
            self._watched.remember(key, value, generation)
        return value

    async def delete_prefix(self, prefix: str) -> None:
        with self._reaching():
            names = [name async for name in self._client.scan_iter(match=self._key(prefix) + "*", count=500)]
            if names:
                await self._client.delete(*names)

    def _log_keys(self, log: str) -> tuple[str, str]:
        return self._key(f"log:{log}:order"), self._key(f"log:{log}:items")

    def _marks_key(self, log: str) -> str:
        return self._key(f"log:{log}:marks")

    async def log_put(
        self, log: str, writes: Sequence[LogWrite], limit: int, mark: tuple[str, int] | None = None
    ) -> None:
        texts = [codec.dumpb(write.item) for write in writes]
        # `at` as text, so ZADD gets every digit (Lua numbers are formatted with 14 in older Redis versions)
        meta = [[int(w.insert), w.id, repr(w.at), len(text)] for w, text in zip(writes, texts, strict=True)]
        args: list[str | int | bytes] = [limit, *(mark or ("", 0)), codec.dumpb(meta), b"".join(texts)]
        with self._reaching():
            await self._put(keys=[*self._log_keys(log), self._marks_key(log)], args=args)

    async def log_announce(self, log: str, process: str, announced: int) -> None:
        with self._reaching():
            await self._announce(keys=[self._marks_key(log)], args=[process, announced])

    async def log_marks(self, log: str) -> list[LogMark]:
        key = self._marks_key(log)
        with self._reaching():
            raw = cast(dict[bytes, bytes], await self._client.hgetall(key))
            seconds, micros = await self._client.time()
        now = seconds + micros / 1e6
        marks = []
        for process, value in raw.items():
            announced, flushed, at = value.split()
            marks.append(LogMark(process.decode(), int(announced), int(flushed), now - float(at)))
        forgotten = [mark.process for mark in marks if mark.forgotten]
        if forgotten:
            with self._reaching():
                await self._client.hdel(key, *forgotten)
        return [mark for mark in marks if not mark.forgotten]

    async def log_items(self, log: str, limit: int) -> list[dict[str, Any]]:
        ids_key, items_key = self._log_keys(log)
        with self._reaching():
            ids = cast(list[bytes], await self._client.zrange(ids_key, -limit, -1))
            raws = await self._client.hmget(items_key, ids) if ids else []
        return [codec.loads(raw) for raw in raws if raw is not None]

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        ids_key, items_key = self._log_keys(log)
        with self._reaching():
            async with self._client.pipeline(transaction=True) as pipe:
                for item_id in item_ids:
                    pipe.zrem(ids_key, item_id)
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
