"""gpt-image-2 and its dated snapshot (contract §3, §8): open sizes by rule, no transparent background,
no `input_fidelity` (inputs always at high fidelity), formula-based output tokens.

OpenAI's spec lists only 1024x1024, 1024x1536 and 1536x1024 in `ImagesResponse.size`, so responses are
validated against it only when they use one of those three sizes.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY, assert_error, data_url, decoded, png

from images_emulator.contract.resolve import resolve_background
from images_emulator.contract.tokenizer import count_tokens
from images_emulator.contract.usage import image_usage, input_image_tokens, output_image_tokens

MODELS = LEGACY.models

GPT2 = [name for name in MODELS if name.startswith("gpt-image-2")]
SPEC = MODELS["gpt-image-2"]
PROMPT = "a lighthouse on a cliff"


def generate(api: TestClient, **body: Any) -> Any:
    return api.post("/v1/images/generations", json={"model": "gpt-image-2", "prompt": PROMPT, **body})


def edit(api: TestClient, input_size: tuple[int, int] = (300, 300), **fields: Any) -> Any:
    data = {"model": "gpt-image-2", "prompt": "add a hat", "quality": "low", **{k: str(v) for k, v in fields.items()}}
    return api.post("/v1/images/edits", files={"image": ("a.png", png(input_size, "RGB"), "image/png")}, data=data)


def dims(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


# --- catalog ------------------------------------------------------------------------------------------------


def test_both_names_are_in_the_catalog_with_the_same_rules() -> None:
    assert GPT2 == ["gpt-image-2", "gpt-image-2-2026-04-21"]
    assert dataclasses.replace(MODELS["gpt-image-2-2026-04-21"], name="gpt-image-2") == SPEC
    assert SPEC.size_rule is not None and SPEC.backgrounds == ("opaque", "auto")
    assert SPEC.edits is not None and not SPEC.edits.input_fidelity and SPEC.edits.fixed_input_fidelity == "high"
    assert not SPEC.variations


# --- sizes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", GPT2)
@pytest.mark.parametrize(
    "size",
    [
        "1024x1024",
        "2048x1152",
        "2560x1440",
        "3840x2160",  # longest edge 3840 and exactly 8,294,400 pixels
        "512x1536",  # ratio 3:1, 786,432 pixels
        "1536x512",
        "1024x640",  # exactly 655,360 pixels
    ],
)
def test_sizes_within_the_rule_are_rendered_and_reported(api: TestClient, model: str, size: str) -> None:
    started = time.perf_counter()
    response = generate(api, model=model, size=size, quality="low", output_format="jpeg", output_compression=80)
    assert response.status_code == 200, response.text
    assert time.perf_counter() - started < 5
    body = response.json()
    assert body["size"] == size
    assert decoded(body["data"][0]["b64_json"]).size == dims(size)
    assert body["usage"]["output_tokens"] == SPEC.output_tokens_for("low", size)


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("1000x1000", "Width and height must be multiples of 16."),
        ("1024x1000", "Width and height must be multiples of 16."),
        ("4096x1024", "The longest edge must be at most 3840 pixels."),
        ("1024x4096", "The longest edge must be at most 3840 pixels."),
        ("2048x512", "The ratio of the longest to the shortest edge must be at most 3:1."),
        ("512x2048", "The ratio of the longest to the shortest edge must be at most 3:1."),
        ("512x512", "The total number of pixels must be between 655,360 and 8,294,400, but got 262,144."),
        ("1008x640", "The total number of pixels must be between 655,360 and 8,294,400, but got 645,120."),
        ("3840x2176", "The total number of pixels must be between 655,360 and 8,294,400, but got 8,355,840."),
        ("big", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        ("0x1024", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        ("1024X1024", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        (" 1024x1024", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        ("", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        ("9" * 5000 + "x16", "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'."),
        ("999999984x16", "The longest edge must be at most 3840 pixels."),
    ],
)
def test_sizes_outside_the_rule_say_why(api: TestClient, size: str, reason: str) -> None:
    assert_error(
        generate(api, size=size),
        400,
        message=f"Invalid value: '{size}'. {reason}",
        param="size",
        code="invalid_value",
    )


def test_size_of_the_wrong_json_type_expects_a_string(api: TestClient) -> None:
    assert_error(
        generate(api, size=1024),
        400,
        message="Invalid type for 'size': expected a string, but got an integer instead.",
        param="size",
        code="invalid_type",
    )


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [("a cat", "1024x1024"), ("a tall portrait of a cat", "1024x1536"), ("a wide panorama", "1536x1024")],
)
def test_auto_size_resolves_among_the_three_standard_sizes(
    api: TestClient, spec_validator: Any, prompt: str, expected: str
) -> None:
    response = generate(api, prompt=prompt, quality="low")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == expected
    spec_validator("ImagesResponse", body)  # one of the spec's three sizes


# --- background -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", GPT2)
def test_transparent_background_is_refused(api: TestClient, model: str) -> None:
    assert_error(
        generate(api, model=model, background="transparent"),
        400,
        message="Invalid value: 'transparent'. Supported values are: 'opaque' and 'auto'.",
        param="background",
        code="invalid_value",
    )
    assert_error(
        edit(api, model=model, background="transparent"),
        400,
        message="Invalid value: 'transparent'. Supported values are: 'opaque' and 'auto'.",
        param="background",
        code="invalid_value",
    )


def test_auto_background_never_resolves_to_transparent(api: TestClient) -> None:
    for background in ("auto", None):
        response = generate(api, prompt="a transparent sticker, cut-out", quality="low", background=background)
        assert response.status_code == 200, response.text
        assert response.json()["background"] == "opaque"
    assert generate(api, background="opaque", quality="low").json()["background"] == "opaque"
    assert resolve_background("auto", "a sticker", "png", SPEC.backgrounds) == "opaque"
    assert resolve_background("auto", "a sticker", "png", MODELS["gpt-image-1"].backgrounds) == "transparent"


# --- tokens ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        # the official calculator's values (contract §8.1)
        ("high", "1024x1024", 7024),
        ("high", "1536x1024", 5488),
        ("low", "1024x1024", 196),
    ],
)
def test_output_token_formula_reproduces_the_calculator(quality: str, size: str, tokens: int) -> None:
    for name in GPT2:
        assert MODELS[name].output_tokens_for(quality, size) == tokens
        assert output_image_tokens(MODELS[name], quality, size) == tokens


def test_output_token_formula_by_hand() -> None:
    # qf=48, saf=(2*48*1152+2048)//4096=27, ceil(48*27*(2_000_000+2048*1152)/4_000_000)
    assert SPEC.output_tokens_for("medium", "2048x1152") == -(-48 * 27 * (2_000_000 + 2048 * 1152) // 4_000_000)
    assert SPEC.output_tokens_for("high", "1024x1536") == SPEC.output_tokens_for("high", "1536x1024")


@pytest.mark.parametrize(("quality", "size"), [("auto", "1024x1024"), ("hd", "1024x1024"), ("high", "auto")])
def test_output_tokens_refuse_unresolved_values(quality: str, size: str) -> None:
    with pytest.raises(ValueError, match="gpt-image-2"):
        SPEC.output_tokens_for(quality, size)


def test_generation_usage(api: TestClient) -> None:
    body = generate(api, size="1024x1024", quality="high", n=2).json()
    text = count_tokens(PROMPT)
    assert body["usage"] == {
        "input_tokens": text,
        "input_tokens_details": {"text_tokens": text, "image_tokens": 0},
        "output_tokens": 2 * 7024,
        "output_tokens_details": {"image_tokens": 2 * 7024, "text_tokens": 0},
        "total_tokens": text + 2 * 7024,
    }
    assert generate(api, quality="auto").json()["quality"] == "high"


# --- edits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", GPT2)
def test_input_fidelity_high_is_refused(api: TestClient, model: str) -> None:
    assert_error(
        edit(api, model=model, input_fidelity="high"),
        400,
        message=f"The model '{model}' does not support the 'input_fidelity' parameter.",
        param="input_fidelity",
        code="invalid_input_fidelity_model",
        type="image_generation_user_error",
    )


@pytest.mark.parametrize("fields", [{}, {"input_fidelity": "low"}])
def test_edit_inputs_are_always_counted_at_high_fidelity(api: TestClient, fields: dict[str, str]) -> None:
    response = edit(api, (300, 300), **fields)
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    assert usage["input_tokens_details"] == {
        "text_tokens": count_tokens("add a hat"),
        "image_tokens": input_image_tokens(300, 300, "high"),  # 194 + 4096
    }
    assert usage["input_tokens_details"]["image_tokens"] == 194 + 4096
    assert usage["output_tokens"] == 196
    direct = image_usage(SPEC, prompt="x", quality="low", size="1024x1024", n=1, input_images=[(300, 300)])
    assert direct is not None and direct["input_tokens_details"]["image_tokens"] == 194 + 4096


@pytest.mark.parametrize(
    ("input_size", "expected"), [((300, 300), "1024x1024"), ((1200, 900), "1536x1024"), ((400, 700), "1024x1536")]
)
def test_edit_auto_size_is_the_closest_standard_size(
    api: TestClient, spec_validator: Any, input_size: tuple[int, int], expected: str
) -> None:
    body = edit(api, input_size).json()
    assert body["size"] == expected
    spec_validator("ImagesResponse", body)  # one of the spec's three sizes


def test_edit_takes_any_size_within_the_rule(api: TestClient) -> None:
    body = edit(api, (640, 360), size="2048x1152").json()
    assert body["size"] == "2048x1152"
    assert decoded(body["data"][0]["b64_json"]).size == (2048, 1152)
    assert_error(
        edit(api, size="2048x512"),
        400,
        message="Invalid value: '2048x512'. The ratio of the longest to the shortest edge must be at most 3:1.",
        param="size",
        code="invalid_value",
    )


def test_json_edit_takes_the_same_rules(api: TestClient) -> None:
    url = data_url(png((300, 300), "RGB"))
    body = {"model": "gpt-image-2", "prompt": "x", "images": [{"image_url": url}], "quality": "low"}
    response = api.post("/v1/images/edits", json={**body, "size": "1536x512"})
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1536x512"
    assert api.post("/v1/images/edits", json={**body, "size": "1000x1000"}).json()["error"]["code"] == "invalid_value"


def test_not_a_variation_model(api: TestClient) -> None:
    image = ("a.png", png((64, 64), "RGB"), "image/png")
    response = api.post("/v1/images/variations", files={"image": image}, data={"model": "gpt-image-2"})
    message = "Invalid value: 'gpt-image-2'. Value must be 'dall-e-2'."
    assert_error(response, 400, message=message, param="model", code="invalid_value")


# --- streaming and the SDK ------------------------------------------------------------------------------------


def test_sdk_stream_at_an_open_size(openai_client: Any, spec_validator: Any) -> None:
    stream = openai_client.images.generate(
        model="gpt-image-2", prompt=PROMPT, stream=True, partial_images=2, size="2048x1152", quality="low"
    )
    events = [event.model_dump(exclude_none=True) for event in stream]
    assert [(e["type"], e.get("partial_image_index")) for e in events] == [
        ("image_generation.partial_image", 0),
        ("image_generation.partial_image", 1),
        ("image_generation.completed", None),
    ]
    for event in events:
        assert event["size"] == "2048x1152" and event["background"] == "opaque"
        assert decoded(event["b64_json"]).size == (2048, 1152)
    usage = events[-1]["usage"]
    spec_validator("ImagesUsage", usage)
    assert usage["output_tokens"] == SPEC.output_tokens_for("low", "2048x1152") + 2 * 100


@pytest.mark.parametrize("model", GPT2)
def test_sdk_generate(openai_client: Any, spec_validator: Any, model: str) -> None:
    result = openai_client.images.generate(model=model, prompt=PROMPT, size="1024x1536", quality="high")
    assert decoded(result.data[0].b64_json).size == (1024, 1536)
    assert (result.size, result.quality, result.background, result.output_format) == (
        "1024x1536",
        "high",
        "opaque",
        "png",
    )
    assert result.usage.output_tokens == 5488
    spec_validator("ImagesResponse", result.model_dump(exclude_none=True))  # one of the spec's three sizes


def test_sdk_generate_open_size(openai_client: Any) -> None:
    # 2560x1440 is outside the spec's three-size enum: not schema-validated.
    result = openai_client.images.generate(model="gpt-image-2", prompt=PROMPT, size="2560x1440", quality="low")
    assert result.size == "2560x1440"
    assert decoded(result.data[0].b64_json).size == (2560, 1440)
