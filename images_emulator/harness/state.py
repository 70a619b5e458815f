"""The harness of one emulator: its journal, scheduled faults, rate limiter and fixtures, and its options."""

from __future__ import annotations

from dataclasses import dataclass, field

from images_emulator.harness.fault_rules import FaultBook
from images_emulator.harness.fixtures import Fixtures
from images_emulator.harness.journal import Journal
from images_emulator.harness.latency import LatencyMode
from images_emulator.harness.ratelimit import RateLimiter


@dataclass(frozen=True)
class HarnessConfig:
    """What the harness does when a request asks for nothing in particular."""

    latency: LatencyMode = field(default_factory=LatencyMode)
    latency_scale: float = 1.0
    rate_limit_ipm: int | None = None  # also the `Limit N` of injected rate_limit faults
    fault_retry_after: float = 0.02  # seconds, for rate_limit faults that set none
    fault_hold_seconds: float = 30.0  # for timeout faults that set none


@dataclass
class Harness:
    config: HarnessConfig
    journal: Journal
    faults: FaultBook
    limiter: RateLimiter
    fixtures: Fixtures | None = None
