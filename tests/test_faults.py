"""Faults: every kind through the real openai SDK against a real server, triggers, rules and options."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from images_emulator.contract.endpoints import endpoint_named
from images_emulator.harness.fault_kinds import FAULT_KINDS
from images_emulator.harness.fault_rules import FaultBook, parse_header
from images_emulator.harness.store.memory import MemoryBackend
from images_emulator.harness.target import Target
from images_emulator.testing.emulator import ImagesEmulator
from images_emulator.testing.process import EmulatorProcess

AUTH = {"Authorization": "Bearer sk-test-emulator"}

GPT = {"model": "gpt-image-1", "prompt": "a red fox", "quality": "low", "size": "1024x1024"}


@pytest.fixture
def emu(server: EmulatorProcess) -> Iterator[ImagesEmulator]:
    """The shared server, scoped to a session of this test."""
    view = ImagesEmulator(url=server.base_url).session()
    yield view
    view.reset()


def statuses(emu: ImagesEmulator) -> list[int | None]:
    return [entry["status"] for entry in emu.requests()]


def post_raw(emu: ImagesEmulator, body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.post(emu.base_url + "/images/generations", json=body, headers={**AUTH, **headers}, timeout=30)


# --- error kinds through the SDK ------------------------------------------------------------------------


def test_rate_limit_once_is_retried_through_by_default(emu: ImagesEmulator) -> None:
    emu.fault("rate_limit", times=1)
    result = emu.client().images.generate(**GPT)
    assert result.data[0].b64_json
    assert statuses(emu) == [429, 200]
    assert [e["fault"] for e in emu.requests()] == ["rate_limit", None]


def test_rate_limit_twice_is_the_issue_example(emu: ImagesEmulator) -> None:
    emu.fault("rate_limit", times=2)
    emu.client().images.generate(**GPT)
    assert statuses(emu) == [429, 429, 200]


def test_rate_limit_beyond_retries_raises_rate_limit_error(emu: ImagesEmulator) -> None:
    emu.fault("rate_limit", times=3)
    with pytest.raises(openai.RateLimitError) as info:
        emu.client().images.generate(**GPT)
    error = info.value
    assert (error.status_code, error.type, error.code, error.param) == (429, "requests", "rate_limit_exceeded", None)
    assert error.body["message"].startswith(
        "Rate limit reached for gpt-image-1 in organization org-emulator on images per min (IPM): "
        "Limit 5, Used 5, Requested 1. Please try again in 20ms."
    )
    assert statuses(emu) == [429, 429, 429]


def test_rate_limit_headers(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "rate_limit"})
    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == "20"
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-limit-images"] == "5"
    assert response.headers["x-ratelimit-remaining-images"] == "0"
    assert response.headers["x-ratelimit-reset-images"] == "20ms"
    assert "x-should-retry" not in response.headers


def test_should_retry_false_stops_the_sdk_retrying(emu: ImagesEmulator) -> None:
    emu.fault("rate_limit", times=3, should_retry=False)
    with pytest.raises(openai.RateLimitError) as info:
        emu.client().images.generate(**GPT)
    assert info.value.response.headers["x-should-retry"] == "false"
    assert statuses(emu) == [429]


def test_should_retry_true_makes_a_400_retried(emu: ImagesEmulator) -> None:
    emu.fault("content_policy", should_retry=True)
    emu.client().images.generate(**GPT)
    assert statuses(emu) == [400, 200]


def test_retry_after_above_the_python_cap_is_sent_as_set(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "rate_limit; retry_after=300"})
    assert response.headers["retry-after"] == "300"
    assert response.headers["retry-after-ms"] == "300000"
    assert "try again in 5m0s" in response.json()["error"]["message"]


def test_insufficient_quota(emu: ImagesEmulator) -> None:
    emu.fault("insufficient_quota")
    with pytest.raises(openai.RateLimitError) as info:
        emu.client(max_retries=0).images.generate(**GPT)
    assert info.value.body == {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }


def test_server_error_names_the_request_id(emu: ImagesEmulator) -> None:
    emu.fault("server_error")
    with pytest.raises(openai.InternalServerError) as info:
        emu.client(max_retries=0).images.generate(**GPT)
    error = info.value
    assert error.status_code == 500 and error.type == "server_error" and error.code is None
    assert f"(Please include the request ID {error.request_id} in your email.)" in error.message


def test_server_error_once_is_retried_through(emu: ImagesEmulator) -> None:
    emu.fault("server_error", retry_after=0.01)
    emu.client().images.generate(**GPT)
    assert statuses(emu) == [500, 200]


def test_overloaded_raises_internal_server_error_after_retries(emu: ImagesEmulator) -> None:
    emu.fault("overloaded", times=3, retry_after=0.01)
    with pytest.raises(openai.InternalServerError) as info:
        emu.client().images.generate(**GPT)
    assert info.value.status_code == 503
    assert info.value.body["message"].startswith("That model is currently overloaded with other requests.")
    assert statuses(emu) == [503, 503, 503]


def test_content_policy_for_gpt_models_is_moderation_blocked(emu: ImagesEmulator) -> None:
    emu.fault("content_policy")
    with pytest.raises(openai.BadRequestError) as info:
        emu.client().images.generate(**GPT)
    error = info.value
    assert (error.type, error.code, error.param) == ("image_generation_user_error", "moderation_blocked", None)
    assert error.body["message"].startswith("Your request was rejected by the safety system.")
    assert error.body["moderation_details"]["moderation_stage"] == "input"
    assert statuses(emu) == [400]  # a 400 is not retried


def test_content_policy_for_dalle_is_content_policy_violation(emu: ImagesEmulator) -> None:
    emu.fault("content_policy")
    with pytest.raises(openai.BadRequestError) as info:
        emu.client().images.generate(model="dall-e-3", prompt="x")
    assert (info.value.type, info.value.code) == ("invalid_request_error", "content_policy_violation")
    assert info.value.body["message"].startswith("Your request was rejected as a result of our safety system.")


# --- timeout, disconnect, stream_error ---------------------------------------------------------------


def test_timeout_makes_the_sdk_time_out(emu: ImagesEmulator) -> None:
    emu.fault("timeout", hold_seconds=20)
    with pytest.raises(openai.APITimeoutError):
        emu.client(max_retries=0, timeout=0.5).images.generate(**GPT)
    assert [e["fault"] for e in emu.requests()] == ["timeout"]


def test_an_attempt_the_client_abandoned_is_journaled_as_499(emu: ImagesEmulator) -> None:
    emu.fault("timeout", times=2, hold_seconds=20)
    with pytest.raises(openai.APITimeoutError):
        emu.client(max_retries=1, timeout=0.5).images.generate(**GPT)
    deadline = time.monotonic() + 10
    while any(e["status"] is None for e in emu.requests()) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices each hang-up as soon as the socket closes
    assert [(e["status"], e["fault"]) for e in emu.requests()] == [(499, "timeout"), (499, "timeout")]


def test_timeout_once_then_the_retry_succeeds(emu: ImagesEmulator) -> None:
    emu.fault("timeout", hold_seconds=20)
    result = emu.client(max_retries=1, timeout=5).with_options(timeout=0.5).images.generate(**GPT)
    assert result.data[0].b64_json
    assert [e["fault"] for e in emu.requests()] == ["timeout", None]


def test_timeout_hold_ends_then_answers_normally(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "timeout; hold_seconds=0.2"})
    assert response.status_code == 200
    assert int(response.headers["openai-processing-ms"]) >= 200


def test_disconnect_is_a_connection_error(emu: ImagesEmulator) -> None:
    emu.fault("disconnect")
    with pytest.raises(openai.APIConnectionError):
        emu.client(max_retries=0).images.generate(**GPT)


def test_disconnect_once_is_retried_through(emu: ImagesEmulator) -> None:
    emu.fault("disconnect")
    emu.client().images.generate(**GPT)
    assert [e["fault"] for e in emu.requests()] == ["disconnect", None]


def test_stream_error_arrives_after_the_first_partial(emu: ImagesEmulator) -> None:
    emu.fault("stream_error")
    seen: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for event in emu.client().images.generate(**GPT, stream=True, partial_images=2):
            seen.append(event.type)
    assert seen == ["image_generation.partial_image"]
    assert "The server had an error processing your request." in info.value.message


def test_stream_error_rule_waits_for_a_streaming_request(emu: ImagesEmulator) -> None:
    emu.fault("stream_error", error="content_policy")
    emu.client().images.generate(**GPT)  # not a stream: the rule is not used
    with pytest.raises(openai.APIError) as info:
        list(emu.client().images.generate(**GPT, stream=True, partial_images=1))
    assert info.value.message.startswith("Your request was rejected by the safety system.")


def test_stream_error_header_on_a_json_request_answers_the_error(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "stream_error"})
    assert response.status_code == 500


# --- triggers and rules ----------------------------------------------------------------------------------


def test_unknown_fault_header_is_a_400_listing_the_kinds(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "explode"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "fault" and error["code"] == "invalid_value"
    assert all(f"'{kind}'" in error["message"] for kind in FAULT_KINDS)


def test_unknown_fault_rule_is_a_400(server: EmulatorProcess) -> None:
    response = httpx2.post(server.base_url + "/__emulator/faults", json={"fault": "explode"})
    assert response.status_code == 400
    assert "Valid faults are: 'rate_limit'" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"fault": "rate_limit", "times": 0}, "times"),
        ({"fault": "rate_limit", "match": {"colour": "red"}}, "match.colour"),
        ({"fault": "rate_limit", "retry_after": -1}, "retry_after"),
        ({"fault": "rate_limit", "should_retry": "maybe"}, "should_retry"),
        ({"fault": "rate_limit", "when": "now"}, "when"),
        ({"times": 1}, "fault"),
        ({"fault": "stream_error", "error": "timeout"}, "error"),
        ({"fault": "server_error", "error": "rate_limit"}, "error"),  # only a stream_error carries another error
        ({"fault": "rate_limit", "times": 1e308}, "times"),
        ({"fault": "rate_limit", "match": {"prompt_contains": "x" * 32_001}}, "match.prompt_contains"),
        ({"fault": "rate_limit", "match": {"model": "m" * 32_001}}, "match.model"),
    ],
)
def test_bad_fault_rules_are_400s(server: EmulatorProcess, body: dict[str, Any], param: str | None) -> None:
    response = httpx2.post(server.base_url + "/__emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_fault_rule_numbers_are_shown_as_sent_and_stored_plainly(server: EmulatorProcess) -> None:
    huge = httpx2.post(server.base_url + "/__emulator/faults", json={"fault": "rate_limit", "times": 1e308})
    assert huge.json()["error"]["message"].endswith("got 1e+308.")  # not a 309-digit integer
    zero = httpx2.post(server.base_url + "/__emulator/faults", json={"fault": "rate_limit", "retry_after": -0.0})
    assert zero.status_code == 201 and '"retry_after":0.0' in zero.text.replace(" ", "")
    httpx2.delete(server.base_url + "/__emulator/faults")


def test_rules_match_path_model_and_prompt(emu: ImagesEmulator) -> None:
    emu.fault("server_error", model="dall-e-3")
    emu.fault("server_error", path="edits")
    emu.fault("content_policy", prompt_contains="FOX")
    client = emu.client(max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.images.generate(**GPT)  # prompt "a red fox": only the third rule matches
    client.images.generate(**GPT)  # used up
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="dall-e-3", prompt="a lighthouse")
    assert [rule["match"] for rule in emu.faults()] == [{"path": "edits"}]


def test_rules_are_listed_with_what_remains_and_can_be_removed(emu: ImagesEmulator, server: EmulatorProcess) -> None:
    rule = emu.fault("overloaded", times=3, retry_after=0.5, should_retry=False)
    assert rule["fault"] == "overloaded" and rule["remaining"] == 3 and rule["retry_after"] == 0.5
    with pytest.raises(openai.InternalServerError):
        emu.client().images.generate(**GPT)
    assert [r["remaining"] for r in emu.faults()] == [2]
    assert httpx2.delete(f"{server.base_url}/__emulator/faults/{rule['id']}").json() == {"deleted": 1}
    assert emu.faults() == []
    assert httpx2.delete(f"{server.base_url}/__emulator/faults/{rule['id']}").status_code == 404


def test_header_fault_wins_over_rules_and_leaves_them(emu: ImagesEmulator) -> None:
    emu.fault("server_error")
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "insufficient_quota"})
    assert response.json()["error"]["code"] == "insufficient_quota"
    assert len(emu.faults()) == 1


def test_invalid_requests_do_not_consume_faults(emu: ImagesEmulator) -> None:
    emu.fault("server_error")
    with pytest.raises(openai.BadRequestError):
        emu.client().images.generate(model="gpt-image-1", prompt="x", size="7x7")
    assert len(emu.faults()) == 1


def test_fault_kinds_are_listed(server: EmulatorProcess) -> None:
    kinds = httpx2.get(server.base_url + "/__emulator/faults").json()["kinds"]
    assert list(kinds) == list(FAULT_KINDS)


# --- units ---------------------------------------------------------------------------------------------


def test_a_fault_header_names_another_error_only_for_a_stream_error(emu: ImagesEmulator) -> None:
    response = post_raw(emu, GPT, **{"X-Emulator-Fault": "server_error; error=rate_limit"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "error"
    assert post_raw(emu, GPT, **{"X-Emulator-Fault": "stream_error; error=rate_limit"}).status_code == 429


def test_header_parameters() -> None:
    fault = parse_header("rate_limit; retry_after=2.5; should_retry=false")
    assert fault.kind.name == "rate_limit"
    assert (fault.options.retry_after, fault.options.should_retry) == (2.5, False)


@pytest.mark.parametrize("path", ["/v1/images/edits", "images/edits", "/images/edits", "edits", "edits/"])
def test_paths_name_the_endpoint(path: str) -> None:
    endpoint = endpoint_named(path)
    assert endpoint is not None and endpoint.name == "edits"


async def test_global_rules_fire_for_every_session_and_session_rules_only_for_theirs() -> None:
    book = FaultBook(MemoryBackend())
    await book.add({"fault": "server_error"}, session="a")
    target = Target("generations", "gpt-image-1", "gpt-image", "x", session="b")
    assert await book.take(target) is None
    await book.add({"fault": "overloaded"})
    fault = await book.take(target)
    assert fault is not None and fault.kind.name == "overloaded"
    assert await book.clear(session="a") == 1 and await book.list() == []


async def test_a_held_request_does_not_block_others(emu: ImagesEmulator) -> None:
    url = emu.base_url + "/images/generations"
    async with httpx2.AsyncClient(headers=AUTH, timeout=60) as http:
        held = asyncio.create_task(http.post(url, json=GPT, headers={"X-Emulator-Fault": "timeout; hold_seconds=60"}))
        while not emu.requests():  # until the held request has arrived
            await asyncio.sleep(0.01)
        other = await http.post(url, json=GPT)
        assert other.status_code == 200
        assert not held.done()
        held.cancel()  # closes its connection: the server stops holding
        with contextlib.suppress(asyncio.CancelledError):
            await held
    for _ in range(3000):  # entries are completed (fault included) once the server is done with them
        if all(e["duration_ms"] is not None for e in emu.requests()):
            break
        await asyncio.sleep(0.01)
    assert [e["fault"] for e in emu.requests()] == ["timeout", None]
