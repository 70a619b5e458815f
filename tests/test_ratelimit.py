"""Rate limits: the sliding window, 429 wording and headers, through the SDK and raw HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from images_emulator.harness.ratelimit import RateLimiter, format_duration
from images_emulator.harness.store.memory import MemoryBackend
from images_emulator.server.settings import Settings
from images_emulator.testing.emulator import ImagesEmulator

AUTH = {"Authorization": "Bearer sk-limited"}
BODY = {"model": "dall-e-2", "prompt": "x", "size": "256x256", "response_format": "b64_json"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0ms"), (0.0123, "13ms"), (1, "1s"), (2.5, "2.5s"), (17.28, "17.28s"), (360, "6m0s"), (61.5, "1m1.5s")],
)
def test_durations_are_written_like_openai(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


async def test_requests_per_minute_slide() -> None:
    clock = Clock()
    limiter = RateLimiter(MemoryBackend(), rpm=2, ipm=None, clock=clock)
    assert await limiter.admit("k", 1, "dall-e-2") is None
    clock.now += 10
    assert await limiter.admit("k", 1, "dall-e-2") is None
    clock.now += 10
    error = await limiter.admit("k", 1, "dall-e-2")
    assert error is not None and error.status == 429
    assert error.message == (
        "Rate limit reached for dall-e-2 in organization org-emulator on requests per min (RPM): Limit 2, Used 2, "
        "Requested 1. Please try again in 40s. Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    assert (error.type, error.code) == ("requests", "rate_limit_exceeded")
    assert error.headers == {  # every 429 reports both budgets (images: a full nominal one, no limit set)
        "retry-after": "40",
        "retry-after-ms": "40000",
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "50s",
        "x-ratelimit-limit-images": "5",
        "x-ratelimit-remaining-images": "5",
        "x-ratelimit-reset-images": "0ms",
    }
    assert await limiter.admit("other-key", 1, "dall-e-2") is None  # per key
    clock.now += 40  # the first request leaves the window
    assert await limiter.admit("k", 1, "dall-e-2") is None


async def test_images_per_minute_count_n() -> None:
    clock = Clock()
    limiter = RateLimiter(MemoryBackend(), rpm=None, ipm=5, clock=clock)
    assert await limiter.admit("k", 3, "gpt-image-1") is None
    clock.now += 5
    error = await limiter.admit("k", 3, "gpt-image-1")
    assert error is not None
    assert "on images per min (IPM): Limit 5, Used 3, Requested 3. Please try again in 55s." in error.message
    assert await limiter.admit("k", 2, "gpt-image-1") is None  # refused requests are not counted
    assert await limiter.headers("k") == {  # both budgets, as a 429 reports them (requests: nominal, no limit set)
        "x-ratelimit-limit-requests": "50",
        "x-ratelimit-remaining-requests": "50",
        "x-ratelimit-reset-requests": "0ms",
        "x-ratelimit-limit-images": "5",
        "x-ratelimit-remaining-images": "0",
        "x-ratelimit-reset-images": "1m0s",
    }


@pytest.fixture
def limited(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(app_factory(rate_limit_rpm=2, rate_limit_ipm=10), headers=AUTH) as client:
        yield client


def test_headers_on_every_v1_response(limited: TestClient) -> None:
    ok = limited.post("/v1/images/generations", json=BODY)
    assert ok.headers["x-ratelimit-limit-requests"] == "2"
    assert ok.headers["x-ratelimit-remaining-requests"] == "1"
    assert ok.headers["x-ratelimit-limit-images"] == "10"
    assert ok.headers["x-ratelimit-remaining-images"] == "9"
    assert ok.headers["x-ratelimit-reset-requests"].endswith("s")
    invalid = limited.post("/v1/images/generations", json={**BODY, "size": "1x1"})
    assert invalid.status_code == 400 and invalid.headers["x-ratelimit-remaining-requests"] == "1"
    assert "x-ratelimit-limit-requests" not in limited.get("/health").headers


def test_limit_reached_is_a_429_until_reset(limited: TestClient) -> None:
    assert [limited.post("/v1/images/generations", json=BODY).status_code for _ in range(3)] == [200, 200, 429]
    refused = limited.post("/v1/images/generations", json=BODY)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    other = limited.post("/v1/images/generations", json=BODY, headers={"Authorization": "Bearer sk-other"})
    assert other.status_code == 200
    limited.post("/__emulator/reset")
    assert limited.post("/v1/images/generations", json=BODY).status_code == 200


def test_sdk_sees_rate_limit_error() -> None:
    settings = Settings(url_secret="s", rate_limit_ipm=2)
    with ImagesEmulator(inprocess=True, settings=settings) as emulator:
        client = emulator.client(max_retries=0)
        client.images.generate(**BODY, n=2)
        with pytest.raises(openai.RateLimitError) as info:
            client.images.generate(**BODY)
    assert info.value.code == "rate_limit_exceeded"
    assert "images per min (IPM): Limit 2, Used 2, Requested 1" in info.value.body["message"]
    assert info.value.response.headers["x-ratelimit-remaining-images"] == "0"


def test_a_request_larger_than_the_limit_is_refused_at_once_and_not_retried_by_the_sdk() -> None:
    settings = Settings(url_secret="s", rate_limit_ipm=4)
    with ImagesEmulator(inprocess=True, settings=settings) as emulator:
        with pytest.raises(openai.RateLimitError) as info:
            emulator.client().images.generate(**BODY, n=5)  # SDK default retries: not used
        assert len(emulator.requests()) == 1
        assert emulator.client().images.generate(**BODY, n=4).data  # it was not counted
    assert info.value.body["message"] == (
        "Request too large for dall-e-2 in organization org-emulator on images per min (IPM): Limit 4, Requested 5. "
        "The number of images must be reduced in order to run successfully. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    headers = info.value.response.headers
    assert headers["x-should-retry"] == "false" and "retry-after" not in headers


def test_headers_without_a_journal_too(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(rate_limit_rpm=2, journal_size=0), headers=AUTH) as client:
        response = client.post("/v1/images/generations", json=BODY)
    assert response.headers["x-ratelimit-remaining-requests"] == "1"
    assert response.headers["x-ratelimit-remaining-images"] == "5"  # no limit set: a full nominal budget


def test_disabled_by_default(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(), headers=AUTH) as client:
        response = client.post("/v1/images/generations", json=BODY)
    assert not any(name.startswith("x-ratelimit") for name in response.headers)
