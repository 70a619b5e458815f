"""Streaming (`stream=true`, contract §9): the SDKs, raw SSE frames, pacing, errors and disconnects."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from helpers import LEGACY, decoded, encode
from PIL import Image, ImageChops, ImageStat

from images_emulator.api.request_body import read_json_object
from images_emulator.api.streaming import error_frame, frame, plan_steps, stream_response
from images_emulator.contract.errors import ApiError
from images_emulator.contract.validation import validate_generation
from images_emulator.harness.plan import Plan
from images_emulator.imaging.pictures import render_spec
from images_emulator.server.app import create_app
from images_emulator.server.settings import Settings
from images_emulator.testing.process import EmulatorProcess, free_port

API_KEY = "sk-test-emulator"  # as in conftest
AUTH = {"Authorization": f"Bearer {API_KEY}"}
LOW_TOKENS = {"1024x1024": 272, "1536x1024": 400, "1024x1536": 408}
SIZE_FOR = {0: "1024x1024", 1: "1536x1024", 2: "1024x1536", 3: "1024x1024"}
PARTIAL_KEYS = {"type", "b64_json", "created_at", "size", "quality", "background", "output_format"}
PARTIAL_KEYS_ALL = PARTIAL_KEYS | {"partial_image_index"}
COMPLETED_KEYS = PARTIAL_KEYS | {"usage"}
PROMPT = "a harbour at dusk"


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference (0..255)."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def expected_types(partials: int, n: int = 1, prefix: str = "image_generation") -> list[tuple[str, int | None]]:
    one = [(f"{prefix}.partial_image", k) for k in range(partials)] + [(f"{prefix}.completed", None)]
    return one * n


def check_events(events: list[dict[str, Any]], partials: int, size: str, validate: Callable[..., None]) -> None:
    """Types, indices, exact key sets, schemas, decoded sizes and usage of one n=1 stream."""
    assert [(e["type"], e.get("partial_image_index")) for e in events] == expected_types(partials)
    width, height = map(int, size.split("x"))
    for event in events:
        validate("ImageGenStreamEvent", event)
        assert decoded(event["b64_json"]).size == (width, height)
        assert (event["size"], event["quality"], event["background"], event["output_format"]) == (
            size,
            "low",
            "opaque",
            "png",
        )
        assert isinstance(event["created_at"], int) and abs(event["created_at"] - time.time()) < 60
    for event in events[:-1]:
        validate("ImageGenPartialImageEvent", event)
        assert set(event) == PARTIAL_KEYS_ALL
    completed = events[-1]
    validate("ImageGenCompletedEvent", completed)
    validate("ImagesUsage", completed["usage"])
    assert set(completed) == COMPLETED_KEYS
    usage = completed["usage"]
    assert "output_tokens_details" not in usage
    assert usage["output_tokens"] == LOW_TOKENS[size] + 100 * partials
    assert usage["input_tokens_details"] == {"text_tokens": usage["input_tokens"], "image_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def dump(event: Any) -> dict[str, Any]:
    return event.model_dump(exclude_none=True)


# --- the Python SDK ---------------------------------------------------------------------------------


@pytest.mark.parametrize("partials", [0, 1, 2, 3])
def test_sdk_sync_stream(openai_client: Any, spec_validator: Any, partials: int) -> None:
    size = SIZE_FOR[partials]
    stream = openai_client.images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=partials, size=size, quality="low"
    )
    events = [dump(event) for event in stream]
    check_events(events, partials, size, spec_validator)
    plain = openai_client.images.generate(model="gpt-image-1", prompt=PROMPT, size=size, quality="low")
    assert events[-1]["b64_json"] == plain.data[0].b64_json
    assert events[-1]["usage"]["output_tokens"] == plain.usage.output_tokens + 100 * partials


@pytest.mark.parametrize("partials", [0, 1, 2, 3])
async def test_sdk_async_stream(async_openai_client: Any, spec_validator: Any, partials: int) -> None:
    size = SIZE_FOR[partials]
    stream = await async_openai_client.images.generate(
        model="gpt-image-1-mini", prompt=PROMPT, stream=True, partial_images=partials, size=size, quality="low"
    )
    events = [dump(event) async for event in stream]
    check_events(events, partials, size, spec_validator)
    plain = await async_openai_client.images.generate(model="gpt-image-1-mini", prompt=PROMPT, size=size, quality="low")
    assert events[-1]["b64_json"] == plain.data[0].b64_json


def test_sdk_event_objects_are_typed(openai_client: Any) -> None:
    from openai.types import ImageGenCompletedEvent, ImageGenPartialImageEvent

    stream = openai_client.images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=1, quality="low"
    )
    events = list(stream)
    assert isinstance(events[0], ImageGenPartialImageEvent) and events[0].partial_image_index == 0
    assert isinstance(events[1], ImageGenCompletedEvent) and events[1].usage.output_tokens == 272 + 100


def test_n2_streams_one_sequence_per_image_in_order(openai_client: Any, spec_validator: Any) -> None:
    stream = openai_client.images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=2, n=2, quality="low"
    )
    events = [dump(event) for event in stream]
    assert [(e["type"], e.get("partial_image_index")) for e in events] == expected_types(2, n=2)
    for event in events:
        spec_validator("ImageGenStreamEvent", event)
    plain = openai_client.images.generate(model="gpt-image-1", prompt=PROMPT, n=2, quality="low")
    assert [events[2]["b64_json"], events[5]["b64_json"]] == [d.b64_json for d in plain.data]
    assert events[2]["b64_json"] != events[5]["b64_json"]
    usage = events[5]["usage"]  # every completed event carries the request's usage
    assert usage == events[2]["usage"]
    assert usage["output_tokens"] == 2 * (272 + 2 * 100)


def test_partials_are_progressively_sharper_versions_of_the_final(openai_client: Any) -> None:
    stream = openai_client.images.generate(
        model="gpt-image-1", prompt="a lighthouse on a cliff", stream=True, partial_images=3, quality="low"
    )
    images = [decoded(event.b64_json) for event in stream]
    final = images[-1]
    distances = [difference(image, final) for image in images[:-1]]
    assert distances == sorted(distances, reverse=True) and len(set(distances)) == 3
    assert distances[-1] > 0 and distances[0] < 20  # the same picture, just coarser
    colours = [len(image.convert("RGB").getcolors(1 << 24) or ()) for image in images]
    assert colours == sorted(colours) and len(set(colours)) == 4


@pytest.mark.parametrize(
    ("output_format", "background", "mode"),
    [("jpeg", "opaque", "RGB"), ("webp", "transparent", "RGBA"), ("png", "transparent", "RGBA")],
)
def test_partials_use_the_requested_format(openai_client: Any, output_format: str, background: str, mode: str) -> None:
    stream = openai_client.images.generate(
        model="gpt-image-1",
        prompt=PROMPT,
        stream=True,
        partial_images=2,
        quality="low",
        output_format=output_format,
        background=background,
    )
    events = list(stream)
    for event in events:
        image = decoded(event.b64_json)
        assert image.format == output_format.upper() and image.mode == mode
        assert (event.output_format, event.background) == (output_format, background)
    plain = openai_client.images.generate(
        model="gpt-image-1", prompt=PROMPT, quality="low", output_format=output_format, background=background
    )
    assert events[-1].b64_json == plain.data[0].b64_json


def test_auto_values_are_reported_resolved(openai_client: Any) -> None:
    events = list(
        openai_client.images.generate(
            model="gpt-image-1", prompt="a tall lighthouse poster", stream=True, size="auto", quality="low"
        )
    )
    assert (events[0].size, events[0].background) == ("1024x1536", "opaque")


# --- raw frames --------------------------------------------------------------------------------------


def post_stream(http: httpx2.Client, body: dict[str, Any]) -> httpx2.Response:
    return http.post("/v1/images/generations", json={"model": "gpt-image-1", "prompt": PROMPT, **body})


def test_raw_frames_are_exact(http: httpx2.Client) -> None:
    response = post_stream(http, {"stream": True, "partial_images": 2, "quality": "low"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"].startswith("req_")
    text = response.text
    assert text.endswith("\n\n") and "[DONE]" not in text and "\r" not in text
    frames = text[:-2].split("\n\n")
    names = ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert len(frames) == len(names)
    for name, raw in zip(names, frames, strict=True):
        event_line, data_line = raw.split("\n")
        assert event_line == f"event: {name}"
        assert data_line.startswith('data: {"type":"' + name + '","b64_json":"')
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
    keys = list(json.loads(frames[0].split("\n")[1][6:]))
    assert keys == ["type", "b64_json", "created_at", "size", "quality", "background", "output_format",
                    "partial_image_index"]  # fmt: skip


def test_raw_frames_arrive_one_by_one(http: httpx2.Client) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "stream": True, "partial_images": 3, "quality": "low"}
    with http.stream("POST", "/v1/images/generations", json=body) as response:
        lines = [line for line in response.iter_lines() if line.startswith("event: ")]
    assert lines == ["event: image_generation.partial_image"] * 3 + ["event: image_generation.completed"]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "dall-e-3", "stream": True}, "stream", "unknown_parameter"),
        ({"model": "dall-e-2", "stream": True, "partial_images": 2}, "stream", "unknown_parameter"),
        ({"model": "gpt-image-1", "stream": True, "partial_images": 4}, "partial_images", "integer_above_max_value"),
        ({"model": "gpt-image-1", "stream": True, "size": "512x512"}, "size", "invalid_value"),
    ],
)
def test_invalid_stream_requests_fail_as_json_before_the_stream(
    http: httpx2.Client, body: dict[str, Any], param: str, code: str
) -> None:
    response = http.post("/v1/images/generations", json={"prompt": PROMPT, **body})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_sdk_invalid_stream_request_raises_bad_request(openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.images.generate(model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=4)
    assert info.value.param == "partial_images"


def test_client_disconnect_leaves_the_server_healthy(http: httpx2.Client, server: EmulatorProcess) -> None:
    body = {"model": "gpt-image-1", "prompt": "disconnect me", "stream": True, "partial_images": 3}
    with http.stream("POST", "/v1/images/generations", json=body) as response:
        assert next(response.iter_lines()) == "event: image_generation.partial_image"
    assert http.get("/health").json()["status"] == "ok"
    assert len(post_stream(http, {"stream": True, "partial_images": 1}).text.split("\n\n")) == 3


# --- pacing -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paced_server() -> Iterator[EmulatorProcess]:
    """A server started with EMULATOR_STREAM_INTERVAL_MS=200."""
    env = {"EMULATOR_URL_SECRET": "test-secret", "EMULATOR_STREAM_INTERVAL_MS": "200"}
    with EmulatorProcess(env=env) as process:
        yield process


def event_times(base_url: str, body: dict[str, Any]) -> list[float]:
    """Seconds from the request to each `event:` line, read as they arrive."""
    started = time.perf_counter()
    times: list[float] = []
    with (
        httpx2.Client(base_url=base_url, headers=AUTH, timeout=30) as client,
        client.stream("POST", "/v1/images/generations", json=body) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: "):
                times.append(time.perf_counter() - started)
    return times


def test_stream_interval_spaces_events_and_each_is_flushed(paced_server: EmulatorProcess) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "stream": True, "partial_images": 3, "quality": "low"}
    times = event_times(paced_server.base_url, body)
    assert len(times) == 4
    assert times[0] < 0.5  # the first event is not held back
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.19 for gap in gaps), gaps


# --- harness plans: the interface the harness will call ----------------------------------------------


class ThreadServer:
    """uvicorn serving `app` in a background thread of this process (so tests can inspect its state)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def fixture_png() -> bytes:
    """A 300x200 canned picture (horizontal ramp, vertical ramp, blue)."""
    ramp = Image.linear_gradient("L")
    picture = Image.merge(
        "RGB",
        (ramp.rotate(90).resize((300, 200)), ramp.resize((300, 200)), Image.new("L", (300, 200), 128)),
    )
    return encode(picture)


