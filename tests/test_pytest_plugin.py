"""The pytest plugin, run the way a user's project runs it (pytester, in a subprocess)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from images_emulator.testing import RealApiBlocked
from images_emulator.testing.outbound import SESSION_HEADER, Outbound
from images_emulator.testing.process import free_port

pytest_plugins = ["pytester"]

REPO_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

MY_APP = '''
import base64

from openai import OpenAI


def make_thumbnail(prompt):
    """The app under test: builds its own client from OPENAI_BASE_URL / OPENAI_API_KEY."""
    client = OpenAI()
    result = client.images.generate(model="gpt-image-1", prompt=prompt, size="1024x1024", quality="low")
    return base64.b64decode(result.data[0].b64_json)
'''


def test_the_issue_example_passes_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_app=MY_APP)
    pytester.makepyfile(
        test_thumbnails="""
import my_app


def test_my_app_retries_on_rate_limit(images_emulator):          # pytest fixture from our plugin
    images_emulator.fault("rate_limit", times=2)                  # next two requests get 429
    assert my_app.make_thumbnail("a cat") is not None              # the SDK retried through them
    assert [r["status"] for r in images_emulator.requests()] == [429, 429, 200]
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_fixtures_isolate_tests_and_take_configuration(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_app=MY_APP)
    pytester.makeini(f"[pytest]\nimages_emulator_args = --fixtures {REPO_FIXTURES}\n")
    pytester.makepyfile(
        test_plugin="""
import asyncio
import io

import openai
import pytest
from PIL import Image

import my_app


def test_fixture_image_through_the_app(images_emulator):
    image = Image.open(io.BytesIO(my_app.make_thumbnail("a cat")))
    assert image.convert("RGB").getpixel((512, 40)) == (247, 160, 60)


def test_a_fault_left_over_by_a_test_does_not_leak(images_emulator):
    images_emulator.fault("server_error", times=5)


def test_each_test_sees_only_its_requests(images_emulator):
    assert images_emulator.requests() == []
    assert images_emulator.faults() == []
    images_emulator.client().images.generate(prompt="x", size="256x256")
    assert [(r["path"], r["status"]) for r in images_emulator.requests()] == [("/v1/images/generations", 200)]
    images_emulator.reset()
    assert images_emulator.requests() == []


def test_async_client_and_match(images_emulator):
    images_emulator.fault("content_policy", model="dall-e-3")

    async def run():
        client = images_emulator.async_client(max_retries=0)
        await client.images.generate(model="gpt-image-1", prompt="x", quality="low")
        with pytest.raises(openai.BadRequestError) as info:
            await client.images.generate(model="dall-e-3", prompt="x")
        return info.value.code

    assert asyncio.run(run()) == "content_policy_violation"


def test_in_process_mode(images_emulator_inprocess):
    images_emulator_inprocess.fault("rate_limit")
    result = images_emulator_inprocess.client().images.generate(model="gpt-image-1", prompt="x", quality="low")
    assert result.data[0].b64_json
    assert [r["status"] for r in images_emulator_inprocess.requests()] == [429, 200]
    with pytest.raises(openai.APIConnectionError):
        images_emulator_inprocess.fault("disconnect")
        images_emulator_inprocess.client(max_retries=0).images.generate(model="gpt-image-1", prompt="x")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=5)


def test_plugin_starts_nothing_for_tests_that_do_not_ask(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
def test_plain():
    assert 1 + 1 == 2
"""
    )
    pytester.makeconftest(
        """
import images_emulator.testing.process as sp

def _refuse(self, timeout=30.0):
    raise AssertionError("the plugin started a server for a test that did not ask for one")

sp.EmulatorProcess.start = _refuse
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


MODULE_LEVEL_APP = '''
import base64

from openai import OpenAI

client = OpenAI()  # built at import time, before any test: it reads OPENAI_BASE_URL / OPENAI_API_KEY then


def make_thumbnail(prompt):
    result = client.images.generate(model="gpt-image-1", prompt=prompt, size="1024x1024", quality="low")
    return base64.b64decode(result.data[0].b64_json)
'''


def test_a_users_project_never_reaches_the_paid_api(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project laid out as users do: the ini at the root naming a relative fixtures directory and a key,
    an app with a module-level client, pytest run from tests/ with a real-looking key in the shell."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-must-never-be-used")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    (pytester.path / "image_fixtures").mkdir()
    for name in ("fixtures.yaml", "cat.png", "sunset.png", "logo.png"):
        (pytester.path / "image_fixtures" / name).write_bytes((REPO_FIXTURES / name).read_bytes())
    pytester.makeini(
        "[pytest]\npythonpath = .\n"
        "images_emulator_args = --fixtures image_fixtures --api-key sk-proj-configured-1234\n"
    )
    pytester.makepyfile(my_app=MODULE_LEVEL_APP)
    tests = pytester.mkdir("tests")
    (tests / "test_app.py").write_text(
        """
import asyncio
import io
import os
import time

import openai
import pytest
from PIL import Image

import my_app
from images_emulator.testing import RealApiBlocked


def test_module_level_client_counts_as_the_tests(images_emulator):
    images_emulator.fault("rate_limit")
    image = Image.open(io.BytesIO(my_app.make_thumbnail("a cat")))
    assert image.convert("RGB").getpixel((512, 40)) == (247, 160, 60)   # the fixture, path relative to the ini
    assert [r["status"] for r in images_emulator.requests()] == [429, 200]
    assert my_app.client.api_key == "sk-proj-configured-1234"


def test_client_uses_the_configured_key(images_emulator):
    assert images_emulator.client(max_retries=0).images.generate(prompt="x", size="256x256").data


def test_in_process_takes_the_ini_args(images_emulator_inprocess):
    client = images_emulator_inprocess.client(max_retries=0)
    result = client.images.generate(model="gpt-image-1", prompt="a cat", size="1024x1024", quality="low")
    image = Image.open(io.BytesIO(__import__("base64").b64decode(result.data[0].b64_json)))
    assert image.convert("RGB").getpixel((512, 40)) == (247, 160, 60)


def test_in_process_serves_module_level_and_env_built_clients(images_emulator_inprocess):
    images_emulator_inprocess.fault("rate_limit")
    assert my_app.make_thumbnail("a dog").startswith(b"\\x89PNG")
    assert openai.OpenAI().images.generate(model="gpt-image-1", prompt="x", quality="low").data
    asyncio.run(openai.AsyncOpenAI().images.generate(model="gpt-image-1", prompt="y", quality="low"))
    assert [r["status"] for r in images_emulator_inprocess.requests()] == [429, 200, 200, 200]


def test_the_paid_api_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(RealApiBlocked, match="images_emulator_allow_real_api = true"):
        openai.OpenAI(base_url="https://api.openai.com/v1").images.generate(prompt="x")
    with pytest.raises(RealApiBlocked, match="nothing was sent"):
        asyncio.run(openai.AsyncOpenAI(base_url="https://api.openai.com/v1").images.generate(prompt="x"))
    assert time.monotonic() - started < 1            # no retries, no backoff
    assert os.environ["OPENAI_BASE_URL"].startswith("http://127.0.0.1:")


def test_an_unused_fault_warns(images_emulator):
    images_emulator.fault("server_error", model="dall-e-3")


@pytest.mark.filterwarnings("error::images_emulator.testing.UnusedFaultWarning")
def test_an_unused_fault_can_fail_the_test(images_emulator):
    images_emulator.fault("overloaded", times=2)
"""
    )
    monkeypatch.chdir(tests)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=7, errors=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*UnusedFaultWarning: the fault 'server_error' (times=1) matching {'model': 'dall-e-3'} *matched by no*",
            "ERROR *test_an_unused_fault_can_fail_the_test*",
        ]
    )


def test_a_bad_fixtures_file_fails_the_session_with_the_emulators_message(pytester: pytest.Pytester) -> None:
    (pytester.path / "image_fixtures").mkdir()
    (pytester.path / "image_fixtures" / "fixtures.yaml").write_text("- match: {prompt: cat}\n  image: dog.png\n")
    pytester.makeini("[pytest]\nimages_emulator_args = --fixtures image_fixtures\n")
    pytester.makepyfile(test_one="def test_one(images_emulator):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["*the test server did not start*", "*fixtures.yaml:2: image file 'dog.png' not found*"]
    )


def test_an_emulator_url_nothing_answers_at_fails_the_session_saying_which_setting(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(f"[pytest]\nimages_emulator_url = http://127.0.0.1:{free_port()}\n")
    pytester.makepyfile(test_one="def test_one(images_emulator):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*no emulator answered at http://127.0.0.1:*/health within 5 s*images_emulator_url*"])
    assert "Traceback" not in result.stdout.str() and "URLError" not in result.stdout.str()


def test_an_app_client_sending_first_to_an_unreachable_emulator_url_ends_the_run_once(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(f"[pytest]\nimages_emulator_url = http://127.0.0.1:{free_port()}\n")
    test = "import openai\n\ndef test_{0}():\n    openai.OpenAI().images.generate(model='m', prompt='p')\n"
    pytester.makepyfile(test_one=test.format("one"), test_two=test.format("two"))  # no fixture: the app's client
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*the test server did not start*", "*no emulator answered at*images_emulator_url*"])
    assert "EmulatorStartError" not in result.stdout.str() and "2 failed" not in result.stdout.str()


# --- the outbound policy, unit by unit (no request is sent) -------------------------------------------------


def outbound_request(url: str, **headers: str) -> httpx2.Request:
    return httpx2.Request("POST", url, headers=headers)


@pytest.mark.parametrize(
    "url",
    ["https://api.openai.com/v1/images/generations", "https://API.OpenAI.com./v1/x", "https://my-res.openai.azure.com/x"],
)
def test_the_paid_api_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(RealApiBlocked, match="nothing was sent"):
        Outbound("http://127.0.0.1:9").check(outbound_request(url))
    assert Outbound("http://127.0.0.1:9", allow_real_api=True).check(outbound_request(url)) is False


def test_requests_to_the_emulator_get_the_running_tests_session() -> None:
    policy = Outbound("http://127.0.0.1:9", session="t-1")
    plain = outbound_request("http://127.0.0.1:9/v1/images/generations")
    named = outbound_request("http://127.0.0.1:9/v1/images/edits", **{SESSION_HEADER: "mine"})
    admin = outbound_request("http://127.0.0.1:9/__emulator/requests")
    elsewhere = outbound_request("http://127.0.0.1:10/v1/images/generations")
    assert [policy.check(r) for r in (plain, named, admin, elsewhere)] == [True, True, True, False]
    assert [r.headers.get(SESSION_HEADER) for r in (plain, named, admin, elsewhere)] == ["t-1", "mine", None, None]
