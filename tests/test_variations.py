"""Variations over raw HTTP (in-process): dall-e-2 only, one square PNG, n visibly different variants."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import assert_error
from PIL import Image, ImageDraw, ImageStat

DALLE2_FORMAT_ERROR = "Uploaded image must be a PNG and less than 4 MB."


def picture(size: tuple[int, int] = (128, 128), mode: str = "RGB") -> Image.Image:
    img = Image.new("RGB", size, (30, 110, 210))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.2, w * 0.5, h * 0.6), fill=(250, 220, 30))
    draw.rectangle((w * 0.55, h * 0.5, w * 0.9, h * 0.9), fill=(20, 160, 60))
    return img.convert(mode)


def encode(img: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def vary(api: TestClient, data: bytes, content_type: str = "image/png", **fields: Any) -> Any:
    return api.post(
        "/v1/images/variations",
        files={"image": ("logo.png", data, content_type)},
        data={k: str(v) for k, v in fields.items()},
    )



def decoded(item: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_variation_of_a_square_png_without_alpha_requirement(api: TestClient, spec_validator: Any, mode: str) -> None:
    response = vary(api, encode(picture(mode=mode)), response_format="b64_json", size="256x256")
    assert response.status_code == 200, response.text
    body = response.json()
    spec_validator("ImagesResponse", body)
    assert set(body) == {"created", "data"}
    assert decoded(body["data"][0]).size == (256, 256)


def test_defaults_one_1024_url_served_from_the_cache(api: TestClient, spec_validator: Any) -> None:
    response = vary(api, encode(picture()))
    assert response.status_code == 200, response.text
    spec_validator("ImagesResponse", response.json())
    (item,) = response.json()["data"]
    image = api.get(item["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)


@pytest.mark.parametrize("size", ["256x256", "512x512", "1024x1024"])
def test_sizes(api: TestClient, size: str) -> None:
    response = vary(api, encode(picture()), size=size, response_format="b64_json")
    assert decoded(response.json()["data"][0]).size == tuple(int(x) for x in size.split("x"))


def test_each_variation_is_visibly_different_and_deterministic(api: TestClient) -> None:
    source = encode(picture((256, 256)))
    first = vary(api, source, n=4, size="256x256", response_format="b64_json").json()["data"]
    again = vary(api, source, n=4, size="256x256", response_format="b64_json").json()["data"]
    assert first == again
    means = [tuple(round(v) for v in ImageStat.Stat(decoded(item).convert("RGB")).mean) for item in first]
    assert len(set(means)) == 4, means
    other = vary(api, encode(picture((256, 256)).rotate(90)), n=1, size="256x256", response_format="b64_json")
    assert other.json()["data"][0] != first[0]


def test_n_as_string_and_bounds(api: TestClient) -> None:
    assert len(vary(api, encode(picture()), n="10", size="256x256").json()["data"]) == 10
    assert_error(
        vary(api, encode(picture()), n="11"),
        400,
        message="Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
        param="n",
        code="integer_above_max_value",
    )


@pytest.mark.parametrize("model", ["gpt-image-1", "dall-e-3", "gpt-image-1.5", "no-such-model"])
def test_only_dalle2(api: TestClient, model: str) -> None:
    assert_error(
        vary(api, encode(picture()), model=model),
        400,
        message=f"Invalid value: '{model}'. Value must be 'dall-e-2'.",
        param="model",
        code="invalid_value",
    )


def test_dalle2_explicitly(api: TestClient) -> None:
    assert vary(api, encode(picture()), model="dall-e-2", size="256x256").status_code == 200


def test_size_not_supported(api: TestClient) -> None:
    assert_error(
        vary(api, encode(picture()), size="1536x1024"),
        400,
        message="Invalid value: '1536x1024'. Supported values are: '256x256', '512x512', and '1024x1024'.",
        param="size",
        code="invalid_value",
    )


@pytest.mark.parametrize("name", ["prompt", "quality", "style", "output_format", "stream", "mask"])
def test_fields_variations_do_not_take(api: TestClient, name: str) -> None:
    assert_error(
        vary(api, encode(picture()), **{name: "x"}),
        400,
        message=f"Unknown parameter: '{name}'.",
        param=name,
        code="unknown_parameter",
    )


def test_non_square(api: TestClient) -> None:
    assert_error(
        vary(api, encode(picture((200, 100)))),
        400,
        message="Invalid input image - expected an image with equal width and height, got 200x100 instead.",
        param="image",
        code="invalid_image_dimensions",
    )


def test_png_of_4_mb_or_more(api: TestClient) -> None:
    data = encode(Image.frombytes("RGB", (1300, 1300), os.urandom(1300 * 1300 * 3)), compress_level=0)
    assert len(data) >= 4 * 1024 * 1024
    assert_error(vary(api, data), 400, message=DALLE2_FORMAT_ERROR, param="image", code="invalid_image_format")


@pytest.mark.parametrize(
    "data", [b"not a png", encode(picture(), "JPEG"), encode(picture())[:100]], ids=["text", "jpeg", "truncated"]
)
def test_bytes_that_are_not_a_png(api: TestClient, data: bytes) -> None:
    assert_error(vary(api, data), 400, message=DALLE2_FORMAT_ERROR, param="image", code="invalid_image_format")


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/octet-stream"])
def test_declared_type_must_be_png(api: TestClient, content_type: str) -> None:
    assert_error(
        vary(api, encode(picture()), content_type),
        400,
        message=f"Invalid file 'image': unsupported mimetype ('{content_type}'). "
        "Supported file formats are 'image/png'.",
        param="image",
        code="unsupported_file_mimetype",
    )


def test_image_array_is_refused(api: TestClient) -> None:
    response = api.post("/v1/images/variations", files=[("image[]", ("a.png", encode(picture()), "image/png"))])
    assert_error(
        response,
        400,
        message="Invalid type for 'image': expected a file, but got an array instead.",
        param="image",
        code="invalid_type",
    )


def test_missing_image(api: TestClient) -> None:
    response = api.post(
        "/v1/images/variations",
        content=b'--b\r\nContent-Disposition: form-data; name="n"\r\n\r\n2\r\n--b--\r\n',
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert_error(
        response, 400, message="Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
    )


def test_json_body_is_refused(api: TestClient) -> None:
    response = api.post("/v1/images/variations", json={"image": "x"})
    assert_error(
        response,
        400,
        message="Invalid Content-Type header (application/json): this endpoint expects 'multipart/form-data'. "
        "Send the image files and parameters as multipart/form-data fields.",
        param=None,
        code="invalid_content_type",
    )


def test_body_over_the_limit(app_factory: Any) -> None:
    with TestClient(app_factory(max_body_bytes=4096), headers={"Authorization": "Bearer sk-x"}) as client:
        response = vary(client, encode(Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))))
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
