"""pytest plugin (entry point `images_emulator`): fixtures that run the images emulator.

For the whole test session, from the earliest hook (before conftest files and test modules are
imported), OPENAI_BASE_URL and OPENAI_API_KEY point at the emulator, so module-level clients reach
it, and requests an httpx/httpx2 client (every openai SDK) sends to the paid OpenAI API fail at once
(ini `images_emulator_allow_real_api = true` lifts that). The server starts on first use: when a
test asks for a fixture, or a client first sends to it.

- `images_emulator`: per test, a view of the session's server scoped to a fresh session id. Requests
  sent to the emulator during the test count as the test's, also from clients built at import time.
  `.client()`, `.async_client()`, `.requests()`, `.fault(...)`, `.reset()`; see `ImagesEmulator`.
  A fault no request of the test matched is reported at its end (`UnusedFaultWarning`).
- `images_emulator_inprocess`: the same API with the app in this process (no port, no subprocess):
  during the test, what httpx2 clients of this process send to the emulator goes to the app.
- `images_emulator_server` / `images_emulator_app`: the shared, unscoped objects behind them.

Configuration (ini): `images_emulator_args` (server flags; relative paths resolve against the ini
file's directory), `images_emulator_url` or env IMAGES_EMULATOR_URL (use a running emulator),
`images_emulator_allow_real_api`. EMULATOR_* environment variables apply too.
`--images-emulator-artifacts DIR` writes, per test, the images it received and a static DIR/index.html
(testing/artifacts.py).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from images_emulator.testing.artifacts import Artifacts
from images_emulator.testing.emulator import ImagesEmulator, UnusedFaultWarning
from images_emulator.testing.plugin_session import PluginConfig, PluginSession, fail_session, settings_from_args
from images_emulator.testing.process import EmulatorStartError

SESSION_KEY = pytest.StashKey[PluginSession]()
ARTIFACTS = pytest.StashKey[Artifacts]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("images_emulator_args", "Extra images-emulator flags for the test server.", type="args", default=[])
    parser.addini("images_emulator_url", "URL of a running images emulator to use instead of starting one.")
    parser.addini(
        "images_emulator_allow_real_api",
        "Let openai clients reach the paid api.openai.com during the test session.",
        type="bool",
        default=False,
    )
    parser.addoption(
        "--images-emulator-artifacts",
        metavar="DIR",
        default=None,
        help="Write, per test, the images it received from the emulator and a static DIR/index.html (the dashboard).",
    )


def _artifacts(config: pytest.Config) -> Artifacts | None:
    """The run's artifacts directory (per xdist worker), or None without --images-emulator-artifacts."""
    directory = config.getoption("images_emulator_artifacts", None)
    if not directory:
        return None
    found: Artifacts | None = config.stash.get(ARTIFACTS, None)
    if found is None:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        found = config.stash[ARTIFACTS] = Artifacts(Path(directory) / worker if worker else Path(directory))
    return found


def _record(view: ImagesEmulator, request: pytest.FixtureRequest) -> None:
    artifacts = _artifacts(request.config)
    if artifacts is not None:
        artifacts.record(view, request.node.nodeid)


def _begin(config: pytest.Config) -> None:
    if SESSION_KEY not in config.stash:
        session = PluginSession(PluginConfig.from_pytest(config))
        session.begin()
        config.stash[SESSION_KEY] = session


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before conftest files and test modules are imported: module-level clients see the emulator."""
    _begin(early_config)


def pytest_configure(config: pytest.Config) -> None:
    _begin(config)  # when the plugin was registered too late for the hook above (e.g. `pytest_plugins`)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.end()
        del config.stash[SESSION_KEY]


def _session_id(request: pytest.FixtureRequest) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60].strip("-") or "test"
    return f"{worker}.{name}.{os.urandom(4).hex()}"


def _report_unused_faults(view: ImagesEmulator) -> None:
    for rule in view.unused_faults():
        match = f" matching {rule['match']}" if rule["match"] else ""
        warnings.warn(
            UnusedFaultWarning(
                f"the fault {rule['fault']!r} (times={rule['times']}){match} scheduled in this test was matched "
                "by no request: did the code under test send to the emulator, on the endpoint and model the "
                "match names? (A request is this test's when it comes from this process or carries "
                f"the session in its base URL: {view.base_url})"
            ),
            stacklevel=1,
        )


@pytest.fixture(scope="session")
def images_emulator_server(pytestconfig: pytest.Config) -> ImagesEmulator:
    """The emulator server of this test session (one per xdist worker), unscoped."""
    try:
        return pytestconfig.stash[SESSION_KEY].emulator()
    except EmulatorStartError as exc:
        fail_session("the test server did not start", exc)


@pytest.fixture
def images_emulator(images_emulator_server: ImagesEmulator, request: pytest.FixtureRequest) -> Iterator[ImagesEmulator]:
    """The emulator, scoped to this test: its own journal and faults; OPENAI_BASE_URL/API_KEY set."""
    yield from _test_scope(images_emulator_server, request, local=None)


@pytest.fixture(scope="session")
def images_emulator_app(pytestconfig: pytest.Config) -> Iterator[ImagesEmulator]:
    """The in-process emulator of this test session (`images_emulator_args` and EMULATOR_* apply), unscoped."""
    session = pytestconfig.stash[SESSION_KEY]
    try:
        settings = settings_from_args(session.config.args, session.config.base_dir)
        emulator = ImagesEmulator(inprocess=True, settings=settings, args=session.config.args, api_key=session.api_key)
    except (SystemExit, Exception) as exc:
        fail_session(f"the in-process emulator did not start with images_emulator_args {session.config.args}", exc)
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def images_emulator_inprocess(
    images_emulator_app: ImagesEmulator, request: pytest.FixtureRequest
) -> Iterator[ImagesEmulator]:
    """The in-process emulator, scoped to this test: while it runs, what this process sends to the emulator
    (through OPENAI_BASE_URL, or a module-level client) goes to the app in process."""
    yield from _test_scope(images_emulator_app, request, local=images_emulator_app.local_app())


def _test_scope(emulator: ImagesEmulator, request: pytest.FixtureRequest, local: Any) -> Iterator[ImagesEmulator]:
    """`emulator` scoped to the test: its own session, what this process sends tagged with it (and routed
    to `local`, the in-process app, when given), OPENAI_* pointing at it; then its images recorded, its
    unused faults reported and its session reset."""
    outbound = request.config.stash[SESSION_KEY].outbound
    view = emulator.session(_session_id(request))
    outbound.session, outbound.local = view.session_id, local
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OPENAI_BASE_URL", view.base_url)
            patch.setenv("OPENAI_API_KEY", view.api_key)
            yield view
    finally:
        outbound.session, outbound.local = None, None
    try:
        _record(view, request)
        _report_unused_faults(view)
    finally:
        view.reset()
