"""Optional per-API-key rate limits (`--rate-limit-rpm`, `--rate-limit-ipm`) and their 429s and headers.

Sliding window: a request is admitted when the requests (or images, `n` each) admitted for the same
key during the last 60 seconds plus this one stay within the limit. Refused requests are not counted.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from images_emulator.contract.errors import ApiError

WINDOW_SECONDS = 60.0
ORGANIZATION = "org-emulator"
RATE_LIMIT_MESSAGE = (
    "Rate limit reached for {model} in organization {organization} on {unit}: Limit {limit}, Used {used}, "
    "Requested {requested}. Please try again in {retry_in}. Visit https://platform.openai.com/account/rate-limits "
    "to learn more."
)
# What each limit is called in messages, and the suffix of its x-ratelimit-* headers.
UNITS = MappingProxyType({"requests": "requests per min (RPM)", "images": "images per min (IPM)"})


def format_duration(seconds: float) -> str:
    """OpenAI's reset/retry durations: `20ms`, `1s`, `2.5s`, `6m0s`."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def retry_headers(seconds: float) -> dict[str, str]:
    """`retry-after` (whole seconds, rounded up) and `retry-after-ms`, which both SDKs read first."""
    return {"retry-after": str(math.ceil(seconds)), "retry-after-ms": str(round(seconds * 1000))}


def rate_limit_error(
    unit: str, *, model: str, limit: int, used: int, requested: int, retry_s: float, headers: dict[str, str]
) -> ApiError:
    """The 429 the real API answers when `unit` ("requests" or "images") is exhausted."""
    message = RATE_LIMIT_MESSAGE.format(
        model=model,
        organization=ORGANIZATION,
        unit=UNITS[unit],
        limit=limit,
        used=used,
        requested=requested,
        retry_in=format_duration(retry_s),
    )
    return ApiError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)


@dataclass
class Window:
    """What one key spent on one unit during the last WINDOW_SECONDS: (time, amount) events."""

    events: deque[tuple[float, int]] = field(default_factory=deque)

    def used(self, now: float) -> int:
        while self.events and self.events[0][0] <= now - WINDOW_SECONDS:
            self.events.popleft()
        return sum(amount for _, amount in self.events)

    def wait_for(self, now: float, amount: int, limit: int) -> float:
        """Seconds until `amount` more fits under `limit` (a full window if it never can)."""
        excess = self.used(now) + amount - limit
        for started, spent in self.events:
            excess -= spent
            if excess <= 0:
                return started + WINDOW_SECONDS - now
        return WINDOW_SECONDS

    def reset_in(self, now: float) -> float:
        """Seconds until the window is empty again."""
        return self.events[-1][0] + WINDOW_SECONDS - now if self.used(now) else 0.0


class RateLimiter:
    """Request and image budgets per API key."""

    def __init__(self, rpm: int | None, ipm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {unit: limit for unit, limit in (("requests", rpm), ("images", ipm)) if limit}
        self.clock = clock
        self._windows: dict[tuple[str, str], Window] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.limits)

    def _window(self, key: str, unit: str) -> Window:
        return self._windows.setdefault((key, unit), Window())

    def admit(self, key: str, images: int, model: str) -> ApiError | None:
        """Count one request of `images` images for `key`, or the 429 when a limit is reached."""
        amounts = {"requests": 1, "images": images}
        with self._lock:
            now = self.clock()
            for unit, limit in self.limits.items():
                window = self._window(key, unit)
                used = window.used(now)
                if used + amounts[unit] > limit:
                    wait = window.wait_for(now, amounts[unit], limit)
                    return rate_limit_error(
                        unit,
                        model=model,
                        limit=limit,
                        used=used,
                        requested=amounts[unit],
                        retry_s=wait,
                        headers=retry_headers(wait),
                    )
            for unit in self.limits:
                self._window(key, unit).events.append((now, amounts[unit]))
        return None

    def headers(self, key: str) -> dict[str, str]:
        """`x-ratelimit-{limit,remaining,reset}-{requests,images}` for `key` right now."""
        result: dict[str, str] = {}
        with self._lock:
            now = self.clock()
            for unit, limit in self.limits.items():
                window = self._window(key, unit)
                result[f"x-ratelimit-limit-{unit}"] = str(limit)
                result[f"x-ratelimit-remaining-{unit}"] = str(max(limit - window.used(now), 0))
                result[f"x-ratelimit-reset-{unit}"] = format_duration(window.reset_in(now))
        return result

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
