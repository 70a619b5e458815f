"""The complete examples of the README and docs/harness.md run as written.

A fenced block right after `<!-- example: PATH -->` is the file PATH of one project (a user's: an app,
its tests); pytest runs that project with the plugin, as `python -m pytest` at its root would. The quick
start's script runs against a server on port 8000, as the README says.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from images_emulator.testing.process import EmulatorProcess

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "harness.md"]
EXAMPLE = re.compile(r"<!-- example: (\S+)[^>]*-->\n```\w*\n(.*?)```", re.S)
TEST_FUNCTION = re.compile(r"^(?:async )?def test_", re.M)


def examples(page: Path) -> list[tuple[str, str]]:
    return EXAMPLE.findall(page.read_text())


def project_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for page in PAGES:
        for path, text in examples(page):
            assert path not in files, f"{page.name}: two examples are {path}"
            files[path] = text
    return files


def test_every_page_has_examples() -> None:
    assert [page.name for page in PAGES if not examples(page)] == []


def test_the_examples_run_as_written(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMULATOR_API_DATE", raising=False)  # the API a user gets: the default date
    files = project_files()
    for path, text in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    tests = sum(len(TEST_FUNCTION.findall(text)) for path, text in files.items() if "/test_" in f"/{path}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE")
    result.assert_outcomes(passed=tests)
    assert tests >= 8


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_quick_start_script_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not port_is_free(8000):
        pytest.skip("port 8000 is taken on this machine")
    monkeypatch.delenv("EMULATOR_API_DATE", raising=False)
    script = tmp_path / "quickstart.py"
    script.write_text(project_files()["quickstart.py"])
    with EmulatorProcess(port=8000):
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1536x864 Usage(")


def curl_lines(page: Path) -> list[str]:
    """The curl commands of `page`'s shell blocks that ask a server on port 8000, each on one line."""
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", page.read_text(), re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("curl ") and "localhost:8000" in command:
                lines.append(command.split("  #")[0])
    return lines


def test_the_harness_curl_lines_work_as_written() -> None:
    commands = curl_lines(ROOT / "docs" / "harness.md")
    assert len(commands) >= 4
    with EmulatorProcess() as server:
        for command in commands:
            command = command.replace("curl ", "curl -fsS ", 1).replace("localhost:8000", f"127.0.0.1:{server.port}")
            done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
