"""Shared fixtures: the app in-process, a real uvicorn server, openai clients, spec validation."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY_API_DATE
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings
from images_emulator.testing.process import EmulatorProcess

# Every server and Settings() of the suite inherits the legacy date (see helpers.LEGACY_API_DATE).
os.environ["EMULATOR_API_DATE"] = LEGACY_API_DATE

API_KEY = "sk-test-emulator"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _find_spec() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "spec" / "images-openapi.json"
        if candidate.exists():
            return candidate
    return None


SPEC_PATH = _find_spec()


@pytest.fixture(scope="session")
def spec_validator() -> Callable[[str, Any], None]:
    """validate(schema_name, instance): raises if `instance` does not match the official spec schema."""
    if SPEC_PATH is None:
        pytest.skip("official spec (shared/spec/images-openapi.json) not found next to this checkout")
    document = json.loads(SPEC_PATH.read_text())
    registry = Registry().with_resource(
        "urn:images", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validators: dict[str, Draft202012Validator] = {}

    def validate(name: str, instance: Any) -> None:
        if name not in validators:
            schema = {"$ref": f"urn:images#/components/schemas/{name}"}
            validators[name] = Draft202012Validator(schema, registry=registry)
        validators[name].validate(instance)

    return validate


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
