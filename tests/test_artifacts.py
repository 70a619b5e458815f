"""`pytest --images-emulator-artifacts DIR`: per test, the images it received and a static index.html."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

pytest_plugins = ["pytester"]

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

USER_TESTS = """
import openai
import pytest


def test_draws_a_fox(images_emulator):
    client = openai.OpenAI()
    client.images.generate(model="gpt-image-1", prompt="a fox", quality="low", size="1024x1024")
    list(client.images.generate(model="gpt-image-1", prompt="a stream", quality="low", stream=True, partial_images=1))


def test_gets_an_error(images_emulator_inprocess):
    client = images_emulator_inprocess.client(max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.images.generate(model="gpt-image-1", prompt="x", size="13x13")
"""


@pytest.fixture
def artifacts(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nimages_emulator_args = --admin-key adm-secret-1\n")  # the pages' calls need it
    pytester.makepyfile(test_user=USER_TESTS)
    directory = pytester.path / "artifacts"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--images-emulator-artifacts", str(directory))
    result.assert_outcomes(passed=2)
    return directory


def recorded(directory: Path) -> dict[str, object]:
    text = (directory / "ui" / "data.js").read_text()
    data: dict[str, object] = json.loads(text.removeprefix("window.EMULATOR_STATIC = ").rstrip().rstrip(";"))
    return data


def test_artifacts_hold_each_tests_images_and_a_static_page(artifacts: Path) -> None:
    assert (artifacts / "index.html").is_file() and (artifacts / "ui" / "dashboard.js").is_file()
    images = sorted(p.relative_to(artifacts).as_posix() for p in artifacts.glob("*/*.png"))
    assert images == [
        "test_user.py-test_draws_a_fox/000-final-0.png",
        "test_user.py-test_draws_a_fox/001-final-0.png",
        "test_user.py-test_draws_a_fox/001-partial-0.0.png",
    ]
    with Image.open(artifacts / images[0]) as first:
        assert first.size == (1024, 1024)
    data = recorded(artifacts)
    entries = data["entries"]
    assert isinstance(entries, list)
    assert [(e["session"], e["status"]) for e in entries] == [
        ("test_user.py::test_draws_a_fox", 200),
        ("test_user.py::test_draws_a_fox", 200),
        ("test_user.py::test_gets_an_error", 400),
    ]
    assert entries[2]["error"] == {"code": "invalid_value", "param": "size"}


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium (.ci/run installs it)")
def test_the_artifacts_page_shows_the_thumbnails_from_files(artifacts: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto((artifacts / "index.html").as_uri())
        thumbs = page.locator("img.thumb")
        thumbs.first.wait_for()
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert thumbs.count() == 3
        assert "invalid_value" in page.locator("tr.status-4 td.error").inner_text()
        browser.close()
    with Image.open(io.BytesIO(next(artifacts.glob("*/thumbs/*.webp")).read_bytes())) as thumb:
        assert max(thumb.size) <= 160
