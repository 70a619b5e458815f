"""Shared fixtures: the app in-process, a real uvicorn server, openai clients, spec validation."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import helpers
import httpx2
import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY_API_DATE

from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings
from images_emulator.testing.process import EmulatorProcess

# Every server and Settings() of the suite inherits the legacy date (see helpers.LEGACY_API_DATE).
os.environ["EMULATOR_API_DATE"] = LEGACY_API_DATE

API_KEY = "sk-test-emulator"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def spec_validator() -> Callable[[str, Any], None]:
    """validate(schema_name, instance): raises if `instance` does not match the official spec schema."""
    return lambda name, instance: helpers.spec_validator(name).validate(instance)


def make_settings(**overrides: Any) -> Settings:
    return Settings(url_secret="test-secret", **overrides)


@pytest.fixture
def app_factory() -> Callable[..., Any]:
    return lambda **overrides: create_app(make_settings(**overrides))


@pytest.fixture
def api() -> Iterator[TestClient]:
    """In-process client with a valid key."""
    with TestClient(create_app(make_settings()), headers=AUTH) as client:
        yield client


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorProcess]:
    """A real `python -m images_emulator` on a free port for the whole session."""
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}) as process:
        yield process


@pytest.fixture
def openai_client(server: EmulatorProcess) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)


@pytest.fixture
def async_openai_client(server: EmulatorProcess) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)


@pytest.fixture
def http(server: EmulatorProcess) -> Iterator[httpx2.Client]:
    """Raw HTTP against the real server."""
    with httpx2.Client(base_url=server.base_url, headers=AUTH, timeout=30) as client:
        yield client
