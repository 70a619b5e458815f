"""pytest plugin (entry point `images_emulator`): fixtures that run the images emulator.

- `images_emulator`: per test, a view of a server started once per test session (per xdist worker)
  on a free port, scoped to a fresh session id. For the test's duration OPENAI_BASE_URL and
  OPENAI_API_KEY point at it, so `openai.OpenAI()` built during the test reaches it. `.client()`,
  `.async_client()`, `.requests()`, `.fault(...)`, `.reset()`; see `images_emulator.testing.ImagesEmulator`.
- `images_emulator_inprocess`: the same API with the app in this process (no port, no subprocess);
  use `.client()` / `.async_client()` (an in-memory transport), not OPENAI_BASE_URL.
- `images_emulator_server` / `images_emulator_app`: the shared, unscoped objects behind them.

Configuration (ini): `images_emulator_args` (extra server flags, e.g. `--fixtures tests/fixtures`),
`images_emulator_url` or env IMAGES_EMULATOR_URL (use a running emulator instead of starting one).
EMULATOR_* environment variables apply too. Nothing here is autouse: tests that don't ask for these
fixtures start nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from images_emulator.testing.emulator import ImagesEmulator


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("images_emulator_args", "Extra images-emulator flags for the test server.", type="args", default=[])
    parser.addini("images_emulator_url", "URL of a running images emulator to use instead of starting one.")


def _session_id(request: pytest.FixtureRequest) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60].strip("-") or "test"
    return f"{worker}.{name}.{os.urandom(4).hex()}"


@pytest.fixture(scope="session")
def images_emulator_server(pytestconfig: pytest.Config) -> Iterator[ImagesEmulator]:
    """The emulator server of this test session (one per xdist worker), unscoped."""
    url = os.environ.get("IMAGES_EMULATOR_URL") or pytestconfig.getini("images_emulator_url") or None
    emulator = ImagesEmulator(url=url, args=pytestconfig.getini("images_emulator_args"))
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def images_emulator(images_emulator_server: ImagesEmulator, request: pytest.FixtureRequest) -> Iterator[ImagesEmulator]:
    """The emulator, scoped to this test: its own journal and faults; OPENAI_BASE_URL/API_KEY set."""
    view = images_emulator_server.session(_session_id(request))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", view.base_url)
        patch.setenv("OPENAI_API_KEY", view.api_key)
        yield view
    view.reset()


@pytest.fixture(scope="session")
def images_emulator_app() -> Iterator[ImagesEmulator]:
    """The in-process emulator of this test session (EMULATOR_* env settings apply), unscoped."""
    emulator = ImagesEmulator(inprocess=True)
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def images_emulator_inprocess(
    images_emulator_app: ImagesEmulator, request: pytest.FixtureRequest
) -> Iterator[ImagesEmulator]:
    """The in-process emulator, scoped to this test."""
    view = images_emulator_app.session(_session_id(request))
    yield view
    view.reset()
