"""Contract: the real openai SDK (sync and async) against a real uvicorn server."""

from __future__ import annotations

import io
from typing import Any

import httpx2
import openai
import pytest
from helpers import LEGACY, decoded
from PIL import Image

MODELS = LEGACY.models


GPT_MODELS = [name for name, spec in MODELS.items() if spec.is_gpt]


@pytest.mark.parametrize("model", GPT_MODELS)
def test_sdk_generates_with_each_gpt_model(openai_client: Any, spec_validator: Any, model: str) -> None:
    result = openai_client.images.generate(
        model=model, prompt="a red fox in snow", size="1536x1024", quality="low"
    )
    assert decoded(result.data[0].b64_json).size == (1536, 1024)
    assert (result.size, result.quality, result.output_format, result.background) == (
        "1536x1024",
        "low",
        "png",
        "opaque",
    )
    assert result.usage.output_tokens == MODELS[model].output_tokens_for("low", "1536x1024")  # 400 before gpt-image-2
    assert result.usage.input_tokens_details.image_tokens == 0
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))


def test_sdk_dalle3_returns_url_with_revised_prompt(openai_client: Any, spec_validator: Any) -> None:
    result = openai_client.images.generate(model="dall-e-3", prompt="a lighthouse at night", size="1792x1024")
    item = result.data[0]
    assert "a lighthouse at night" in item.revised_prompt
    assert result.usage is None and result.size is None
    image = httpx2.get(item.url, timeout=30)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1792, 1024)
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))


def test_sdk_dalle2_default_model_returns_url(openai_client: Any) -> None:
    result = openai_client.images.generate(prompt="a small house", size="256x256", n=2)
    assert len(result.data) == 2
    sizes = {Image.open(io.BytesIO(httpx2.get(d.url, timeout=30).content)).size for d in result.data}
    assert sizes == {(256, 256)}


def test_sdk_dalle2_b64_json(openai_client: Any, spec_validator: Any) -> None:
    result = openai_client.images.generate(
        model="dall-e-2", prompt="x", size="512x512", response_format="b64_json"
    )
    assert decoded(result.data[0].b64_json).size == (512, 512)
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))


def test_sdk_raises_bad_request_with_code_and_param(openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.images.generate(model="gpt-image-1", prompt="x", size="512x512")
    assert info.value.status_code == 400
    assert info.value.code == "invalid_value"
    assert info.value.param == "size"
    assert info.value.request_id.startswith("req_")


def test_sdk_response_format_on_gpt_model_is_unknown_parameter(openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.images.generate(model="gpt-image-1.5", prompt="x", response_format="url")
    assert info.value.code == "unknown_parameter"
    assert info.value.body == {
        "message": "Unknown parameter: 'response_format'.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unknown_parameter",
    }


def test_sdk_unknown_model_is_not_found(openai_client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        openai_client.images.generate(model="gpt-image-9", prompt="x")
    assert info.value.code == "model_not_found"


def test_sdk_wrong_key_is_authentication_error(server: Any) -> None:
    from images_emulator.testing.process import EmulatorProcess

    with EmulatorProcess(args=("--api-key", "sk-proj-right-key-1234")) as locked:
        client = openai.OpenAI(
            base_url=locked.base_url + "/v1", api_key="sk-proj-wrong-key-abcd", max_retries=0
        )
        with pytest.raises(openai.AuthenticationError) as info:
            client.images.generate(model="gpt-image-1", prompt="x")
        assert info.value.code == "invalid_api_key"
        assert "sk-proj-****abcd" in info.value.message
        ok = openai.OpenAI(base_url=locked.base_url + "/v1", api_key="sk-proj-right-key-1234", max_retries=0)
        assert ok.images.generate(model="gpt-image-1", prompt="x", quality="low").data


def test_sdk_response_carries_request_id(openai_client: Any) -> None:
    raw = openai_client.images.with_raw_response.generate(model="gpt-image-1", prompt="x", quality="low")
    assert raw.headers["x-request-id"].startswith("req_") and len(raw.headers["x-request-id"]) == 36
    assert raw.headers["openai-version"] == "2020-10-01"
    assert int(raw.headers["openai-processing-ms"]) >= 0


def test_same_request_gives_same_bytes(openai_client: Any) -> None:
    first = openai_client.images.generate(model="gpt-image-1", prompt="same", quality="medium")
    second = openai_client.images.generate(model="gpt-image-1", prompt="same", quality="medium")
    other = openai_client.images.generate(model="gpt-image-1", prompt="different", quality="medium")
    assert first.data[0].b64_json == second.data[0].b64_json
    assert first.data[0].b64_json != other.data[0].b64_json


async def test_async_sdk_generates(async_openai_client: Any) -> None:
    result = await async_openai_client.images.generate(
        model="gpt-image-1", prompt="a portrait of a cat", output_format="webp", quality="low"
    )
    assert result.size == "1024x1536"  # size auto + "portrait" in the prompt
    image = decoded(result.data[0].b64_json)
    assert image.format == "WEBP" and image.size == (1024, 1536)


async def test_async_sdk_raises_on_dalle3_n(async_openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await async_openai_client.images.generate(model="dall-e-3", prompt="x", n=2)
    assert info.value.param == "n"


def test_transparent_background_has_alpha(openai_client: Any) -> None:
    result = openai_client.images.generate(
        model="gpt-image-1", prompt="a sticker", background="transparent", quality="low"
    )
    image = decoded(result.data[0].b64_json)
    assert result.background == "transparent"
    assert image.mode == "RGBA" and image.getextrema()[3][0] == 0
