"""Generations: every model × accepted and refused values, answered with OpenAI's exact errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY, assert_error, decoded, refusal
from PIL import Image

from images_emulator.contract.catalog import ModelSpec
from images_emulator.contract.errors import quote_list

MODELS = LEGACY.models

GPT_MODELS = [m for m in MODELS.values() if m.is_gpt]
DALLE_MODELS = [m for m in MODELS.values() if not m.is_gpt]
ALL_IDS = list(MODELS)
# Models whose `size` is an enum; gpt-image-2's size rule is covered in test_gpt_image_2.py.
ENUM_SIZE_IDS = [name for name, spec in MODELS.items() if spec.size_rule is None]


def post(api: TestClient, body: Any, **kwargs: Any) -> Any:
    return api.post("/v1/images/generations", json=body, **kwargs)


def decode_first(response: Any) -> Image.Image:
    return decoded(response.json()["data"][0]["b64_json"])


def concrete_sizes(spec: ModelSpec) -> list[str]:
    return [s for s in spec.sizes if s != "auto"]


# --- one request, one exact refusal ------------------------------------------------------------------------

REFUSALS = [
    # --- sizes, qualities and n, in OpenAI's wording
    refusal(
        {"model": "gpt-image-1", "prompt": "x", "size": "512x512"},
        id="gpt-size-error-matches-openai-wording",
        message="Invalid value: '512x512'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
        param="size",
        code="invalid_value",
    ),
    refusal(
        {"model": "dall-e-2", "prompt": "x", "size": "1536x1024"},
        id="dall-e-2-size-error-matches-openai-wording",
        message="Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'.",
        param="size",
        code="invalid_value",
    ),
    refusal(
        {"model": "dall-e-3", "prompt": "x", "quality": "high"},
        id="dall-e-3-quality-error-lists-standard-and-hd",
        message="Invalid value: 'high'. Supported values are: 'standard' and 'hd'.",
        param="quality",
        code="invalid_value",
    ),
    refusal(
        {"model": "dall-e-3", "prompt": "x", "n": 2},
        id="dall-e-3-refuses-n-greater-than-1",
        message="Invalid 'n': integer above maximum value. Expected a value <= 1, but got 2 instead.",
        param="n",
        code="integer_above_max_value",
    ),
    *[
        row
        for model in ("dall-e-2", "gpt-image-1")
        for row in (
            refusal(
                {"model": model, "prompt": "x", "n": 11},
                id=f"{model}-n-above-10",
                message="Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
                param="n",
                code="integer_above_max_value",
            ),
            refusal(
                {"model": model, "prompt": "x", "n": 0},
                id=f"{model}-n-below-1",
                message="Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
                param="n",
                code="integer_below_min_value",
            ),
        )
    ],
    # --- the prompt
    refusal(
        {"prompt": ""},
        id="an-empty-prompt",
        message="Invalid 'prompt': empty string. Expected a string with minimum length 1, "
        "but got an empty string instead.",
        param="prompt",
        code="empty_string",
    ),
    refusal(
        {"model": "gpt-image-1"},
        id="a-missing-prompt",
        message="Missing required parameter: 'prompt'.",
        param="prompt",
        code="missing_required_parameter",
    ),
    # --- unknown keys and models
    refusal(
        {"prompt": "", "n": 99, "colour": "red"},
        id="an-unknown-top-level-key-is-refused-first",
        message="Unknown parameter: 'colour'.",
        param="colour",
        code="unknown_parameter",
    ),
    refusal(
        {"model": "dall-e-9", "prompt": "x"},
        id="an-unknown-model-is-404-model-not-found",
        status=404,
        message="The model `dall-e-9` does not exist or you do not have access to it.",
        param=None,
        code="model_not_found",
    ),
    # --- output options that do not go together
    refusal(
        {"model": "gpt-image-1", "prompt": "x", "output_compression": 50},
        id="png-output-with-a-compression-below-100",
        message="Compression less than 100 is not supported for PNG output format",
        param=None,
        code="invalid_png_output_compression",
        type="image_generation_user_error",
    ),
    refusal(
        {"model": "gpt-image-1", "prompt": "x", "background": "transparent", "output_format": "jpeg"},
        id="a-transparent-background-with-jpeg",
        message="Transparent background is not supported for output_format 'jpeg'. "
        "Set output_format to be png or webp when background is 'transparent'.",
        param="background",
        code="invalid_value",
    ),
    refusal(
        {"model": "gpt-image-1", "prompt": "x", "output_format": "jpeg", "output_compression": 101},
        id="output_compression-above-100",
        message="Invalid 'output_compression': integer above maximum value. Expected a value <= 100, "
        "but got 101 instead.",
        param="output_compression",
        code="integer_above_max_value",
    ),
]


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_a_refused_generation_gets_openai_exact_error(
    api: TestClient, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_error(post(api, body), **expected)


def test_a_whitespace_prompt_is_accepted(api: TestClient) -> None:
    assert post(api, {"prompt": "   ", "response_format": "b64_json"}).status_code == 200


# --- every model x its values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_IDS)
def test_every_listed_size_is_rendered_at_exactly_that_size(api: TestClient, model: str) -> None:
    spec = MODELS[model]
    for size in concrete_sizes(spec):
        body = {"model": model, "prompt": "a lighthouse", "size": size}
        if not spec.is_gpt:
            body["response_format"] = "b64_json"
        else:
            body["quality"] = "low"
        response = post(api, body)
        assert response.status_code == 200, response.text
        assert decode_first(response).size == tuple(int(x) for x in size.split("x"))


@pytest.mark.parametrize("model", ENUM_SIZE_IDS)
def test_size_not_supported_by_model_lists_supported_values(api: TestClient, model: str) -> None:
    spec = MODELS[model]
    refused = next(s for s in ("512x512", "1792x1024", "1536x1024") if s not in spec.sizes)
    assert_error(
        post(api, {"model": model, "prompt": "x", "size": refused}),
        400,
        message=f"Invalid value: '{refused}'. Supported values are: {quote_list(spec.sizes)}.",
        param="size",
        code="invalid_value",
    )


@pytest.mark.parametrize("model", [m.name for m in GPT_MODELS])
def test_gpt_models_refuse_hd_quality(api: TestClient, model: str) -> None:
    assert_error(
        post(api, {"model": model, "prompt": "x", "quality": "hd"}),
        400,
        message="Invalid value: 'hd'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        param="quality",
        code="invalid_value",
    )


@pytest.mark.parametrize("model", ALL_IDS)
def test_every_listed_quality_is_accepted_and_reported_concretely(api: TestClient, model: str) -> None:
    spec = MODELS[model]
    for quality in spec.qualities:
        body: dict[str, Any] = {
            "model": model,
            "prompt": "x",
            "quality": quality,
            "size": concrete_sizes(spec)[0],
        }
        if not spec.is_gpt:
            body["response_format"] = "b64_json"
        response = post(api, body)
        assert response.status_code == 200, response.text
        if spec.is_gpt:
            assert response.json()["quality"] == (spec.auto_quality if quality == "auto" else quality)


@pytest.mark.parametrize(
    ("model", "param", "value"),
    [(m.name, "response_format", "b64_json") for m in GPT_MODELS]
    + [(m.name, "style", "vivid") for m in GPT_MODELS]
    + [("dall-e-2", "style", "vivid")]
    + [
        (m.name, p, v)
        for m in DALLE_MODELS
        for p, v in (
            ("output_format", "png"),
            ("background", "opaque"),
            ("moderation", "low"),
            ("output_compression", 50),
            ("stream", True),
            ("partial_images", 2),
        )
    ],
)
def test_parameter_the_model_does_not_take_is_an_unknown_parameter(
    api: TestClient, model: str, param: str, value: Any
) -> None:
    assert_error(
        post(api, {"model": model, "prompt": "x", param: value}),
        400,
        message=f"Unknown parameter: '{param}'.",
        param=param,
        code="unknown_parameter",
    )


@pytest.mark.parametrize("model", [m.name for m in DALLE_MODELS])
def test_dalle_accepts_stream_false_and_partial_images_zero(api: TestClient, model: str) -> None:
    response = post(api, {"model": model, "prompt": "x", "stream": False, "partial_images": 0})
    assert response.status_code == 200, response.text


def test_n_images_are_returned_and_differ(api: TestClient) -> None:
    response = post(api, {"model": "gpt-image-1-mini", "prompt": "a kite", "n": 3, "quality": "low"})
    data = response.json()["data"]
    assert len(data) == 3
    assert len({item["b64_json"] for item in data}) == 3


@pytest.mark.parametrize("model", ALL_IDS)
def test_prompt_length_limit_per_model(api: TestClient, model: str) -> None:
    limit = MODELS[model].prompt_max
    body: dict[str, Any] = {"model": model, "prompt": "a" * limit}
    if MODELS[model].is_gpt:
        body["quality"] = "low"
    assert post(api, body).status_code == 200
    assert_error(
        post(api, {"model": model, "prompt": "a" * (limit + 1)}),
        400,
        message=(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {limit + 1} instead."
        ),
        param="prompt",
        code="string_above_max_length",
    )


@pytest.mark.parametrize(
    ("field", "value", "expected", "got"),
    [
        ("n", "2", "an integer", "a string"),
        ("n", 1.5, "an integer", "a decimal number"),
        ("n", True, "an integer", "a boolean"),
        ("prompt", 5, "a string", "an integer"),
        ("prompt", ["a"], "a string", "an array"),
        ("stream", "yes", "a boolean", "a string"),
        ("output_compression", {"a": 1}, "an integer", "an object"),
        ("size", 1024, "one of '1024x1024', '1024x1536', '1536x1024', or 'auto'", "an integer"),
        ("model", 3, "a string", "an integer"),
    ],
)
def test_wrong_json_type_is_invalid_type(
    api: TestClient, field: str, value: Any, expected: str, got: str
) -> None:
    body = {"model": "gpt-image-1", "prompt": "x", field: value}
    assert_error(
        post(api, body),
        400,
        message=f"Invalid type for '{field}': expected {expected}, but got {got} instead.",
        param=field,
        code="invalid_type",
    )


@pytest.mark.parametrize(
    ("field", "value", "supported"),
    [
        ("output_format", "gif", "'png', 'webp', and 'jpeg'"),
        ("moderation", "high", "'auto' and 'low'"),
        ("background", "clear", "'transparent', 'opaque', and 'auto'"),
    ],
)
def test_gpt_enum_errors(api: TestClient, field: str, value: str, supported: str) -> None:
    assert_error(
        post(api, {"model": "gpt-image-1", "prompt": "x", field: value}),
        400,
        message=f"Invalid value: '{value}'. Supported values are: {supported}.",
        param=field,
        code="invalid_value",
    )


# --- defaults and bodies -----------------------------------------------------------------------------------


def test_null_values_mean_omitted(api: TestClient) -> None:
    body = {
        "prompt": "x",
        "model": None,
        "n": None,
        "size": None,
        "quality": None,
        "style": None,
        "response_format": "b64_json",
        "user": None,
    }
    response = post(api, body)
    assert response.status_code == 200, response.text
    assert decode_first(response).size == (1024, 1024)  # dall-e-2's default size


def test_no_model_defaults_to_dalle2_with_url(api: TestClient) -> None:
    body = post(api, {"prompt": "a cat"}).json()
    assert set(body) == {"created", "data"}
    assert body["data"][0]["url"].startswith("http")


def test_no_model_with_gpt_only_parameter_uses_gpt_image_model(api: TestClient) -> None:
    body = post(api, {"prompt": "a cat", "output_format": "webp", "quality": "low"}).json()
    assert body["output_format"] == "webp"
    assert "usage" in body


@pytest.mark.parametrize(
    "raw", [b'{"prompt": "x",', b'{"prompt": "x", "n": NaN}', b'{"prompt": "x", "n": -Infinity}', b'{"x": Infinity}']
)
def test_unparsable_json_gets_openai_message(api: TestClient, raw: bytes) -> None:
    response = api.post("/v1/images/generations", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("We could not parse the JSON body of your request.")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null"])
def test_json_that_is_not_an_object_is_refused(api: TestClient, body: bytes) -> None:
    response = api.post("/v1/images/generations", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_non_json_content_type_is_400(api: TestClient) -> None:
    response = api.post(
        "/v1/images/generations",
        content=b"prompt=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]["message"]


def test_fastapi_422_never_reaches_clients(api: TestClient) -> None:
    for payload in ({}, {"prompt": {"nested": True}}, {"n": "many"}):
        assert post(api, payload).status_code != 422
