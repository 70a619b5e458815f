"""The wheel users install (`pip wheel .`) holds every file package-data declares (the tokenizer
vocabulary, and whatever else is declared there, e.g. the dashboard's assets), the pytest plugin's
entry point, and no tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):  # a copy: setuptools leaves build/ where it builds
        shutil.copy(ROOT / name, source)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "images_emulator", source / "images_emulator", ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)]
    subprocess.run(command, check=True, timeout=600, cwd=out)
    [path] = out.glob("images_emulator-*.whl")
    return zipfile.ZipFile(path)


def declared_package_data() -> list[str]:
    """Every file of the source tree that `[tool.setuptools.package-data]` declares."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    files = []
    for package, patterns in declared.items():
        directory = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            files += [p.relative_to(ROOT).as_posix() for p in directory.glob(pattern) if p.is_file()]
    return sorted(files)


def test_the_wheel_holds_the_declared_package_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    declared = declared_package_data()
    assert "images_emulator/contract/data/o200k_base.tiktoken.gz" in declared
    assert [name for name in declared if name not in names] == []


def test_the_wheel_registers_the_plugin_and_holds_no_tests(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[pytest11]\nimages_emulator = images_emulator.testing.pytest_plugin" in text
    assert [name for name in wheel.namelist() if not name.startswith("images_emulator")] == []
