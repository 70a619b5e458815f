"""Values of a few Redis keys kept in each process between changes (the scheduled faults: every request
reads them, almost none change them).

Every process subscribes to one channel. A process that changes a watched key publishes the change
and waits (at most ACK_TIMEOUT) until every subscribed process has dropped its copies and said so: once
the change's caller has its answer (a fault scheduled through one replica), no process answers from the
old value. A process that is not subscribed (still connecting, or after losing Redis) keeps no copy and
reads every time, so a missed message can only cost reads, never serve a stale value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger("images_emulator")
ACK_TIMEOUT = 1.0  # seconds a change waits for the other processes' acknowledgements, at most
ACK_POLL = 0.002
ACK_KEEP_SECONDS = 10  # an acknowledgement list outlives its change by this much
RESUBSCRIBE_SECONDS = 0.5  # after losing the subscription


class WatchedKeys:
    """This process's copies of the watched keys, and its subscription to their changes."""

    def __init__(self, client: aioredis.Redis, channel: str, ack_prefix: str) -> None:
        self._client = client
        self._channel = channel
        self._ack_prefix = ack_prefix
        self.keys: set[str] = set()
        self._values: dict[str, Any] = {}
        self._generation = 0  # bumped whenever copies are dropped: a read begun before keeps no copy
        self._listening = False  # subscribed and confirmed: copies may be kept
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def cached(self, key: str) -> tuple[bool, Any, int]:
        """(whether this process holds `key`, its value, the generation to pass to `remember`)."""
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._listen())
        if self._listening and key in self._values:
            return True, self._values[key], self._generation
        return False, None, self._generation

    def remember(self, key: str, value: Any, generation: int) -> None:
        """Keep `value`, read since `generation`, unless a change came meanwhile."""
        if self._listening and generation == self._generation:
            self._values[key] = value

    def _forget(self) -> None:
        self._values.clear()
        self._generation += 1

    async def changed(self) -> None:
        """After a change of a watched key: every subscribed process drops its copies before this returns."""
        self._forget()
        nonce = secrets.token_hex(8)
        receivers = int(await self._client.publish(self._channel, nonce))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_TIMEOUT
        while receivers:
            if int(await self._client.llen(self._ack_prefix + nonce)) >= receivers:
                return
            if loop.time() > deadline:
                log.warning("%d processes did not acknowledge a change of the scheduled faults in time", receivers)
                return
            await asyncio.sleep(ACK_POLL)

    async def _listen(self) -> None:
        while not self._closed:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while not self._closed:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._forget()  # what was read before the subscription may have missed a change
                        self._listening = True
                    elif message["type"] == "message":
                        self._forget()
                        await self._acknowledge(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis lost: no copies until subscribed again
                self._listening = False
                self._forget()
                log.debug("the subscription to changes of the scheduled faults dropped: %s", exc)
                await asyncio.sleep(RESUBSCRIBE_SECONDS)
            finally:
                self._listening = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _acknowledge(self, nonce: bytes | str) -> None:
        key = self._ack_prefix + (nonce.decode() if isinstance(nonce, bytes) else nonce)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.rpush(key, 1)
            pipe.expire(key, ACK_KEEP_SECONDS)
            await pipe.execute()

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
