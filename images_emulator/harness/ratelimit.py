"""Optional per-API-key rate limits (`--rate-limit-rpm`, `--rate-limit-ipm`) and their 429s and headers.

Sliding window: a request is admitted when the requests (or images, `n` each) admitted for the same
key during the last 60 seconds plus this one stay within the limit. Refused requests are not counted.
The windows live in the harness's store (one budget across every worker and replica, as OpenAI counts
per organization), under a digest of the key, never the key itself.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from images_emulator.contract.errors import ApiError
from images_emulator.harness.store import Backend

WINDOW_SECONDS = 60.0
ORGANIZATION = "org-emulator"
RATE_LIMIT_CODE = "rate_limit_exceeded"
RATE_LIMIT_MESSAGE = (
    "Rate limit reached for {model} in organization {organization} on {unit}: Limit {limit}, Used {used}, "
    "Requested {requested}. Please try again in {retry_in}. Visit https://platform.openai.com/account/rate-limits "
    "to learn more."
)
# A request larger than the limit itself: OpenAI's "Request too large" wording (its TPM form), for images.
TOO_LARGE_MESSAGE = (
    "Request too large for {model} in organization {organization} on {unit}: Limit {limit}, Requested {requested}. "
    "The number of images must be reduced in order to run successfully. Visit "
    "https://platform.openai.com/account/rate-limits to learn more."
)
# What each limit is called in messages, and the suffix of its x-ratelimit-* headers.
UNITS = MappingProxyType({"requests": "requests per min (RPM)", "images": "images per min (IPM)"})
# The budget a 429's headers report for a unit no limit is set for (an injected fault, or the other unit).
NOMINAL_LIMITS = MappingProxyType({"requests": 50, "images": 5})
Events = list[list[float]]  # [time, amount] per admitted request, oldest first


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
    return ApiError(429, message, type="requests", code=RATE_LIMIT_CODE, headers=headers)


def ratelimit_headers(budgets: Mapping[str, tuple[int, int, float]]) -> dict[str, str]:
    """`x-ratelimit-{limit,remaining,reset}-<unit>` for each unit's (limit, remaining, reset seconds)."""
    headers: dict[str, str] = {}
    for unit, (limit, remaining, reset_s) in budgets.items():
        headers[f"x-ratelimit-limit-{unit}"] = str(limit)
        headers[f"x-ratelimit-remaining-{unit}"] = str(max(remaining, 0))
        headers[f"x-ratelimit-reset-{unit}"] = format_duration(reset_s)
    return headers


def _live(events: Events, now: float) -> Events:
    return [event for event in events if event[0] > now - WINDOW_SECONDS]


def _used(events: Events) -> int:
    return int(sum(amount for _, amount in events))


def _wait_for(events: Events, now: float, amount: int, limit: int) -> float:
    """Seconds until `amount` more fits under `limit` (a full window if it never can)."""
    excess = _used(events) + amount - limit
    for started, spent in events:
        excess -= int(spent)
        if excess <= 0:
            return started + WINDOW_SECONDS - now
    return WINDOW_SECONDS


def _reset_in(events: Events, now: float) -> float:
    """Seconds until the window is empty again."""
    return events[-1][0] + WINDOW_SECONDS - now if events else 0.0


class RateLimiter:
    """Request and image budgets per API key. When any limit is set, every answer reports both units (a unit
    without a limit reports a full NOMINAL_LIMITS budget and is never refused)."""

    def __init__(
        self, backend: Backend, rpm: int | None, ipm: int | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.backend = backend
        self.limits = {unit: limit for unit, limit in (("requests", rpm), ("images", ipm)) if limit}
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return bool(self.limits)

    @staticmethod
    def _name(key: str) -> str:
        return "rate:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _budgets(self, windows: Mapping[str, Events], now: float) -> dict[str, tuple[int, int, float]]:
        budgets = {}
        for unit in UNITS:
            if unit not in self.limits:  # never enforced, so never spent: a full nominal budget
                budgets[unit] = (NOMINAL_LIMITS[unit], NOMINAL_LIMITS[unit], 0.0)
                continue
            events = windows.get(unit, [])
            limit = self.limits[unit]
            budgets[unit] = (limit, limit - _used(events), _reset_in(events, now))
        return budgets

    async def admit(self, key: str, images: int, model: str) -> ApiError | None:
        """Count one request of `images` images for `key`, or the 429 when a limit is reached."""
        amounts = {"requests": 1, "images": images}
        now = self.clock()

        def change(value: dict[str, Events] | None) -> tuple[dict[str, Events], ApiError | None]:
            windows = {unit: _live((value or {}).get(unit, []), now) for unit in UNITS}
            for unit, limit in self.limits.items():
                if amounts[unit] > limit:  # never fits: no wait would help, and the SDK is told not to retry
                    headers = {"x-should-retry": "false", **ratelimit_headers(self._budgets(windows, now))}
                    message = TOO_LARGE_MESSAGE.format(
                        model=model, organization=ORGANIZATION, unit=UNITS[unit], limit=limit, requested=amounts[unit]
                    )
                    return windows, ApiError(429, message, type="requests", code=RATE_LIMIT_CODE, headers=headers)
                used = _used(windows[unit])
                if used + amounts[unit] > limit:
                    wait = _wait_for(windows[unit], now, amounts[unit], limit)
                    headers = {**retry_headers(wait), **ratelimit_headers(self._budgets(windows, now))}
                    requested = amounts[unit]
                    error = rate_limit_error(
                        unit, model=model, limit=limit, used=used, requested=requested, retry_s=wait, headers=headers
                    )
                    return windows, error
            for unit in UNITS:
                windows[unit].append([now, amounts[unit]])
            return windows, None

        return await self.backend.update(self._name(key), change, ttl=WINDOW_SECONDS)

    async def headers(self, key: str) -> dict[str, str]:
        """`x-ratelimit-{limit,remaining,reset}-<unit>` of both units for `key` right now, as a 429 reports them."""
        now = self.clock()
        value = await self.backend.read(self._name(key)) or {}
        windows = {unit: _live(value.get(unit, []), now) for unit in UNITS}
        return ratelimit_headers(self._budgets(windows, now))

    async def reset(self) -> None:
        await self.backend.delete_prefix("rate:")
