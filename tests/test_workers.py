"""`--workers N`: every worker serves the signed image URLs any other worker issued.

The CLI draws one EMULATOR_URL_SECRET per start and hands it to every worker, and a URL carries the whole
description of its image, so whichever worker accepts the connection re-renders it. Each response names
its worker (`x-emulator-worker`, the pid), which is how the test sees URLs cross from one to the other.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest
from helpers import png
from PIL import Image

from images_emulator.server.asgi import WORKER_HEADER
from images_emulator.server.settings import Settings
from images_emulator.server.workers import cpu_quota
from images_emulator.testing.process import EmulatorProcess, wait_healthy

HEADERS = {"Authorization": "Bearer sk-workers", "Connection": "close"}  # a new connection, so any worker
MAX_ATTEMPTS = 300


@pytest.fixture(scope="module")
def two_workers() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(args=("--workers", "2")) as process:  # no EMULATOR_URL_SECRET: the CLI draws one
        yield process


def test_urls_signed_by_one_worker_are_served_by_the_other(two_workers: EmulatorProcess) -> None:
    signers: set[str] = set()
    crossed = 0
    with httpx2.Client(base_url=two_workers.base_url, headers=HEADERS, timeout=60) as client:
        for attempt in range(MAX_ATTEMPTS):
            body = {"model": "dall-e-2", "size": "256x256", "prompt": f"a lighthouse, take {attempt}"}
            created = client.post("/v1/images/generations", json=body)
            assert created.status_code == 200, created.text
            image = client.get(created.json()["data"][0]["url"])
            assert image.status_code == 200, image.text
            assert Image.open(io.BytesIO(image.content)).size == (256, 256)
            signers.add(created.headers[WORKER_HEADER])
            crossed += created.headers[WORKER_HEADER] != image.headers[WORKER_HEADER]
            if len(signers) == 2 and crossed >= 2:
                break
    assert len(signers) == 2, "one worker took every connection"
    assert crossed >= 2


def test_every_worker_lists_every_request_in_the_journal(two_workers: EmulatorProcess) -> None:
    """The workers share the harness state (an SQLite store the CLI makes): each lists all requests."""
    session = {"X-Emulator-Session": "per-worker"}
    answered: dict[str, set[str]] = {}
    with httpx2.Client(base_url=two_workers.base_url, headers={**HEADERS, **session}, timeout=60) as client:
        for attempt in range(MAX_ATTEMPTS):
            body = {"model": "dall-e-2", "size": "256x256", "prompt": f"a kite {attempt}", "response_format": "url"}
            response = client.post("/v1/images/generations", json=body)
            answered.setdefault(response.headers[WORKER_HEADER], set()).add(response.headers["x-request-id"])
            if len(answered) == 2 and attempt >= 10:
                break
        journals: dict[str, set[str]] = {}
        for _ in range(MAX_ATTEMPTS):
            listing = client.get("/__emulator/requests")
            journals[listing.headers[WORKER_HEADER]] = {entry["id"] for entry in listing.json()["data"]}
            if len(journals) == 2:
                break
    everything = set().union(*answered.values())
    assert len(answered) == 2  # both workers answered some
    assert journals == {worker: everything for worker in answered}


def test_an_edit_answered_by_one_worker_shows_its_images_and_upload_thumbnails_on_the_other(
    two_workers: EmulatorProcess,
) -> None:
    with httpx2.Client(base_url=two_workers.base_url, headers=HEADERS, timeout=60) as client:
        edit = client.post(
            "/v1/images/edits",
            data={"model": "dall-e-2", "prompt": "a hat", "size": "256x256"},
            files={"image": ("scene.png", png(), "image/png")},
        )
        assert edit.status_code == 200, edit.text
        shown: dict[str, list[str]] = {}
        thumbnails: dict[str, bytes] = {}
        base = f"/__emulator/requests/{edit.headers['x-request-id']}"
        for _ in range(MAX_ATTEMPTS):
            exhibit = client.get(base + "/exhibit")
            assert exhibit.status_code == 200, exhibit.text
            shown[exhibit.headers[WORKER_HEADER]] = [p["role"] for p in exhibit.json()["pictures"]]
            thumbnail = client.get(base + "/thumbnails/0")  # the URL either worker's exhibit lists
            assert thumbnail.status_code == 200, thumbnail.text
            thumbnails[thumbnail.headers[WORKER_HEADER]] = thumbnail.content
            if len(shown) == 2 and len(thumbnails) == 2:
                break
        # The answering worker's page lists the upload at index 1: whichever worker is asked for its thumbnail
        # serves it (the answering worker shared the preview when it first developed the exhibit, above).
        uploads: dict[str, bytes] = {}
        for _ in range(MAX_ATTEMPTS):
            upload = client.get(base + "/thumbnails/1")
            assert upload.status_code == 200, upload.text
            assert upload.headers["content-type"] == "image/webp"
            uploads[upload.headers[WORKER_HEADER]] = upload.content
            if len(uploads) == 2:
                break
    answered_by = edit.headers[WORKER_HEADER]
    other = next(worker for worker in shown if worker != answered_by)
    assert shown[answered_by] == ["final", "upload"]  # the worker that answered has the upload too
    assert shown[other] == ["final"]
    assert thumbnails[answered_by] == thumbnails[other]  # the same picture at the same index
    assert len(uploads) == 2 and uploads[answered_by] == uploads[other]
    assert Image.open(io.BytesIO(uploads[other])).format == "WEBP"


@pytest.mark.parametrize(
    ("text", "cores"), [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1), ("", None)]
)
def test_a_cgroup_cpu_quota_bounds_the_auto_worker_count(tmp_path, text: str, cores: int | None) -> None:  # type: ignore[no-untyped-def]
    quota = tmp_path / "cpu.max"
    quota.write_text(text)
    assert cpu_quota(str(quota)) == cores
    assert cpu_quota(str(tmp_path / "missing")) is None


def test_auto_is_the_default_and_a_test_server_runs_one_worker() -> None:
    assert Settings().workers == "auto"
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "s"}) as server:
        workers = {httpx2.get(server.base_url + "/health").headers[WORKER_HEADER] for _ in range(8)}
        assert len(workers) == 1


def test_port_0_gives_every_worker_one_free_port_that_the_banner_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "images_emulator", "--port", "0", "--workers", "2"]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            banner = ""
            while "images-emulator" not in banner and process.poll() is None:
                banner = log.read_text()  # the banner comes first, before the workers start
            url = re.search(r"at (http://127\.0\.0\.1:(\d+))", banner)
            assert url is not None and url[2] != "0", banner
            wait_healthy(url[1], 30, process)
            workers = set()
            for _ in range(MAX_ATTEMPTS):
                workers.add(httpx2.get(url[1] + "/health", headers={"Connection": "close"}).headers[WORKER_HEADER])
                if len(workers) == 2:
                    break
            assert len(workers) == 2  # both listen on the port the banner names
        finally:
            process.terminate()
            process.wait(timeout=15)
