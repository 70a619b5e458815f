"""The pytest plugin's state for one test session: its configuration, the OPENAI_* environment, the
outbound guard, and the emulator server, started on first use.

It is set up in the earliest hook, before conftest files and test modules are imported, so a module-level
`client = OpenAI()` reads an OPENAI_BASE_URL that points at the emulator (a port reserved then; the
server starts when a fixture asks for it or a client first sends to it).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from images_emulator.testing.emulator import ImagesEmulator, configured_api_key
from images_emulator.testing.outbound import Outbound, install, uninstall
from images_emulator.testing.process import EmulatorProcess, EmulatorStartError, wait_healthy

OPENAI_ENV = ("OPENAI_BASE_URL", "OPENAI_API_KEY")
REACH_SECONDS = 5  # how long a configured emulator (images_emulator_url) may take to answer /health


@dataclass(frozen=True)
class PluginConfig:
    """The ini options. Relative paths in `args` resolve against `base_dir`: the ini file's directory
    (the rootdir without one), wherever pytest runs from."""

    args: tuple[str, ...] = ()
    base_dir: Path = Path()
    url: str | None = None
    allow_real_api: bool = False

    @classmethod
    def from_pytest(cls, config: Any) -> PluginConfig:
        base_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        url = os.environ.get("IMAGES_EMULATOR_URL") or config.getini("images_emulator_url") or None
        return cls(
            args=tuple(config.getini("images_emulator_args")),
            base_dir=base_dir,
            url=url,
            allow_real_api=bool(config.getini("images_emulator_allow_real_api")),
        )


def fail_session(what: str, error: BaseException | str) -> NoReturn:
    """End the test run with the emulator's own message."""
    pytest.exit(f"images-emulator: {what}:\n{error}", returncode=pytest.ExitCode.USAGE_ERROR)


def settings_from_args(args: tuple[str, ...], base_dir: Path) -> Any:
    """Server Settings from command-line flags (plus EMULATOR_* env), for the in-process app."""
    from images_emulator.server.cli import build_parser
    from images_emulator.server.settings import Settings

    values = {name: value for name, value in vars(build_parser().parse_args(list(args))).items() if value is not None}
    if "fixtures" in values:
        values["fixtures"] = str(base_dir / values["fixtures"])
    return Settings(**values)


class PluginSession:
    """What the plugin sets up for a test session and takes down at its end."""

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.process: EmulatorProcess | None = None
        if config.url:
            self.root_url = config.url.rstrip("/")
        else:
            self.process = EmulatorProcess(args=config.args, cwd=config.base_dir)
            self.root_url = self.process.base_url
        self.api_key = configured_api_key(config.args)
        self.outbound = Outbound(self.root_url, config.allow_real_api, on_first_contact=self._first_contact)
        self._emulator: ImagesEmulator | None = None
        self._failure: EmulatorStartError | None = None
        self._lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}

    def begin(self) -> None:
        """Point OPENAI_BASE_URL / OPENAI_API_KEY at the emulator and install the outbound guard."""
        self._saved_env = {name: os.environ.get(name) for name in OPENAI_ENV}
        os.environ["OPENAI_BASE_URL"] = self.root_url + "/v1"
        os.environ["OPENAI_API_KEY"] = self.api_key
        install(self.outbound)

    def emulator(self) -> ImagesEmulator:
        """The session's emulator (unscoped), its server started on the first call."""
        if self._emulator is None:
            with self._lock:
                if self._failure is not None:  # once: not a new wait for every test
                    raise self._failure
                if self._emulator is None:
                    try:
                        if self.process is not None:
                            self.process.start()
                        else:
                            self._reach()
                    except EmulatorStartError as exc:
                        self._failure = exc
                        raise
                    self._emulator = ImagesEmulator(url=self.root_url, args=self.config.args, api_key=self.api_key)
        return self._emulator

    def _reach(self) -> None:
        """The configured emulator answers /health (within REACH_SECONDS: it may still be starting)."""
        try:
            wait_healthy(self.root_url, REACH_SECONDS)
        except Exception as exc:  # not answering in time, a malformed URL, something else than HTTP there
            reason = f"within {REACH_SECONDS} s" if isinstance(exc, TimeoutError) else f"({exc!r})"
            raise EmulatorStartError(
                f"no emulator answered at {self.root_url}/health {reason}. It is the one images_emulator_url "
                "(ini) or IMAGES_EMULATOR_URL (env) names: start it there, or remove the setting and the plugin "
                "starts its own."
            ) from None

    def _first_contact(self) -> None:
        """A client of the test process sends to the emulator before any fixture asked for it."""
        if self._emulator is None:
            try:
                self.emulator()
            except EmulatorStartError as exc:  # end the run, as the fixture does, not the app's one call
                fail_session("the test server did not start", exc)

    def end(self) -> None:
        """Undo `begin` and stop the server if this session started one."""
        uninstall()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self.process is not None:
            self.process.stop()
