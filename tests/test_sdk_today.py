"""Contract: today's API (the default api date) with the real openai SDK (sync, async, streaming) over a real server."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openai
import pytest
from helpers import TODAY, decoded, encode, png
from PIL import Image

from images_emulator.testing.process import EmulatorProcess

API_KEY = "sk-test-emulator"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(env={"EMULATOR_API_DATE": TODAY}) as process:
        yield process


@pytest.fixture
def client(server: EmulatorProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("gpt-image-2.5-sunburst", "1536x864"),
        ("gpt-image-2.5-sunburst-2026-09-08", "2048x1152"),
        ("gpt-image-2.5-flare", "1024x1024"),
        ("gpt-image-2.5-flare-2026-09-08", "864x1536"),
        ("gpt-image-2.6-sunburst", "1536x1024"),
        ("gpt-image-2.6-flare", "1024x1536"),
        ("chatgpt-image-latest", "1024x1024"),
    ],
)
def test_every_new_model_generates_an_image_of_the_requested_size(
    client: openai.OpenAI, model: str, size: str
) -> None:
    result = client.images.generate(model=model, prompt="a red fox in snow", size=size, quality="low")
    assert result.size == size and result.quality == "low" and result.usage is not None
    assert result.data is not None and result.data[0].b64_json is not None
    width, height = (int(x) for x in size.split("x"))
    assert decoded(result.data[0].b64_json).size == (width, height)


def test_xhigh_and_max_are_echoed_with_more_tokens_than_high(client: openai.OpenAI) -> None:
    results = {
        quality: client.images.generate(model="gpt-image-2.5-flare", prompt="a fox", quality=quality, size="1024x1024")
        for quality in ("high", "xhigh", "max")
    }
    assert [r.quality for r in results.values()] == ["high", "xhigh", "max"]
    tokens = [r.usage.output_tokens for r in results.values() if r.usage]
    assert tokens == sorted(tokens) and len(set(tokens)) == 3


def test_a_retired_model_is_a_bad_request_the_sdk_can_read(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="dall-e-3", prompt="a fox")
    assert info.value.status_code == 400
    error = (info.value.type, info.value.code, info.value.param)
    assert error == ("image_generation_user_error", "invalid_value", "model")
    assert isinstance(info.value.body, dict) and info.value.body["message"] == "The model 'dall-e-3' does not exist."


def test_a_generation_without_a_model_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(prompt="a fox")
    assert (info.value.code, info.value.param) == ("missing_required_parameter", "model")


def test_variations_are_not_found(client: openai.OpenAI) -> None:
    with pytest.deprecated_call(), pytest.raises(openai.NotFoundError):  # the SDK itself marks it deprecated
        client.images.create_variation(image=("a.png", png(), "image/png"))


async def test_async_streaming_on_a_2_5_model(server: EmulatorProcess) -> None:
    client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0)
    stream = await client.images.generate(
        model="gpt-image-2.5-sunburst", prompt="a fox", stream=True, partial_images=2, size="1536x864", quality="xhigh"
    )
    events = [event async for event in stream]
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    final = events[-1]
    assert final.quality == "xhigh" and final.size == "1536x864"
    assert decoded(final.b64_json).size == (1536, 864)


def test_edit_with_a_2_5_model_and_a_transparent_background(client: openai.OpenAI) -> None:
    result = client.images.edit(
        model="gpt-image-2.5-sunburst",
        image=[("photo.png", png((640, 360), "RGB"), "image/png")],
        prompt="add a hat",
        background="transparent",
        size="auto",
    )
    assert result.background == "transparent" and result.usage is not None
    assert result.data is not None and result.data[0].b64_json is not None
    assert decoded(result.data[0].b64_json).mode == "RGBA"


def test_an_animated_gif_through_the_sdk(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="gpt-image-2.6-flare", prompt="a fox", output_format="gif", frame_count=5, frame_duration_ms=90
    )
    assert result.output_format == "gif" and result.data is not None and result.data[0].b64_json is not None
    gif = decoded(result.data[0].b64_json)
    assert (gif.format, gif.n_frames, gif.info["duration"]) == ("GIF", 5, 90)


def test_an_svg_through_the_sdk_with_its_author_usage(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="gpt-image-2.6-sunburst",
        prompt="a lighthouse",
        output_format="svg",
        svg={"model": "gpt-5.5", "reasoning": {"effort": "high"}},
        safety_identifier="user-hash-1",
    )
    assert result.svg_usage is not None and result.svg_usage.model == "gpt-5.5"
    assert result.svg_usage.reasoning_tokens > 0 and result.safety_identifier == "user-hash-1"
    assert result.data is not None and result.data[0].b64_json is not None
    assert base64.b64decode(result.data[0].b64_json).startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg ')


def test_a_markup_edit_through_the_sdk(client: openai.OpenAI) -> None:
    sheet = encode(Image.new("RGBA", (320, 320), (0, 0, 0, 0)))  # a blank (fully transparent) markup
    result = client.images.edit(
        model="gpt-image-2.5-flare",
        image=("photo.png", png((320, 320), "RGB"), "image/png"),
        markup=("markup.png", sheet, "image/png"),
        prompt="circle the sky",
        output_format="png",
    )
    assert result.data is not None and result.data[0].b64_json is not None


def test_the_stream_completed_event_carries_the_safety_identifier(client: openai.OpenAI) -> None:
    stream = client.images.generate(model="gpt-image-2.5-flare", prompt="a fox", stream=True, user="legacy-user")
    events = list(stream)
    assert events[-1].type == "image_generation.completed" and events[-1].safety_identifier == "legacy-user"