STREAM_ERROR = ApiError(500, "Injected stream failure.", type="server_error", code="stream_error")
PLANS = {
    "none": Plan(),
    "error": Plan(stream_error=STREAM_ERROR),
    "disconnect": Plan(disconnect=True),
    "latency": Plan(latency_s=0.6),
    "fixture": Plan(fixture=fixture_png()),
    "broken_fixture": Plan(fixture=b"not an image"),
}


def plan_app(**settings: Any) -> FastAPI:
    """The emulator app plus `/plan/<name>/v1/images/generations`, which streams with a fixed Plan
    (what the harness's `admit()` will return once it lands)."""
    app = create_app(Settings(url_secret="test-secret", **settings))

    @app.post("/plan/{name}/v1/images/generations")
    async def planned(name: str, request: Request) -> Response:
        job = validate_generation(await read_json_object(request, 1 << 20), LEGACY)
        return await stream_response(request, app.state.runtime, job, PLANS[name])

    return app


@pytest.fixture(scope="module")
def planned() -> Iterator[ThreadServer]:
    with ThreadServer(plan_app()) as server:
        yield server


def plan_client(server: ThreadServer, plan: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/plan/{plan}/v1", api_key=API_KEY, max_retries=0)


def test_stream_error_after_first_partial_raises_api_error(planned: ThreadServer) -> None:
    stream = plan_client(planned, "error").images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=2
    )
    received = []
    with pytest.raises(openai.APIError) as info:
        for event in stream:
            received.append(event.type)
    assert received == ["image_generation.partial_image"]
    assert info.value.message == "Injected stream failure."
    assert info.value.body == STREAM_ERROR.error_object()


