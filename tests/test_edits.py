"""Edits over raw HTTP (in-process): multipart and JSON bodies, every file rule and refusal of contract §5/§11."""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import LEGACY, assert_error
from PIL import Image, ImageDraw

from images_emulator.contract.errors import quote_list
from images_emulator.contract.file_rules import MAX_ASPECT_RATIO, MAX_INPUT_PIXELS
from images_emulator.contract.tokenizer import count_tokens
from images_emulator.contract.usage import input_image_tokens

MODELS = LEGACY.models

GPT_MODELS = [name for name, spec in MODELS.items() if spec.is_gpt]
EDIT_MODELS = [name for name, spec in MODELS.items() if spec.edits]
# Models whose edit `size` is an enum (gpt-image-2's open sizes are covered in test_gpt_image_2.py).
ENUM_SIZE_EDIT_MODELS = [name for name in EDIT_MODELS if MODELS[name].size_rule is None]
GPT_MIME_LIST = "'image/jpeg', 'image/png', and 'image/webp'"
DALLE2_FORMAT_ERROR = "Uploaded image must be a PNG and less than 4 MB."


# --- helpers ---------------------------------------------------------------------------------------------


def picture(size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0) -> Image.Image:
    """A small scene (shapes on a coloured ground) in `mode`."""
    img = Image.new("RGB", size, (40 + 50 * seed % 200, 120, 200))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.2, h * 0.2, w * 0.6, h * 0.7), fill=(250, 220, 30))
    draw.rectangle((w * 0.55, h * 0.5, w * 0.9, h * 0.9), fill=(20, 160, 60))
    if mode == "P":
        return img.convert("P", palette=Image.Palette.ADAPTIVE)
    return img.convert(mode)


