"""The harness of one emulator: its store, journal, scheduled faults, rate limiter and fixtures, and its options."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from images_emulator.harness.fault_rules import FaultBook
from images_emulator.harness.fixtures import Fixtures
from images_emulator.harness.journal import Journal
from images_emulator.harness.latency import LatencyMode
from images_emulator.harness.ratelimit import RateLimiter
from images_emulator.harness.store import Backend, StoreUnavailable

log = logging.getLogger("images_emulator")
T = TypeVar("T")
WARN_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class HarnessConfig:
    """What the harness does when a request asks for nothing in particular."""

    latency: LatencyMode = field(default_factory=LatencyMode)
    latency_scale: float = 1.0
    rate_limit_rpm: int | None = None  # also what an injected 429's headers report
    rate_limit_ipm: int | None = None  # also the `Limit N` of injected rate_limit faults
    fault_retry_after: float = 0.02  # seconds, for rate_limit faults that set none
    fault_hold_seconds: float = 30.0  # for timeout faults that set none


@dataclass
class Harness:
    config: HarnessConfig
    store: Backend
    journal: Journal
    faults: FaultBook
    limiter: RateLimiter
    fixtures: Fixtures | None = None
    _warned_at: float = field(default=0.0, repr=False)

    @classmethod
    def over(cls, store: Backend, config: HarnessConfig, *, journal_size: int, fixtures: Fixtures | None) -> Harness:
        """A harness keeping its state in `store` (rate limits: the config's)."""
        limiter = RateLimiter(store, config.rate_limit_rpm, config.rate_limit_ipm)
        return cls(config, store, Journal(store, journal_size), FaultBook(store), limiter, fixtures)

    async def best_effort(self, call: Awaitable[T], default: T) -> T:
        """`await call`, or `default` when the store is unreachable: image requests never wait on it."""
        try:
            return await call
        except StoreUnavailable as exc:
            now = time.monotonic()
            if now - self._warned_at > WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("%s; image requests go on without the harness state", exc)
            return default