def test_stream_error_without_partials_comes_before_completed(planned: ThreadServer) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "stream": True}
    response = httpx2.post(f"{planned.base_url}/plan/error/v1/images/generations", json=body, timeout=30)
    assert response.status_code == 200
    assert response.content == error_frame(STREAM_ERROR)


def test_disconnect_plan_drops_the_connection_mid_stream(planned: ThreadServer) -> None:
    stream = plan_client(planned, "disconnect").images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=3
    )
    received = []
    started = time.monotonic()
    with pytest.raises(openai.APIConnectionError):
        for event in stream:
            received.append(event.type)
    assert received == ["image_generation.partial_image"]
    assert time.monotonic() - started < 10  # an incomplete read, not a hang


async def test_disconnect_plan_async_sdk(planned: ThreadServer) -> None:
    client = openai.AsyncOpenAI(base_url=f"{planned.base_url}/plan/disconnect/v1", api_key=API_KEY, max_retries=0)
    stream = await client.images.generate(model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=1)
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass


def test_latency_is_spread_across_the_events(planned: ThreadServer) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "stream": True, "partial_images": 2, "quality": "low"}
    times = event_times(f"{planned.base_url}/plan/latency", body)
    assert len(times) == 3
    assert 0.19 <= times[0] < 0.5  # 0.6 s over 3 events: ~0.2 s before each
    assert times[-1] >= 0.59


