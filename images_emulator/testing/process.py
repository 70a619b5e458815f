"""Run the emulator as a subprocess on a free port (tests, the pytest plugin, benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO


class EmulatorStartError(RuntimeError):
    """The emulator exited before it became healthy; the message ends with what it printed."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    base_url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> float:
    """Poll GET /health until it answers 200; returns the seconds waited."""
    started = time.monotonic()
    delay = 0.01
    while True:
        if process is not None and process.poll() is not None:
            raise EmulatorStartError(f"emulator exited with code {process.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"emulator at {base_url} not healthy after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


class EmulatorProcess:
    """`python -m images_emulator` on a free loopback port, one worker unless `args` or EMULATOR_WORKERS
    say otherwise; a context manager.

    Relative paths in `args` resolve against `cwd` (default: the current directory). The server's
    stderr goes to a temporary file (`log_path`), whose tail ends the error when it fails to start."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
        cwd: str | Path | None = None,
        port: int | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.base_url = f"http://{self.host}:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.args = args
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> str | None:
        """The file the server's stderr goes to (None before start)."""
        return self._log.name if self._log is not None else None

    def log(self) -> str:
        """What the server printed on stderr so far."""
        path = Path(self._log.name) if self._log is not None else None
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        command = [sys.executable, "-m", "images_emulator", "--host", self.host, "--port", str(self.port)]
        # One worker unless told otherwise (later flags win): a test server starts faster and lighter.
        workers = () if "EMULATOR_WORKERS" in self.env else ("--workers", "1")
        # --exit-with-stdin: the pipe's write end is this process's alone, so the server stops when it ends, killed too.
        command += ["--log-level", "warning", "--exit-with-stdin", "true", *workers, *self.args]
        self._log = tempfile.NamedTemporaryFile(prefix="images-emulator-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            command, env=self.env, cwd=self.cwd, stdin=subprocess.PIPE, stderr=self._log, close_fds=True
        )
        try:
            self.startup_seconds = wait_healthy(self.base_url, timeout, self.process)
        except EmulatorStartError as exc:
            printed = self.log().strip()[-2000:]
            self.stop()
            raise EmulatorStartError(f"{exc}:\n{printed}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a graceful stop (closing stdin first would bring the lifeline's SIGINTs)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
