"""Edits over raw HTTP (in-process) that are accepted (contract §5): multipart image parts of every
accepted kind, sizes, usage, determinism, what the output shows, and dall-e-2's accepted cases."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY, decoded, edit, encode, gpt_edit, image_part, mask_with_hole, picture, png
from PIL import Image

from images_emulator.contract.file_rules import MAX_ASPECT_RATIO
from images_emulator.contract.tokenizer import count_tokens
from images_emulator.contract.usage import input_image_tokens

MODELS = LEGACY.models
GPT_MODELS = [name for name, spec in MODELS.items() if spec.is_gpt]


# --- gpt models --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", GPT_MODELS)
def test_gpt_edit_single_image_part(api: TestClient, spec_validator: Any, model: str) -> None:
    response = edit(api, {"image": image_part(png((300, 300)))}, model=model, quality="low")
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert (body["size"], body["quality"], body["output_format"], body["background"]) == (
        "1024x1024",
        "low",
        "png",
        "opaque",
    )
    assert decoded(body["data"][0]["b64_json"]).size == (1024, 1024)
    usage = body["usage"]
    rules = MODELS[model].edits
    assert rules is not None
    assert usage["input_tokens_details"] == {
        "text_tokens": count_tokens("add a hat"),
        "image_tokens": input_image_tokens(300, 300, rules.fixed_input_fidelity or "low"),
    }
    assert usage["output_tokens"] == MODELS[model].output_tokens_for("low", "1024x1024")
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_default_model_is_gpt_image_1_5(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, quality="low")
    assert response.status_code == 200, response.text
    assert "usage" in response.json() and "b64_json" in response.json()["data"][0]


def test_image_array_parts_png_jpeg_webp(api: TestClient, spec_validator: Any) -> None:
    files = [
        ("image[]", image_part(png((1200, 900), "RGB"))),
        ("image[]", image_part(encode(picture((500, 500), "RGB", 1), "JPEG"), "image/jpeg", "b.jpg")),
        ("image[]", image_part(encode(picture((400, 700), "RGBA", 2), "WEBP"), "image/webp", "c.webp")),
    ]
    response = gpt_edit(api, files, n=2)
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert len(body["data"]) == 2
    assert body["size"] == "1536x1024"  # auto: the first input is landscape
    expected = sum(input_image_tokens(w, h) for w, h in ((1200, 900), (500, 500), (400, 700)))
    assert body["usage"]["input_tokens_details"]["image_tokens"] == expected
    assert body["usage"]["output_tokens"] == 2 * 400


def test_a_single_image_array_part_is_accepted(api: TestClient) -> None:
    assert gpt_edit(api, [("image[]", image_part(png()))]).status_code == 200


def test_image_and_image_array_parts_together(api: TestClient) -> None:
    files = [("image", image_part(png())), ("image[]", image_part(png(seed=1)))]
    response = gpt_edit(api, files)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] == 2 * input_image_tokens(64, 64)


@pytest.mark.parametrize(
    ("size", "expected"), [((1000, 1000), "1024x1024"), ((900, 1200), "1024x1536"), ((1600, 1000), "1536x1024")]
)
def test_size_auto_follows_the_first_input_shape(api: TestClient, size: tuple[int, int], expected: str) -> None:
    response = gpt_edit(api, {"image": image_part(png(size, "RGB"))}, size="auto")
    assert response.json()["size"] == expected
    assert decoded(response.json()["data"][0]["b64_json"]).size == tuple(int(x) for x in expected.split("x"))


def test_sixteen_images_are_accepted(api: TestClient) -> None:
    files = [("image[]", image_part(png((32, 32), seed=i))) for i in range(16)]
    response = gpt_edit(api, files)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] == 16 * input_image_tokens(32, 32)


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "LA", "L", "P", "1", "CMYK", "I;16"])
def test_gpt_models_accept_any_image_mode(api: TestClient, mode: str) -> None:
    if mode == "CMYK":
        data, content_type = encode(picture(mode="CMYK"), "JPEG"), "image/jpeg"
    elif mode == "I;16":
        data, content_type = encode(Image.new("I;16", (64, 48), 40000)), "image/png"
    else:
        data, content_type = png(mode=mode), "image/png"
    response = gpt_edit(api, {"image": image_part(data, content_type)})
    assert response.status_code == 200, response.text


def test_gpt_models_accept_a_file_whose_declared_type_is_another_accepted_format(api: TestClient) -> None:
    jpeg_bytes = encode(picture(mode="RGB"), "JPEG")
    assert gpt_edit(api, {"image": image_part(jpeg_bytes, "image/png")}).status_code == 200


def test_content_type_parameters_are_ignored(api: TestClient) -> None:
    assert gpt_edit(api, {"image": image_part(png(), "Image/PNG; charset=binary")}).status_code == 200


def test_multipart_numbers_and_booleans_arrive_as_strings(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(png())}, n="3", stream="false", output_compression="80",
                        output_format="webp")  # fmt: skip
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 3
    assert decoded(response.json()["data"][0]["b64_json"]).format == "WEBP"


def test_input_fidelity_high_adds_tokens(api: TestClient) -> None:
    low = gpt_edit(api, {"image": image_part(png((600, 400)))}).json()["usage"]
    high = gpt_edit(api, {"image": image_part(png((600, 400)))}, input_fidelity="high").json()["usage"]
    assert high["input_tokens_details"]["image_tokens"] == input_image_tokens(600, 400, "high")
    assert high["input_tokens"] - low["input_tokens"] == 6144


def test_input_fidelity_low_is_accepted_by_a_model_without_it(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, model="gpt-image-1-mini", quality="low", input_fidelity="low")
    assert response.status_code == 200, response.text


def test_transparent_background_edit(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(png())}, background="transparent")
    assert response.json()["background"] == "transparent"
    assert decoded(response.json()["data"][0]["b64_json"]).mode == "RGBA"


def test_an_aspect_ratio_of_exactly_the_maximum_is_accepted(api: TestClient) -> None:
    """The accepted side of the aspect-ratio refusal in test_edit_files.py."""
    assert gpt_edit(api, {"image": image_part(png((MAX_ASPECT_RATIO * 50, 50)))}).status_code == 200


def test_large_inputs_are_counted_at_their_own_size(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(encode(picture((4000, 3000), "RGB"), "JPEG"), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1536x1024"
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] == input_image_tokens(4000, 3000)


def test_edits_are_deterministic_and_depend_on_the_input(api: TestClient) -> None:
    first = gpt_edit(api, {"image": image_part(png(seed=1))}).json()["data"][0]["b64_json"]
    again = gpt_edit(api, {"image": image_part(png(seed=1))}).json()["data"][0]["b64_json"]
    other = gpt_edit(api, {"image": image_part(png(seed=2))}).json()["data"][0]["b64_json"]
    assert first == again
    assert first != other


def test_output_shows_the_input_and_marks_the_masked_area(api: TestClient) -> None:
    source = Image.new("RGB", (1024, 1024), (0, 90, 200))  # flat blue
    plain = gpt_edit(api, {"image": image_part(encode(source))})
    hole = (0, 0, 511, 511)
    masked = gpt_edit(
        api, {"image": image_part(encode(source)), "mask": image_part(mask_with_hole((1024, 1024), hole))}
    )
    plain_img = decoded(plain.json()["data"][0]["b64_json"]).convert("RGB")
    masked_img = decoded(masked.json()["data"][0]["b64_json"]).convert("RGB")
    assert plain_img.getpixel((700, 200)) == (0, 90, 200)  # the input itself, not a generated background
    assert masked_img.getpixel((700, 200)) == (0, 90, 200)  # outside the mask: unchanged
    r, g, b = masked_img.getpixel((200, 230))  # inside the hole: tinted magenta (or a white stripe)
    assert r > 100 and g < r and b > 100, (r, g, b)


# --- dall-e-2 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L"])
def test_dalle2_accepts_square_png_with_alpha(api: TestClient, spec_validator: Any, mode: str) -> None:
    response = edit(api, {"image": image_part(png((256, 256), mode))}, model="dall-e-2", response_format="b64_json",
                    size="512x512")  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert set(body) == {"created", "data"}
    assert decoded(body["data"][0]["b64_json"]).size == (512, 512)


def test_dalle2_edit_defaults_to_a_url_served_from_the_cache(api: TestClient, spec_validator: Any) -> None:
    response = edit(api, {"image": image_part(png((128, 128)))}, model="dall-e-2", n=2)
    assert response.status_code == 200, response.text
    spec_validator("ImagesResponse", response.json())
    for item in response.json()["data"]:
        image = api.get(item["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)


def test_dalle2_rgb_image_is_accepted_with_a_mask(api: TestClient) -> None:
    files = {
        "image": image_part(png((256, 256), "RGB")),
        "mask": image_part(mask_with_hole((256, 256), (10, 10, 100, 100))),
    }
    response = edit(api, files, model="dall-e-2", response_format="b64_json", size="256x256")
    assert response.status_code == 200, response.text


