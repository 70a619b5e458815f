"""Latency: parsing, the realistic table, and its effect (lower bounds only, never timed upper bounds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY
from pydantic import ValidationError

from images_emulator.contract.validation import validate_generation
from images_emulator.harness.latency import LatencyMode, latency_seconds, parse_latency, realistic_seconds
from images_emulator.server.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}
BODY = {"model": "gpt-image-1", "prompt": "x", "quality": "low"}


def job(**overrides: Any) -> Any:
    return validate_generation({**BODY, **overrides}, LEGACY)


@pytest.mark.parametrize(
    ("text", "mode"),
    [("none", LatencyMode()), ("realistic", LatencyMode(realistic=True)), ("250", LatencyMode(fixed_ms=250.0))],
)
def test_parse(text: str, mode: LatencyMode) -> None:
    assert parse_latency(text) == mode


@pytest.mark.parametrize("text", ["fast", "-5", "nan", "inf", "1_000", "0x10"])
def test_bad_latency_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ValidationError, match="latency must be"):
        Settings(latency=text)


def test_realistic_grows_with_quality_size_and_n() -> None:
    low, high = realistic_seconds(job()), realistic_seconds(job(quality="high"))
    assert low == LEGACY.models["gpt-image-1"].latency["low"] < high
    assert realistic_seconds(job(size="1536x1024")) > low
    assert realistic_seconds(job(n=3)) > low
    assert realistic_seconds(job(model="dall-e-3", quality=None)) == LEGACY.models["dall-e-3"].latency["standard"]


def test_scale_applies_to_realistic_only_and_the_header_wins() -> None:
    realistic = LatencyMode(realistic=True)
    assert latency_seconds(realistic, 0.5, job(), None) == LEGACY.models["gpt-image-1"].latency["low"] * 0.5
    assert latency_seconds(LatencyMode(fixed_ms=300), 0.5, job(), None) == 0.3
    assert latency_seconds(realistic, 0.5, job(), "40") == 0.04


def processing_ms(client: TestClient, **headers: str) -> int:
    response = client.post("/v1/images/generations", json=BODY, headers=headers)
    assert response.status_code == 200
    return int(response.headers["openai-processing-ms"])


def test_header_latency_delays_the_response(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(), headers=AUTH) as client:
        assert processing_ms(client, **{"X-Emulator-Latency-Ms": "300"}) >= 300


def test_configured_latency_delays_the_response(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(latency="250"), headers=AUTH) as client:
        assert processing_ms(client) >= 250


def test_realistic_latency_scaled_down(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(latency="realistic", latency_scale=0.02), headers=AUTH) as client:
        assert processing_ms(client) >= LEGACY.models["gpt-image-1"].latency["low"] * 0.02 * 1000


@pytest.mark.parametrize("value", ["soon", "1_000", "Infinity"])
def test_bad_latency_header_is_a_400(app_factory: Callable[..., Any], value: str) -> None:
    with TestClient(app_factory(), headers=AUTH) as client:
        response = client.post("/v1/images/generations", json=BODY, headers={"X-Emulator-Latency-Ms": value})
    assert response.status_code == 400
    assert "X-Emulator-Latency-Ms" in response.json()["error"]["message"]