def test_fixture_partials_are_pixelated_from_the_fixture(planned: ThreadServer) -> None:
    stream = plan_client(planned, "fixture").images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=3, output_format="webp"
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image"] * 3 + ["image_generation.completed"]
    images = [decoded(event.b64_json) for event in events]
    assert {image.size for image in images} == {(1024, 1024)}  # the fixture, converted to the job's size
    assert {image.format for image in images} == {"WEBP"}
    distances = [difference(image, images[-1]) for image in images[:-1]]
    assert distances == sorted(distances, reverse=True) and distances[-1] > 0


def test_failure_while_rendering_is_an_error_frame(planned: ThreadServer) -> None:
    stream = plan_client(planned, "broken_fixture").images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=1
    )
    with pytest.raises(openai.APIError) as info:
        list(stream)
    assert info.value.message.startswith("The server had an error processing your request.")
    assert info.value.type == "server_error"


def test_disconnected_client_stops_the_servers_work() -> None:
    """The client reads the first partial and hangs up; the later partials and the final are never made."""
    app = plan_app(stream_interval_ms=300)
    cache = app.state.runtime.cache
    body = {"model": "gpt-image-1", "prompt": "hang up early", "stream": True, "partial_images": 3}
    job = validate_generation(body, LEGACY)
    with ThreadServer(app) as server, httpx2.Client(base_url=server.base_url, headers=AUTH, timeout=30) as http:
        with http.stream("POST", "/v1/images/generations", json=body) as response:
            assert next(response.iter_lines()) == "event: image_generation.partial_image"
        time.sleep(1.5)  # the whole stream would take ~0.9 s more
        assert cache.get(render_spec(job, 0, partial=0)) is not None
        assert cache.get(render_spec(job, 0, partial=1)) is None
        assert cache.get(render_spec(job, 0)) is None
        assert http.get("/health").status_code == 200


# --- frame formatting (unit) -------------------------------------------------------------------------


def test_error_frame_format() -> None:
    error = ApiError(500, "Boom.", type="server_error", param=None, code="x")
    assert error_frame(error) == (
        b'event: error\ndata: {"type":"error","error":{"message":"Boom.","type":"server_error",'
        b'"param":null,"code":"x"}}\n\n'
    )


def test_frame_format() -> None:
    assert frame("image_edit.completed", '{"a":1}') == b'event: image_edit.completed\ndata: {"a":1}\n\n'


def test_plan_steps_order() -> None:
    job = validate_generation(
        {"model": "gpt-image-1", "prompt": "x", "stream": True, "partial_images": 2, "n": 2}, LEGACY
    )
    assert [(s.index, s.partial) for s in plan_steps(job)] == [(0, 0), (0, 1), (0, None), (1, 0), (1, 1), (1, None)]


def test_fault_header_stream_error_sends_error_frame(openai_client: Any) -> None:
    client = openai_client.with_options(default_headers={"X-Emulator-Fault": "stream_error"})
    stream = client.images.generate(model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=2)
    received = []
    with pytest.raises(openai.APIError):
        for event in stream:
            received.append(event.type)
    assert received == ["image_generation.partial_image"]
