"""Simulated generation time: `--latency none|realistic|<ms>` and the `X-Emulator-Latency-Ms` header.

`realistic` uses the catalog's typical durations for a 1024x1024 image (`ModelSpec.latency`; rough
public observations, not measurements), scaled by `--latency-scale`. Other sizes scale with the square root
of their pixel count; each extra image of `n` adds 20%. A fixed `<ms>` and the per-request header are
used as given (not scaled).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import Job

LATENCY_HEADER = "x-emulator-latency-ms"
# The longest the emulator waits on behalf of one request (simulated latency, a `timeout` fault's hold):
# the SDKs' default timeout (10 minutes), so any client timeout can still be provoked, while a stuck
# request ends on its own and SIGTERM never waits on a longer one than its graceful period allows.
MAX_WAIT_SECONDS = 600.0
MAX_WAIT_MS = MAX_WAIT_SECONDS * 1000

EXTRA_IMAGE_FACTOR = 0.2


@dataclass(frozen=True)
class LatencyMode:
    """A parsed `--latency` value: realistic, or a fixed number of milliseconds (0 = none)."""

    realistic: bool = False
    fixed_ms: float = 0.0


DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")  # not Python's `1_000`, `nan`, `inf`


def decimal(text: str) -> float | None:
    """A plain decimal number written in text (a header's), or None."""
    return float(text) + 0.0 if DECIMAL.fullmatch(text) else None  # + 0.0: no -0.0


def milliseconds(text: str) -> float | None:
    """A number of milliseconds from 0 to MAX_WAIT_MS, or None."""
    ms = decimal(text)
    return ms if ms is not None and 0 <= ms <= MAX_WAIT_MS else None


def parse_latency(value: str) -> LatencyMode:
    """`none`, `realistic` or a non-negative number of milliseconds; ValueError otherwise."""
    text = value.strip().lower()
    if text in ("", "none", "0"):
        return LatencyMode()
    if text == "realistic":
        return LatencyMode(realistic=True)
    ms = milliseconds(text)
    if ms is None:
        raise ValueError(
            f"latency must be 'none', 'realistic' or a number of milliseconds up to {MAX_WAIT_MS:.0f}, not {value!r}"
        )
    return LatencyMode(fixed_ms=ms)


def realistic_seconds(job: Job) -> float:
    """Typical generation time of `job` (unscaled)."""
    table = job.spec.latency
    base = table.get(job.quality) or max(table.values(), default=0.0)
    size_factor = math.sqrt(job.width * job.height / (1024 * 1024))
    return base * size_factor * (1 + EXTRA_IMAGE_FACTOR * (job.n - 1))


def header_ms(value: str) -> float:
    """The `X-Emulator-Latency-Ms` value, or a 400 in OpenAI's envelope."""
    ms = milliseconds(value)
    if ms is None:
        raise ApiError(
            400,
            f"Invalid X-Emulator-Latency-Ms header: {value!r}. Expected a number of milliseconds from 0 to "
            f"{MAX_WAIT_MS:.0f}.",
            code="invalid_emulator_header",
        )
    return ms


def latency_seconds(mode: LatencyMode, scale: float, job: Job, header: str | None) -> float:
    """Seconds to simulate for `job`: the header wins, then the configured mode."""
    if header is not None:
        return header_ms(header) / 1000
    if mode.realistic:
        return min(realistic_seconds(job) * scale, MAX_WAIT_SECONDS)
    return mode.fixed_ms / 1000
