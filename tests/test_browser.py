"""The dashboard and /docs in a real browser: headless Chromium (the system's, driven by Playwright)
against a real server, with the official SDK making the requests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from conftest import API_KEY

from images_emulator.testing.process import EmulatorProcess

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
GPT = {"model": "gpt-image-1", "prompt": "a red fox", "quality": "low", "size": "1024x1024"}

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium (.ci/run installs it)")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}) as process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, emulator: EmulatorProcess) -> Iterator[Any]:
    """A page whose requests may only reach the emulator: anything else is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.foreign = []  # type: ignore[attr-defined]

    def only_local(route: Any) -> None:
        if route.request.url.startswith(emulator.base_url):
            route.continue_()
        else:
            context.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def client(emulator: EmulatorProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url + "/v1", api_key=API_KEY, max_retries=0)


def row(page: Any, request_id: str) -> Any:
    return page.locator(f'tr.entry[data-id="{request_id}"]')


def test_dashboard_shows_the_thumbnail_of_a_generated_image(page: Any, client: openai.OpenAI, emulator: Any) -> None:
    request_id = client.images.with_raw_response.generate(**GPT).headers["x-request-id"]
    page.goto(emulator.base_url + "/__emulator/ui")
    thumb = row(page, request_id).locator("img.thumb").first
    thumb.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") > 0
    assert row(page, request_id).locator("td.model").inner_text() == "gpt-image-1"
    assert page.context.foreign == []


def test_a_long_journal_fetches_a_few_exhibits_at_a_time_and_the_open_entry_shows_its_response(
    page: Any, client: openai.OpenAI, emulator: Any
) -> None:
    ids = [client.images.with_raw_response.generate(**{**GPT, "prompt": f"fox {i}"}).headers["x-request-id"]
           for i in range(12)]  # fmt: skip
    flight = {"now": 0, "most": 0}

    def started(request: Any) -> None:
        if request.url.endswith("/exhibit"):
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])

    def ended(request: Any) -> None:
        if request.url.endswith("/exhibit"):
            flight["now"] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    page.goto(emulator.base_url + "/__emulator/ui")
    row(page, ids[3]).click()
    page.locator("#detail pre", has_text='"total_tokens"').wait_for()  # the open entry's response, not "(not kept)"
    for request_id in ids:
        row(page, request_id).locator("img.thumb").first.wait_for()
    assert 1 <= flight["most"] <= 4
    assert row(page, ids[3]).locator("td.images").is_visible()  # the detail does not push the images out of sight


def test_an_error_row_shows_its_code(page: Any, client: openai.OpenAI, emulator: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(**{**GPT, "size": "13x13"})  # type: ignore[arg-type]
    request_id = caught.value.response.headers["x-request-id"]
    page.goto(emulator.base_url + "/__emulator/ui")
    error = row(page, request_id).locator("td.error")
    error.wait_for()
    assert "invalid_value" in error.inner_text() and "size" in error.inner_text()
    assert row(page, request_id).locator("td.status").inner_text() == "400"


def test_the_fault_control_schedules_a_fault_the_next_sdk_call_gets(
    page: Any, client: openai.OpenAI, emulator: Any
) -> None:
    page.goto(emulator.base_url + "/__emulator/ui")
    page.locator("#fault-kind option[value=server_error]").wait_for(state="attached")
    page.select_option("#fault-kind", "server_error")
    page.fill("#fault-model", "gpt-image-1")
    page.click("#fault-add")
    page.locator("#fault-message.ok").wait_for()
    with pytest.raises(openai.InternalServerError) as caught:
        client.images.generate(**GPT)  # type: ignore[arg-type]
    request_id = caught.value.response.headers["x-request-id"]
    error = row(page, request_id).locator("td.error")
    error.wait_for()  # the live update shows it
    assert "fault server_error" in error.inner_text()
    assert client.images.generate(**GPT).data  # type: ignore[arg-type]  # times=1: used up


def test_the_live_update_shows_a_new_request_without_a_reload(page: Any, client: openai.OpenAI, emulator: Any) -> None:
    page.goto(emulator.base_url + "/__emulator/ui")
    page.locator("#live.up").wait_for()
    page.evaluate("window.loadedOnce = true")
    request_id = client.images.with_raw_response.generate(**GPT).headers["x-request-id"]
    row(page, request_id).locator("img.thumb").first.wait_for(timeout=10_000)
    assert page.evaluate("window.loadedOnce") is True  # the same document: no reload


def test_docs_show_create_image_with_the_network_cut_off(page: Any, emulator: Any) -> None:
    page.goto(emulator.base_url + "/docs")
    operation = page.get_by_text("Create image", exact=True).first
    operation.wait_for(timeout=20_000)
    assert operation.is_visible()
    assert page.context.foreign == []


def test_redoc_renders_and_asks_nothing_of_other_hosts(page: Any, emulator: Any) -> None:
    page.goto(emulator.base_url + "/redoc")
    operation = page.get_by_text("Create image", exact=True).first
    operation.wait_for(timeout=20_000)
    page.wait_for_load_state("networkidle")
    assert operation.is_visible()
    assert page.context.foreign == []


def test_with_several_workers_every_generation_shows_its_thumbnail(browser: Any) -> None:
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=("--workers", "2")) as server:
        ids = []
        for number in range(6):  # a client per request: new connections, whichever worker accepts them
            client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)
            answer = client.images.with_raw_response.generate(**{**GPT, "prompt": f"fox {number}"})
            ids.append(answer.headers["x-request-id"])
            client.close()
        page = browser.new_page()
        page.goto(server.base_url + "/__emulator/ui")
        for request_id in ids:
            thumb = row(page, request_id).locator("img.thumb").first
            thumb.wait_for(timeout=20_000)
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        page.close()


def test_with_an_admin_key_the_dashboard_works_behind_basic_auth(browser: Any) -> None:
    key = "adm-browser-key-1"
    with EmulatorProcess(env={"EMULATOR_URL_SECRET": "test-secret"}, args=("--admin-key", key)) as server:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)
        request_id = client.images.with_raw_response.generate(**GPT).headers["x-request-id"]
        anonymous = browser.new_context()
        refused = anonymous.request.get(server.base_url + "/__emulator/ui")
        assert refused.status == 401 and refused.headers["www-authenticate"].startswith("Basic")  # the prompt
        anonymous.close()
        context = browser.new_context(http_credentials={"username": "me", "password": key})
        page = context.new_page()
        page.goto(server.base_url + "/__emulator/ui")
        thumb = row(page, request_id).locator("img.thumb").first
        thumb.wait_for()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        context.close()