def encode(img: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def png(size: tuple[int, int] = (64, 64), mode: str = "RGBA", seed: int = 0) -> bytes:
    return encode(picture(size, mode, seed))


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (no real pixel data): what a decompression bomb looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def noise_png(side: int) -> bytes:
    """An incompressible square RGBA PNG of about side*side*4 bytes."""
    return encode(Image.frombytes("RGBA", (side, side), os.urandom(side * side * 4)), compress_level=0)


def mask_with_hole(size: tuple[int, int], hole: tuple[int, int, int, int]) -> bytes:
    """Opaque RGBA mask, fully transparent (the area to edit) inside `hole`."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle(hole, fill=(0, 0, 0, 0))
    return encode(mask)


def image_part(data: bytes, content_type: str = "image/png", name: str = "a.png") -> tuple[str, bytes, str]:
    return (name, data, content_type)


def edit(api: TestClient, files: Any, **fields: Any) -> Any:
    data = {"prompt": "add a hat", **{k: str(v) for k, v in fields.items()}}
    return api.post("/v1/images/edits", files=files, data=data)


def gpt_edit(api: TestClient, files: Any, **fields: Any) -> Any:
    return edit(api, files, **{"model": "gpt-image-1", "quality": "low", **fields})



def assert_4xx_envelope(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error


def decoded(item: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def small_api(app_factory: Any) -> Iterator[TestClient]:
    """A server accepting bodies of at most 8 KiB."""
    with TestClient(app_factory(max_body_bytes=8192), headers={"Authorization": "Bearer sk-test"}) as client:
        yield client


# --- accepted requests -------------------------------------------------------------------------------------


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
    assert decoded(body["data"][0]).size == (1024, 1024)
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
    assert decoded(response.json()["data"][0]).size == tuple(int(x) for x in expected.split("x"))


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
    assert decoded(response.json()["data"][0]).format == "WEBP"


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
    assert decoded(response.json()["data"][0]).mode == "RGBA"


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
    plain_img = decoded(plain.json()["data"][0]).convert("RGB")
    masked_img = decoded(masked.json()["data"][0]).convert("RGB")
    assert plain_img.getpixel((700, 200)) == (0, 90, 200)  # the input itself, not a generated background
    assert masked_img.getpixel((700, 200)) == (0, 90, 200)  # outside the mask: unchanged
    r, g, b = masked_img.getpixel((200, 230))  # inside the hole: tinted magenta (or a white stripe)
    assert r > 100 and g < r and b > 100, (r, g, b)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L"])
def test_dalle2_accepts_square_png_with_alpha(api: TestClient, spec_validator: Any, mode: str) -> None:
    response = edit(api, {"image": image_part(png((256, 256), mode))}, model="dall-e-2", response_format="b64_json",
                    size="512x512")  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert set(body) == {"created", "data"}
    assert decoded(body["data"][0]).size == (512, 512)


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


# --- model and parameter refusals ---------------------------------------------------------------------------


def test_dalle3_cannot_edit(api: TestClient) -> None:
    assert_error(
        edit(api, {"image": image_part(png())}, model="dall-e-3"),
        400,
        message=f"Invalid value: 'dall-e-3'. Supported values are: {quote_list(EDIT_MODELS)}.",
        param="model",
        code="invalid_value",
    )


def test_unknown_model_is_not_found(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, model="gpt-image-9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_urlencoded_body_is_refused(api: TestClient) -> None:
    assert_error(
        api.post("/v1/images/edits", data={"prompt": "x"}),
        400,
        message="Invalid Content-Type header (application/x-www-form-urlencoded): this endpoint expects "
        "'multipart/form-data' or 'application/json'. "
        "Send the image files and parameters as multipart/form-data fields.",
        param=None,
        code="invalid_content_type",
    )


def test_missing_image(api: TestClient) -> None:
    response = api.post(
        "/v1/images/edits", content=b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx\r\n--b--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )  # fmt: skip
    assert_error(
        response, 400, message="Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
    )


def test_prompt_is_checked_before_images_and_images_before_n(api: TestClient) -> None:
    files = {"mask": image_part(png())}
    response = api.post("/v1/images/edits", files=files, data={"n": "99"})
    missing = "Missing required parameter: 'prompt'."
    assert_error(response, 400, message=missing, param="prompt", code="missing_required_parameter")
    response = api.post("/v1/images/edits", files=files, data={"prompt": "x", "n": "99"})
    assert response.json()["error"]["param"] == "image"


@pytest.mark.parametrize("name", ["moderation", "style", "foo"])
def test_fields_that_multipart_edits_do_not_take(api: TestClient, name: str) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, **{name: "auto"}),
        400,
        message=f"Unknown parameter: '{name}'.",
        param=name,
        code="unknown_parameter",
    )


def test_response_format_is_unknown_for_gpt_models(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, response_format="b64_json"),
        400,
        message="Unknown parameter: 'response_format'.",
        param="response_format",
        code="unknown_parameter",
    )


def test_gpt_only_fields_are_unknown_for_dalle2(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, model="dall-e-2", output_format="png")
    assert_error(
        response, 400, message="Unknown parameter: 'output_format'.", param="output_format", code="unknown_parameter"
    )


def test_n_that_is_not_a_number(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, n="two"),
        400,
        message="Invalid type for 'n': expected an integer, but got a string value that could not be converted "
        "into an integer.",
        param="n",
        code="invalid_type",
    )


def test_n_above_maximum(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, n="11"),
        400,
        message="Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
        param="n",
        code="integer_above_max_value",
    )


@pytest.mark.parametrize("model", ENUM_SIZE_EDIT_MODELS)
def test_edit_sizes_per_model(api: TestClient, model: str) -> None:
    sizes = MODELS[model].edits.sizes  # type: ignore[union-attr]
    refused = "1792x1024"
    assert_error(
        edit(api, {"image": image_part(png())}, model=model, size=refused),
        400,
        message=f"Invalid value: '{refused}'. Supported values are: {quote_list(sizes)}.",
        param="size",
        code="invalid_value",
    )


def test_gpt_quality_standard_is_refused(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, quality="standard"),
        400,
        message="Invalid value: 'standard'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        param="quality",
        code="invalid_value",
    )


def test_input_fidelity_high_on_a_model_without_it(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, model="gpt-image-1-mini", input_fidelity="high")
    assert_error(
        response,
        400,
        message="The model 'gpt-image-1-mini' does not support the 'input_fidelity' parameter.",
        param="input_fidelity",
        code="invalid_input_fidelity_model",
        type="image_generation_user_error",
    )


def test_input_fidelity_value(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png())}, input_fidelity="medium"),
        400,
        message="Invalid value: 'medium'. Supported values are: 'high' and 'low'.",
        param="input_fidelity",
        code="invalid_value",
    )


def test_dalle2_prompt_limit(api: TestClient) -> None:
    response = edit(api, {"image": image_part(png())}, model="dall-e-2", prompt="x" * 1001)
    assert response.json()["error"]["code"] == "string_above_max_length"


def test_png_with_compression_below_100(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(png())}, output_compression="50")
    assert response.json()["error"]["code"] == "invalid_png_output_compression"


# --- image part refusals ------------------------------------------------------------------------------------


def test_octet_stream_is_refused_naming_the_part(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png(), "application/octet-stream")}),
        400,
        message="Invalid file 'image': unsupported mimetype ('application/octet-stream'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image",
        code="unsupported_file_mimetype",
    )


def test_array_parts_are_named_by_index(api: TestClient) -> None:
    files = [("image[]", image_part(png())), ("image[]", image_part(png(), "application/octet-stream"))]
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid file 'image[1]': unsupported mimetype ('application/octet-stream'). "
        f"Supported file formats are {GPT_MIME_LIST}.",
        param="image[1]",
        code="unsupported_file_mimetype",
    )


def test_a_file_part_without_content_type_counts_as_octet_stream(api: TestClient) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n'
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + png() + b"\r\n--b--\r\n"
    )
    response = api.post("/v1/images/edits", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.json()["error"]["code"] == "unsupported_file_mimetype"
    assert "('application/octet-stream')" in response.json()["error"]["message"]


def test_dalle2_lists_only_png(api: TestClient) -> None:
    assert_error(
        edit(api, {"image": image_part(encode(picture(mode="RGB"), "JPEG"), "image/jpeg")}, model="dall-e-2"),
        400,
        message="Invalid file 'image': unsupported mimetype ('image/jpeg'). Supported file formats are 'image/png'.",
        param="image",
        code="unsupported_file_mimetype",
    )


def test_gif_is_refused(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(encode(picture(mode="P"), "GIF"), "image/gif")})
    assert response.json()["error"]["code"] == "unsupported_file_mimetype"


@pytest.mark.parametrize(
    "data",
    [b"this is not an image", b"", png()[:200], encode(picture(mode="P"), "GIF"), b"<svg xmlns='x'></svg>"],
    ids=["text", "empty", "truncated", "gif-bytes", "svg"],
)
def test_bytes_that_are_not_an_accepted_image(api: TestClient, data: bytes) -> None:
    assert_error(
        gpt_edit(api, [("image[]", image_part(png())), ("image[]", image_part(data))]),
        400,
        message="Invalid image file or mode for image 2, please check your image file.",
        param="image[1]",
        code="invalid_image_file",
    )


@pytest.mark.parametrize(
    "data", [b"not an image", png()[:200], encode(picture(mode="RGBA"), "WEBP")], ids=["text", "truncated", "webp"]
)
def test_dalle2_bytes_that_are_not_a_png(api: TestClient, data: bytes) -> None:
    assert_error(
        edit(api, {"image": image_part(data)}, model="dall-e-2"),
        400,
        message=DALLE2_FORMAT_ERROR,
        param="image",
        code="invalid_image_format",
    )


def test_dalle2_png_of_4_mb_or_more(api: TestClient) -> None:
    data = noise_png(1100)
    assert len(data) >= 4 * 1024 * 1024
    assert_error(
        edit(api, {"image": image_part(data)}, model="dall-e-2"),
        400,
        message=DALLE2_FORMAT_ERROR,
        param="image",
        code="invalid_image_format",
    )


def test_gpt_file_of_50_mb_or_more(api: TestClient) -> None:
    size = 50 * 1024 * 1024
    assert_error(
        gpt_edit(api, {"image": image_part(b"\0" * size)}),
        400,
        message=f"Invalid file 'image': the file is {size} bytes; each image must be smaller than 50 MB.",
        param="image",
        code="image_too_large",
    )


def test_dalle2_non_square(api: TestClient) -> None:
    assert_error(
        edit(api, {"image": image_part(png((300, 200)))}, model="dall-e-2"),
        400,
        message="Invalid input image - expected an image with equal width and height, got 300x200 instead.",
        param="image",
        code="invalid_image_dimensions",
    )


@pytest.mark.parametrize("mode", ["RGB", "P", "1"])
def test_dalle2_without_mask_needs_alpha(api: TestClient, mode: str) -> None:
    assert_error(
        edit(api, {"image": image_part(png(mode=mode))}, model="dall-e-2"),
        400,
        message=f"Invalid input image - format must be in ['RGBA', 'LA', 'L'], got {mode}.",
        param="image",
        code="invalid_image_format",
    )


@pytest.mark.parametrize("files", [[("image[]", "one")], [("image", "one"), ("image", "two")]])
def test_dalle2_takes_no_array(api: TestClient, files: list[tuple[str, str]]) -> None:
    parts = [(name, image_part(png(seed=i))) for i, (name, _) in enumerate(files)]
    assert_error(
        edit(api, parts, model="dall-e-2"),
        400,
        message="Invalid type for 'image': expected a file, but got an array instead.",
        param="image",
        code="invalid_type",
    )


def test_seventeen_images(api: TestClient) -> None:
    files = [("image[]", image_part(png((8, 8)))) for _ in range(17)]
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid 'image': array too long. Expected an array with maximum length 16, but got an array "
        "with length 17 instead.",
        param="image",
        code="array_above_max_length",
    )


def test_image_sent_as_text(api: TestClient) -> None:
    response = api.post("/v1/images/edits", data={"prompt": "x", "image": "cat.png"}, files={"mask": image_part(png())})
    assert_error(
        response,
        400,
        message="Invalid type for 'image': expected a file, but got a string instead.",
        param="image",
        code="invalid_type",
    )


def test_prompt_sent_as_file(api: TestClient) -> None:
    response = api.post("/v1/images/edits", files={"image": image_part(png()), "prompt": ("p.txt", b"x", "text/plain")})
    assert_error(
        response,
        400,
        message="Invalid type for 'prompt': expected a string, but got a file instead.",
        param="prompt",
        code="invalid_type",
    )


def test_too_many_pixels_is_refused_before_decoding(api: TestClient) -> None:
    assert_error(
        gpt_edit(api, {"image": image_part(png_header(10_000, 6_000))}),
        400,
        message=f"Invalid input image - expected an image with at most {MAX_INPUT_PIXELS} pixels, "
        "got 10000x6000 instead.",
        param="image",
        code="invalid_image_dimensions",
    )


def test_decompression_bomb_is_a_clean_400(api: TestClient) -> None:
    error = assert_4xx_envelope(gpt_edit(api, {"image": image_part(png_header(100_000, 100_000))}))
    assert error["code"] == "invalid_image_dimensions" and error["param"] == "image"


def test_extreme_aspect_ratio(api: TestClient) -> None:
    wide = MAX_ASPECT_RATIO * 50 + 1
    assert_error(
        gpt_edit(api, {"image": image_part(png((wide, 50)))}),
        400,
        message=f"Invalid input image - expected an aspect ratio of at most {MAX_ASPECT_RATIO}:1, "
        f"got {wide}x50 instead.",
        param="image",
        code="invalid_image_dimensions",
    )
    assert gpt_edit(api, {"image": image_part(png((MAX_ASPECT_RATIO * 50, 50)))}).status_code == 200


def test_large_inputs_are_counted_at_their_own_size(api: TestClient) -> None:
    response = gpt_edit(api, {"image": image_part(encode(picture((4000, 3000), "RGB"), "JPEG"), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1536x1024"
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] == input_image_tokens(4000, 3000)


# --- mask refusals -----------------------------------------------------------------------------------------


def test_mask_must_match_the_first_image(api: TestClient) -> None:
    files = [
        ("image[]", image_part(png((100, 80)))),
        ("image[]", image_part(png((64, 64)))),
        ("mask", image_part(mask_with_hole((64, 64), (0, 0, 10, 10)))),
    ]
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid mask image - expected an image with the same width and height as the input image "
        "(100x80), got 64x64 instead.",
        param="mask",
        code="invalid_image_dimensions",
    )


def test_mask_needs_alpha(api: TestClient) -> None:
    files = {"image": image_part(png()), "mask": image_part(png(mode="RGB"))}
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid mask image - format must be in ['RGBA', 'LA', 'L'], got RGB.",
        param="mask",
        code="invalid_image_format",
    )


def test_mask_must_be_png(api: TestClient) -> None:
    files = {"image": image_part(png()), "mask": image_part(encode(picture(), "WEBP"), "image/webp", "m.webp")}
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid file 'mask': unsupported mimetype ('image/webp'). Supported file formats are 'image/png'.",
        param="mask",
        code="unsupported_file_mimetype",
    )


def test_mask_that_is_not_an_image(api: TestClient) -> None:
    files = {"image": image_part(png()), "mask": image_part(b"nope")}
    assert_error(
        gpt_edit(api, files),
        400,
        message="Invalid image file or mode for the mask, please check your image file.",
        param="mask",
        code="invalid_image_file",
    )


def test_two_masks(api: TestClient) -> None:
    files = [("image", image_part(png())), ("mask", image_part(png())), ("mask", image_part(png()))]
    response = gpt_edit(api, files)
    assert response.json()["error"]["message"] == "Invalid type for 'mask': expected a file, but got an array instead."


# --- body handling -----------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(small_api: TestClient) -> None:
    response = edit(small_api, {"image": image_part(noise_png(64))})
    error = assert_4xx_envelope(response)
    assert response.status_code == 413 and error["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413(small_api: TestClient) -> None:
    payload = (
        b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + noise_png(64)
        + b"\r\n--b--\r\n"
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    response = small_api.post(
        "/v1/images/edits", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    assert_4xx_envelope(response)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--b\r\n"),  # no boundary
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
        ("text/plain", b"hello"),
    ],
)
def test_malformed_bodies_get_the_envelope(api: TestClient, content_type: str, body: bytes) -> None:
    assert_4xx_envelope(api.post("/v1/images/edits", content=body, headers={"content-type": content_type}))


def test_uploads_leave_no_open_files(api: TestClient) -> None:
    big = noise_png(700)  # > 1 MB: spooled to a temporary file on disk
    gpt_edit(api, {"image": image_part(big)})  # warm up
    before = open_fds()
    for files in (
        {"image": image_part(big)},
        {"image": image_part(big), "mask": image_part(b"bad")},
        [("image[]", image_part(big))] * 17,
        {"image": image_part(big, "application/octet-stream")},
    ):
        gpt_edit(api, files)
    assert open_fds() == before


# --- JSON edits ----------------------------------------------------------------------------------------------


def data_url(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def json_edit(api: TestClient, **body: Any) -> Any:
    return api.post("/v1/images/edits", json={"prompt": "add a hat", "quality": "low", **body})


def test_json_edit_with_data_urls(api: TestClient, spec_validator: Any) -> None:
    jpeg = data_url(encode(picture(mode="RGB"), "JPEG"), "image/jpeg")
    response = json_edit(
        api,
        images=[{"image_url": data_url(png((600, 400)))}, {"image_url": jpeg}],
        mask={"image_url": data_url(mask_with_hole((600, 400), (0, 0, 100, 100)))},
        moderation="low",
        model="gpt-image-1",
        input_fidelity=None,
        n=None,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert body["size"] == "1536x1024"
    expected = input_image_tokens(600, 400) + input_image_tokens(64, 64)
    assert body["usage"]["input_tokens_details"]["image_tokens"] == expected


def test_json_and_multipart_edits_of_the_same_file_render_the_same(api: TestClient) -> None:
    data = png(seed=3)
    via_json = json_edit(api, images=[{"image_url": data_url(data)}], model="gpt-image-1")
    via_form = gpt_edit(api, {"image": image_part(data)})
    assert via_json.json()["data"] == via_form.json()["data"]


@pytest.mark.parametrize(
    ("ref", "param", "fragment"),
    [
        ({"image_url": "https://example.com/a.png"}, "images[0].image_url", "does not fetch remote image URLs"),
        ({"file_id": "file-abc123"}, "images[0].file_id", "does not fetch file_id references"),
    ],
)
def test_json_references_that_are_not_fetched(api: TestClient, ref: dict[str, str], param: str, fragment: str) -> None:
    response = json_edit(api, images=[ref])
    error = assert_4xx_envelope(response)
    assert (error["param"], error["code"]) == (param, "unsupported_image_reference")
    assert fragment in error["message"] and "data URL" in error["message"]


NOT_DECODED = "Invalid image file or mode for image 1, please check your image file."
JSON_REFUSALS: list[tuple[dict[str, Any], str, str, str]] = [
    ({}, "Missing required parameter: 'images'.", "images", "missing_required_parameter"),
    ({"images": None}, "Missing required parameter: 'images'.", "images", "missing_required_parameter"),
    (
        {"images": "x"},
        "Invalid type for 'images': expected an array, but got a string instead.",
        "images",
        "invalid_type",
    ),
    (
        {"images": []},
        "Invalid 'images': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        "images",
        "empty_array",
    ),
    (
        {"images": ["x"]},
        "Invalid type for 'images[0]': expected an object, but got a string instead.",
        "images[0]",
        "invalid_type",
    ),
    ({"images": [{"url": "x"}]}, "Unknown parameter: 'images[0].url'.", "images[0].url", "unknown_parameter"),
    (
        {"images": [{}]},
        "Missing required parameter: 'images[0].image_url'.",
        "images[0].image_url",
        "missing_required_parameter",
    ),
    (
        {"images": [{"image_url": "a", "file_id": "b"}]},
        "Invalid 'images[0]': expected exactly one of 'image_url' or 'file_id', but got both.",
        "images[0]",
        "invalid_value",
    ),
    (
        {"images": [{"image_url": 5}]},
        "Invalid type for 'images[0].image_url': expected a string, but got an integer instead.",
        "images[0].image_url",
        "invalid_type",
    ),
    (
        {"images": [{"image_url": "data:image/png;base64,!!!"}]},
        "Invalid 'images[0].image_url': the data URL's base64 payload could not be decoded.",
        "images[0].image_url",
        "invalid_image_url",
    ),
    (
        {"images": [{"image_url": "data:image/png;base64"}]},
        "Invalid 'images[0].image_url': a data URL needs a ',' between its header and its data.",
        "images[0].image_url",
        "invalid_image_url",
    ),
    (
        {"images": [{"image_url": "ftp://example.com/a.png"}]},
        "Invalid 'images[0].image_url': expected a base64 data URL such as 'data:image/png;base64,iVBORw0...'.",
        "images[0].image_url",
        "invalid_image_url",
    ),
    (
        {"images": [{"image_url": "data:image/gif;base64,R0lG"}]},
        f"Invalid file 'images[0]': unsupported mimetype ('image/gif'). Supported file formats are {GPT_MIME_LIST}.",
        "images[0]",
        "unsupported_file_mimetype",
    ),
    ({"images": [{"image_url": data_url(b"junk")}]}, NOT_DECODED, "images[0]", "invalid_image_file"),
    (
        {"images": [{"image_url": data_url(png())}], "mask": "m"},
        "Invalid type for 'mask': expected an object, but got a string instead.",
        "mask",
        "invalid_type",
    ),
    (
        {"images": [{"image_url": data_url(png())}], "response_format": "url"},
        "Unknown parameter: 'response_format'.",
        "response_format",
        "unknown_parameter",
    ),
    (
        {"images": [{"image_url": data_url(png())}], "image": "x"},
        "Unknown parameter: 'image'.",
        "image",
        "unknown_parameter",
    ),
]


@pytest.mark.parametrize(("body", "message", "param", "code"), JSON_REFUSALS)
def test_json_edit_refusals(api: TestClient, body: dict[str, Any], message: str, param: str, code: str) -> None:
    assert_error(json_edit(api, **body), 400, message=message, param=param, code=code)


def test_json_edit_seventeen_images(api: TestClient) -> None:
    response = json_edit(api, images=[{"image_url": data_url(png((8, 8)))}] * 17)
    assert response.json()["error"]["code"] == "array_above_max_length"
    assert response.json()["error"]["param"] == "images"


def test_json_edit_is_for_gpt_models_only(api: TestClient) -> None:
    gpt_edit_models = [name for name in EDIT_MODELS if MODELS[name].is_gpt]
    assert_error(
        json_edit(api, images=[{"image_url": data_url(png())}], model="dall-e-2"),
        400,
        message=f"Invalid value: 'dall-e-2'. Supported values are: {quote_list(gpt_edit_models)}.",
        param="model",
        code="invalid_value",
    )


def test_json_edit_data_url_too_big_for_the_model(api: TestClient) -> None:
    body = {"images": [{"image_url": "data:image/png;base64," + "A" * (70 * 1024 * 1024)}], "prompt": "x"}
    response = api.post("/v1/images/edits", json=body)
    assert response.status_code == 413  # the JSON body itself is over max_body_bytes
    assert_4xx_envelope(response)


def test_json_edit_invalid_json(api: TestClient) -> None:
    response = api.post("/v1/images/edits", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("We could not parse")
