"""The command pauses Python's garbage collector for the start; the app's lifespan freezes what the start
built and resumes it. An app made in a test's own process leaves the collector as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from images_emulator.server import collector
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    collector.freeze_and_resume()  # a pause a test left
    gc.enable()  # a test's own gc.disable()


def test_the_paused_collector_runs_again_once_the_app_has_started() -> None:
    collector.pause()
    assert not gc.isenabled()
    frozen_before = gc.get_freeze_count()
    with TestClient(create_app(Settings(url_secret="s"))) as client:
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen_before  # the start's objects are out of the collector's way
        assert client.get("/health").status_code == 200


def test_an_app_started_in_a_test_process_leaves_a_collector_its_owner_disabled() -> None:
    gc.disable()
    with TestClient(create_app(Settings(url_secret="s"))) as client:
        assert client.get("/health").status_code == 200
        assert not gc.isenabled()


def test_pausing_an_already_disabled_collector_does_not_resume_it_later() -> None:
    gc.disable()
    collector.pause()
    collector.freeze_and_resume()
    assert not gc.isenabled()
